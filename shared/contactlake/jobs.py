"""Which centre-days to (re)analyse, for the nightly schedule and for upload events; and running them.

Each run leaves a record in the lake's manifests area (:func:`record_analysis_run`,
``manifests/analysis/<day>/<run id>.json``): its windows, the tables it wrote and, on AWS, every Athena
query's bytes scanned and their cost — the figures infra/README.md's cost per nightly run comes from.

Each analysed window is announced as an ``AnalysisFinished`` event (centre, days, and the uploads the
triggering upload replaced). On AWS, EventBridge routes the announcements of a correction (``replaced``
true) to the report function, which restates the reports that covered those days
(:func:`contactlake.report.restate.restate_after_analysis`); locally :mod:`contactlake.bus` routes them
the same way. The analyse function does not carry the reporting layer, hence the event.
"""

from __future__ import annotations

import json
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
    "analysis_run_key",
    "analysis_windows",
    "record_analysis_run",
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
    now = _event_time(when)
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


def _event_time(when: str | None) -> datetime:
    """An event's ``time`` (ISO 8601, ``Z`` for UTC, as EventBridge sends it), or now without one."""
    return datetime.fromisoformat(when.replace("Z", "+00:00")) if when else datetime.now(UTC)


def analysis_run_key(at: datetime, run_id: str) -> str:
    """Where a run's record goes: by the UTC day it ran, named after its run (the event id on AWS)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    return f"manifests/analysis/{at.astimezone(UTC).date().isoformat()}/{safe}.json"


def record_analysis_run(
    ports: Ports,
    run_id: str,
    when: str | None,
    trigger: str,
    windows: list[AnalysisWindow],
    results: list[MaterialiseResult],
    athena: Mapping[str, Any] | None = None,
) -> str:
    """Write the run's record to the lake and return its key (``when``: the event's time, as for
    :func:`analysis_windows`).

    ``athena`` is the engine's usage (``AthenaEngine.usage()``: queries, bytes scanned in total and per
    query, cost at $5 per TB with Athena's 10 MB minimum per query), absent when DuckDB ran the SQL. A
    retried event writes the record again, with the figures of the attempt that finished.
    """
    at = _event_time(when)
    record = {
        "run_id": run_id,
        "at": at.astimezone(UTC).isoformat(),
        "trigger": trigger,
        "windows": [w.as_dict() for w in windows],
        "tables": [
            {"centre_id": r.centre_id, "table": r.table, "days": r.days, "rows": r.rows} for r in results
        ],
        "athena": dict(athena) if athena is not None else None,
    }
    key = analysis_run_key(at, run_id)
    ports.store.put("lake", key, json.dumps(record, indent=2).encode(), "application/json")
    return key
