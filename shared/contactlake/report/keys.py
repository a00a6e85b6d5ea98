"""Where a stored report lives in the reports area: ``<scope>/<audience>/<period>/<file>``.

This module is the only place that writes or reads that key. The report builder names what it stores with
:func:`report_key`; the API lists stored reports with :func:`parse_report_key` and checks a download path
against :data:`REPORT_FILE` before asking the store for it.

* ``scope`` is one centre id, ``all`` (every configured centre) or centres joined by ``+`` (``north+south``);
* ``file`` is the period's first day, then one ``_<queue>`` per queue of a queue-scoped report, then the
  format: ``2026-11-01.pdf``, ``2026-11-02_sales_billing.csv``, ``2026-11-01.held.json`` (a held report).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

__all__ = [
    "ALL_CENTRES",
    "RECORD_SUFFIX",
    "REPORT_FILE",
    "ReportKey",
    "parse_report_key",
    "report_key",
    "scope_centre_ids",
    "scope_key",
]

ALL_CENTRES = "all"
_JOIN = "+"
#: A stored report's file name (the last key segment), and all a download path may name.
REPORT_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:_[a-z0-9-]{1,40})*\.(?:html|pdf|csv|xlsx|held\.json)$")
_SLUG = re.compile(r"[^a-z0-9_-]+")


def scope_key(centre_ids: Sequence[str], all_centres: bool) -> str:
    """The first key segment of a report over ``centre_ids`` (``all_centres``: they are every centre)."""
    if len(centre_ids) == 1:
        return centre_ids[0]
    return ALL_CENTRES if all_centres else _JOIN.join(centre_ids)


def scope_centre_ids(scope: str, configured: Sequence[str]) -> list[str]:
    """The centre ids a scope segment names (``all`` -> every configured centre, sorted); not checked."""
    return sorted(configured) if scope == ALL_CENTRES else scope.split(_JOIN)


@dataclass(frozen=True)
class ReportKey:
    """One stored report's key, split into its four segments."""

    scope: str
    audience: str
    period: str
    file: str

    def __str__(self) -> str:
        return f"{self.scope}/{self.audience}/{self.period}/{self.file}"

    @property
    def date(self) -> str:
        """The period's first day, as the ISO text at the start of the file name."""
        return self.file[:10]

    @property
    def format(self) -> str:
        """Everything after the first dot of the file name: ``pdf``, ``csv``, ``held.json``."""
        return self.file.split(".", 1)[1] if "." in self.file else ""


def report_key(
    scope: str, audience: str, period: str, start: date, ext: str, queues: Sequence[str] = ()
) -> str:
    """``<scope>/<audience>/<period>/<start>[_<queue>...].<ext>``; queue names become lower-case slugs."""
    suffix = "".join(f"_{_SLUG.sub('-', q.lower()).strip('-')}" for q in queues)
    return str(ReportKey(scope, audience, period, f"{start.isoformat()}{suffix}.{ext}"))


#: Records kept beside the reports that are not reports (who got which version, from which uploads).
RECORD_SUFFIX = ".issued.json"


def parse_report_key(key: str) -> ReportKey | None:
    """The four segments of a stored report's key; None for anything else (other shapes, issue records)."""
    parts = key.split("/")
    if len(parts) != 4 or key.endswith(RECORD_SUFFIX):
        return None
    return ReportKey(*parts)
