"""The local event publisher: events appended as JSON lines (the stand-in for EventBridge)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["LocalEventLog"]


class LocalEventLog:
    """Appends events as JSON lines to ``<home>/events.jsonl`` (the local stand-in for EventBridge)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def publish(self, detail_type: str, detail: Mapping[str, object]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"detail-type": detail_type, "time": datetime.now(UTC).isoformat(), "detail": detail}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
