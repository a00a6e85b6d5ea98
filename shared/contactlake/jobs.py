"""Which centre-days to (re)analyse, for the nightly schedule and for upload events; and running them.

Each analysed window is announced as an ``AnalysisFinished`` event (centre, days, and the uploads the
triggering upload replaced). On AWS, EventBridge routes the announcements of a correction (``replaced``
true) to the report function, which restates the reports that covered those days
(:func:`contactlake.report.restate.restate_after_analysis`); locally :mod:`contactlake.bus` routes them
the same way. The analyse function does not carry the reporting layer, hence the event.
"""

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

__all__ = [
    "ANALYSIS_FINISHED",
    "RECOMPUTE_DAYS",
    "AnalysisWindow",
    "analysis_finished",
    "analysis_windows",
    "run_windows",
]

#: The event each analysed window is announced with.
ANALYSIS_FINISHED = "AnalysisFinished"

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
    #: The uploads the triggering upload replaced (a corrected re-export, or a replay with a fixed mapping).
    replaced: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str]:
        return {"centre_id": self.centre_id, "date_from": str(self.date_from), "date_to": str(self.date_to)}

    @property
    def days(self) -> list[date]:
        return [self.date_from + timedelta(days=n) for n in range((self.date_to - self.date_from).days + 1)]


def analysis_finished(window: AnalysisWindow) -> dict[str, Any]:
    """The ``AnalysisFinished`` detail of a window: what the report function needs to restate."""
    return {
        "centre_id": window.centre_id,
        "days": [day.isoformat() for day in window.days],
        "replaced": bool(window.replaced),
        "replaced_uploads": list(window.replaced),
    }


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
        replaced = tuple(str(u) for u in [detail.get("replaced_upload_id")] if u)
        return [AnalysisWindow(c, min(d), max(d), replaced) for c, d in sorted(days.items())]
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
    """Run the whole analysis (aggregates, staffing, forecast, test contacts) for each window, and
    announce each window analysed (``AnalysisFinished``)."""
    results: list[MaterialiseResult] = []
    for window in windows:
        centre = config.centre(window.centre_id)
        results += run_analysis(
            ports, config, [centre.centre_id], window.date_from, window.date_to, on_step=on_step
        )
        ports.events.publish(ANALYSIS_FINISHED, analysis_finished(window))
    return results
