"""Which centre-days to (re)analyse, for the nightly schedule and for upload events; and running them."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contactlake.analyse import MaterialiseResult, run_analysis
from contactlake.config import AppConfig
from contactlake.ports import Ports

__all__ = ["RECOMPUTE_DAYS", "AnalysisWindow", "analysis_windows", "run_windows"]

#: Nightly, the last week is recomputed: late and corrected uploads change recent days.
RECOMPUTE_DAYS = 7
#: Partitions (as manifests list them) whose days feed the aggregates: contacts and agent states.
_PARTITION = re.compile(
    r"^(?:contacts|agent_activity)/centre_id=([a-z][a-z0-9_-]{1,31})/(\d{4}-\d{2}-\d{2})$"
)


@dataclass(frozen=True)
class AnalysisWindow:
    centre_id: str
    date_from: date
    date_to: date

    def as_dict(self) -> dict[str, str]:
        return {"centre_id": self.centre_id, "date_from": str(self.date_from), "date_to": str(self.date_to)}


def analysis_windows(
    config: AppConfig, detail_type: str, detail: Mapping[str, Any], when: str | None = None
) -> list[AnalysisWindow]:
    """Windows for an event: an ``UploadValidated`` event's partitions, else the nightly recompute."""
    if detail_type == "UploadValidated":
        days: dict[str, list[date]] = defaultdict(list)
        for partition in detail.get("partitions", []):
            match = _PARTITION.match(str(partition))
            if match and match.group(1) in config.centres:
                days[match.group(1)].append(date.fromisoformat(match.group(2)))
        return [AnalysisWindow(c, min(d), max(d)) for c, d in sorted(days.items())]
    now = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else datetime.now(UTC)
    windows = []
    for centre in config.centres.values():
        yesterday = now.astimezone(centre.zone).date() - timedelta(days=1)
        windows.append(
            AnalysisWindow(centre.centre_id, yesterday - timedelta(days=RECOMPUTE_DAYS - 1), yesterday)
        )
    return windows


def run_windows(
    ports: Ports,
    config: AppConfig,
    windows: list[AnalysisWindow],
    on_step: Callable[[str], None] | None = None,
) -> list[MaterialiseResult]:
    """Run the whole analysis (aggregates, staffing, forecast, test contacts) for each window."""
    results: list[MaterialiseResult] = []
    for window in windows:
        centre = config.centre(window.centre_id)
        results += run_analysis(
            ports, config, [centre.centre_id], window.date_from, window.date_to, on_step=on_step
        )
    return results
