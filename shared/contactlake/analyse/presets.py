"""Service-level presets side by side: one queue-day under every definition a centre may be compared on.

Two systems (or a vendor and its client) often report different service levels for the same calls
because they treat abandons differently. The counts stored per interval (answered within the threshold,
abandoned within it, offered, answered) give every variant declared in :mod:`contactlake.metrics` at the
centre's threshold, so a manager sees why the numbers disagree. No formula is written here: each comes
from ``metrics.parts``.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from contactlake import metrics
from contactlake.analyse.common import check_range, rollup
from contactlake.config import CentreConfig
from contactlake.ports import Ports

__all__ = ["PRESETS_SCHEMA", "PRESET_LABELS", "service_level_presets"]

#: How each declared variant is named to a manager (the variants are contactlake.metrics.SL_VARIANTS).
PRESET_LABELS = {
    "answered_only": "abandons ignored (answered calls only)",
    "abandons_ignored": "short abandons excluded (abandons within the threshold left out)",
    "abandons_negative": "abandons as failures",
    "short_abandons_positive": "abandons within the threshold as met",
}
PRESETS_SCHEMA = pa.schema(
    [
        ("queue", pa.string()),
        ("variant", pa.string()),
        ("label", pa.string()),
        ("threshold_seconds", pa.int64()),
        ("numerator", pa.float64()),
        ("denominator", pa.float64()),
        ("service_level", pa.float64()),
        ("is_centre_variant", pa.bool_()),
    ],
    metadata={"method": "each variant's numerator / denominator from contactlake.metrics, same counts"},
)


def service_level_presets(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, queue: str | None = None
) -> pa.Table:
    """Per queue (and ``"all"`` for the centre): the service level under every declared variant."""
    check_range(date_from, date_to)
    rows = rollup(ports, centre, date_from, date_to, "all", "queue", queue).to_pylist()
    rows += [
        {**r, "queue": "all"}
        for r in rollup(ports, centre, date_from, date_to, "all", "none", queue).to_pylist()
    ]
    out = []
    for row in rows:
        if not row.get("offered"):
            continue
        for variant in metrics.SL_VARIANTS:
            numerator, denominator = metrics.parts(row, "service_level", variant)
            out.append(
                {
                    "queue": row["queue"],
                    "variant": variant,
                    "label": PRESET_LABELS.get(variant, variant),
                    "threshold_seconds": centre.service_level.threshold_seconds,
                    "numerator": float(numerator),
                    "denominator": float(denominator),
                    "service_level": numerator / denominator if denominator else None,
                    "is_centre_variant": variant == centre.service_level.variant,
                }
            )
    return pa.Table.from_pylist(out, schema=PRESETS_SCHEMA)
