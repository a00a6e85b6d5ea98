"""Service-level presets side by side: one queue-day under every definition a centre may be compared on.

Two systems (or a vendor and its client) often report different service levels for the same calls
because they treat abandons differently, or quote another threshold (20 s against 30 s). The counts
(answered within the threshold, abandoned within it, offered, answered) are taken from the day's
contacts at each threshold the centre may be compared on (:func:`comparison_thresholds`; the stored
aggregates hold them at the centre's own threshold only), and give every variant declared in
:mod:`contactlake.metrics` at each, so a manager sees why the numbers disagree. No formula is written
here: each comes from ``metrics.parts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pyarrow as pa

from contactlake import metrics
from contactlake.analyse.common import check_range, range_params, run_sql
from contactlake.config import AppConfig, CentreConfig
from contactlake.ports import Ports

__all__ = [
    "INDUSTRY_THRESHOLD_SECONDS",
    "PRESETS_SCHEMA",
    "PRESET_LABELS",
    "comparison_thresholds",
    "service_level_presets",
]

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


#: The threshold most service levels are quoted at (80/20): every centre may be compared on it.
INDUSTRY_THRESHOLD_SECONDS = 20


def comparison_thresholds(config: AppConfig, centre: CentreConfig) -> tuple[int, ...]:
    """The thresholds a centre may be compared on: its own, the industry's 20 s, and every other
    configured centre's (a group comparing its centres, or a client its vendors, quotes theirs)."""
    configured = {c.service_level.threshold_seconds for c in config.centres.values()}
    return tuple(sorted({centre.service_level.threshold_seconds, INDUSTRY_THRESHOLD_SECONDS, *configured}))


def service_level_presets(
    ports: Ports,
    centre: CentreConfig,
    date_from: date,
    date_to: date,
    queue: str | None = None,
    thresholds: Sequence[int] = (),
) -> pa.Table:
    """Per queue (and ``"all"`` for the centre) and threshold: the service level under every declared
    variant, counted from the contacts (api/sl_presets.sql). ``thresholds`` defaults to the centre's own."""
    check_range(date_from, date_to)
    own = centre.service_level.threshold_seconds
    wanted = sorted({own, *(int(t) for t in thresholds)})
    if any(t < 0 for t in wanted):
        raise ValueError(f"service-level thresholds are seconds >= 0, got {wanted}")
    params = {
        **range_params(centre, date_from, date_to),
        "lookahead_to": date_to.isoformat(),
        "grain_minutes": 1440,
        "sl_threshold_seconds": own,
        "short_abandon_seconds": centre.short_abandon_seconds,
        "fcr_window_hours": centre.fcr_window_hours,
        "queue": queue or "",
        "thresholds": ",".join(str(t) for t in wanted),
    }
    out = []
    for row in run_sql(ports, "sl_presets", params).to_pylist():
        if not row.get("offered"):
            continue
        for variant in metrics.SL_VARIANTS:
            numerator, denominator = metrics.parts(row, "service_level", variant)
            out.append(
                {
                    "queue": row["queue"],
                    "variant": variant,
                    "label": PRESET_LABELS.get(variant, variant),
                    "threshold_seconds": int(row["threshold_seconds"]),
                    "numerator": float(numerator),
                    "denominator": float(denominator),
                    "service_level": numerator / denominator if denominator else None,
                    "is_centre_variant": variant == centre.service_level.variant
                    and row["threshold_seconds"] == own,
                }
            )
    return pa.Table.from_pylist(out, schema=PRESETS_SCHEMA)
