"""What each event starts: the routes template.yaml gives EventBridge, run locally on the event log.

On AWS an ``UploadValidated`` event invokes the analyse function, and an ``AnalysisFinished`` event of a
correction (``replaced`` true) invokes the report function, which restates the reports that covered the
days. :data:`ROUTES` declares the same routes (the same event patterns; a test holds them equal to
template.yaml's), and :func:`deliver_locally` runs them on the local event log, so a corrected
re-export in the demo takes the path it takes on AWS: ingest → analyse → restate, each started by the
event of the one before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from contactlake.adapters.local.events import LocalEventLog
from contactlake.config import AppConfig, Settings
from contactlake.ports import Ports

__all__ = ["ROUTES", "Delivered", "Route", "deliver_locally", "matches"]

Handler = Callable[[Ports, AppConfig, Settings, dict[str, Any]], Any]


def _analyse(ports: Ports, config: AppConfig, settings: Settings, event: dict[str, Any]) -> Any:
    from contactlake.jobs import analysis_windows, run_windows

    windows = analysis_windows(config, event["detail-type"], event["detail"], event.get("time"))
    return run_windows(ports, config, windows)


def _restate(ports: Ports, config: AppConfig, settings: Settings, event: dict[str, Any]) -> Any:
    from contactlake.report.restate import restate_after_analysis

    return restate_after_analysis(ports, config, settings, event["detail"])


@dataclass(frozen=True)
class Route:
    """An EventBridge rule: the event pattern, the function it invokes on AWS (template.yaml's logical
    id) and what runs locally in its place."""

    function: str
    pattern: Mapping[str, Any]
    run: Handler


ROUTES: tuple[Route, ...] = (
    Route("AnalyseFunction", {"source": ["contactlake"], "detail-type": ["UploadValidated"]}, _analyse),
    Route(
        "ReportFunction",
        {"source": ["contactlake"], "detail-type": ["AnalysisFinished"], "detail": {"replaced": [True]}},
        _restate,
    ),
)


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge's matching for the patterns used here: each field's value is one of the listed
    values; a nested object matches the nested fields."""
    for field, wanted in pattern.items():
        value = event.get(field) if isinstance(event, Mapping) else None
        if isinstance(wanted, Mapping):
            if not isinstance(value, Mapping) or not matches(wanted, value):
                return False
        elif value not in wanted:
            return False
    return True


@dataclass
class Delivered:
    """One event delivered to one function, and what that function returned."""

    function: str
    event: dict[str, Any]
    result: Any = None


@contextmanager
def deliver_locally(ports: Ports, config: AppConfig, settings: Settings) -> Iterator[list[Delivered]]:
    """While open, each event published on the local event log runs what its route names; the list
    yielded collects each delivery and what it returned, in the order the runs started."""
    if not isinstance(ports.events, LocalEventLog):
        raise TypeError("deliver_locally routes the local event log; on AWS EventBridge routes the events")
    delivered: list[Delivered] = []

    def subscriber(event: dict[str, Any]) -> None:
        for route in ROUTES:
            if matches(route.pattern, event):
                entry = Delivered(route.function, event)
                delivered.append(entry)  # in the order the functions start: a cause before its effects
                entry.result = route.run(ports, config, settings, event)

    ports.events.subscribers.append(subscriber)
    try:
        yield delivered
    finally:
        ports.events.subscribers.remove(subscriber)
