"""The local event bus: events appended as JSON lines (the stand-in for EventBridge), and delivered to the
subscribers of :mod:`contactlake.bus` while it routes them (as EventBridge's rules route them on AWS)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["LocalEventLog", "Subscriber"]

#: Called with each event as EventBridge delivers it: ``{"source", "detail-type", "time", "detail"}``.
Subscriber = Callable[[dict[str, Any]], None]


class LocalEventLog:
    """Appends events as JSON lines to ``<home>/events.jsonl`` and hands each to the subscribers.

    Delivery is synchronous and in order: an event published by a subscriber is delivered before the
    one that caused it returns, as a chain of functions would run on AWS one after the other.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.subscribers: list[Subscriber] = []

    def publish(self, detail_type: str, detail: Mapping[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"detail-type": detail_type, "time": datetime.now(UTC).isoformat(), "detail": detail}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
        event = {"source": "contactlake", **json.loads(json.dumps(record, default=str))}
        for subscriber in list(self.subscribers):
            subscriber(event)
