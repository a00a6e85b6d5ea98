"""Where a report's figures come from, and what it could not get.

Every figure is computed by a :mod:`contactlake.analyse` function (SQL written once; the report never
re-implements a KPI formula), which the audience builders hand to :meth:`Figures.get`. Instead of
letting one failed query abort the whole report, it records a :class:`~contactlake.report.model.Gap`; the
builder then puts a banner on the report or holds it (see :mod:`contactlake.report.build`).

Completeness: every configured source of a centre is expected once per business day, from the first
day the centre's stored uploads cover (a centre that joined on the 5th is not "missing" the 1st to the
4th; a rejected stray file never moves that day). A day counts as received when a stored upload's rows
fall on it, whatever the object is called (a monthly file, Firehose's dated keys).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from contactlake.analyse.quality import day_closed, upload_days
from contactlake.config import CentreConfig
from contactlake.ports import Ports
from contactlake.report.model import Gap
from contactlake.report.periods import Window
from contactlake.sqlfiles import load_sql

__all__ = ["Figures", "UploadStatus", "uploads"]

logger = logging.getLogger("contactlake.report")


_UPLOAD_DAY = pa.schema(
    [
        ("upload_id", pa.string()),
        ("source", pa.string()),
        ("business_day", pa.string()),
        ("source_system", pa.string()),
        ("source_key", pa.string()),
        ("status", pa.string()),
        ("rows_read", pa.int64()),
        ("rows_stored", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("rows_excluded", pa.int64()),
        ("rows_flagged", pa.int64()),
        ("rows_on_day", pa.int64()),
        ("quarantined_by_rule", pa.string()),
        ("flagged_by_rule", pa.string()),
        ("started_utc", pa.timestamp("ms")),
        ("finished_utc", pa.timestamp("ms")),
    ]
)


def uploads(ports: Ports, centre_id: str, date_from: str, date_to: str) -> pa.Table:
    """One row per recorded upload and business day it covers in ``date_from``..``date_to`` (ISO strings).

    ``business_day`` is a day the upload's rows fall in (``rows_on_day`` of them), from its coverage.
    """
    table = ports.engine.query(load_sql("report_uploads"), {"centre_id": centre_id})
    rows = upload_days(table.to_pylist(), date.fromisoformat(date_from), date.fromisoformat(date_to))
    for row in rows:
        row["business_day"] = row["day"].isoformat()
        row["rows_flagged"] = row.get("rows_flagged") or 0
    rows.sort(
        key=lambda r: (r["business_day"], r["source"], r["finished_utc"] or datetime.min, r["upload_id"])
    )
    return pa.Table.from_pylist(rows, schema=_UPLOAD_DAY)


@dataclass(frozen=True)
class UploadStatus:
    """Per centre: which (day, source) exports were expected in the window and which are stored."""

    centre_id: str
    first_day: date | None
    expected: tuple[tuple[date, str], ...]
    stored: tuple[tuple[date, str], ...]
    rejected: tuple[tuple[date, str], ...]
    table: pa.Table

    @property
    def missing(self) -> list[tuple[date, str]]:
        have = set(self.stored)
        return [pair for pair in self.expected if pair not in have]


class Figures:
    """Fetches one report's figures; failures become gaps instead of exceptions."""

    def __init__(self, ports: Ports) -> None:
        self.ports = ports
        self.gaps: list[Gap] = []

    def get(
        self, centre: CentreConfig, what: str, analysis: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """``analysis(ports, centre, *args, **kwargs)``, or None with a gap recorded as ``what``."""
        try:
            return analysis(self.ports, centre, *args, **kwargs)
        except Exception as error:
            logger.warning("report figure %r for %s failed: %s", what, centre.centre_id, error, exc_info=True)
            self.gaps.append(Gap("query", centre.centre_id, what, _short(error)))
            return None

    def upload_status(
        self, centre: CentreConfig, window: Window, now: datetime | None = None
    ) -> UploadStatus | None:
        """Expected vs stored exports for the window; a failed lookup is itself a gap, and so is a
        received day that is not closed yet at ``now`` (UTC; the day_closed rule of the data-quality view).
        """
        try:
            table = uploads(self.ports, centre.centre_id, "0001-01-01", window.end.isoformat())
        except Exception as error:
            logger.warning("upload log for %s failed: %s", centre.centre_id, error, exc_info=True)
            self.gaps.append(Gap("query", centre.centre_id, "upload log", _short(error)))
            return None
        rows = table.to_pylist()
        days = [date.fromisoformat(r["business_day"]) for r in rows if r["status"] == "stored"]
        first = min(days) if days else None
        sources = tuple(s.name for s in centre.sources)
        expected = tuple((d, s) for d in window.days if first is not None and d >= first for s in sources)
        stored = {
            (date.fromisoformat(r["business_day"]), r["source"]) for r in rows if r["status"] == "stored"
        }
        rejected = {
            (date.fromisoformat(r["business_day"]), r["source"]) for r in rows if r["status"] == "rejected"
        }
        in_window = [r for r in rows if window.start.isoformat() <= r["business_day"]]
        status = UploadStatus(
            centre.centre_id,
            first,
            expected,
            tuple(sorted(p for p in stored if p in set(expected))),
            tuple(sorted(p for p in rejected - stored if p in set(expected))),
            pa.Table.from_pylist(in_window, schema=table.schema),
        )
        if first is None:
            self.gaps.append(Gap("upload", centre.centre_id, "no uploads", "nothing has been uploaded yet"))
        for day, source in status.missing:
            why = (
                "rejected (see the data-quality report)"
                if (day, source) in status.rejected
                else "not received"
            )
            self.gaps.append(Gap("upload", centre.centre_id, f"{source} export for {day}", why))
        local_now = (now or datetime.now(UTC)).astimezone(centre.zone).replace(tzinfo=None)
        latest: dict[str, date] = {}
        for day, source in stored:
            latest[source] = max(day, latest.get(source, day))
        for day, source in status.stored:
            if not day_closed(centre, source, day, latest.get(source), local_now):
                due = centre.deadline(source, day)
                why = f"received, not closed yet (more may arrive until {due:%Y-%m-%d %H:%M})"
                self.gaps.append(Gap("open", centre.centre_id, f"{source} export for {day}", why))
        return status


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:300]
