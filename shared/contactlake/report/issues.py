"""The record of each report issued: which report version used which upload versions, and its figures.

Every stored report writes ``<report key base>.<stakeholder>.issued.json`` to the reports area beside it:
the version (1, then one more per restatement), when it was generated, the uploads its figures rest on
(centre, business day, source, upload id) and its primary table as data. :mod:`contactlake.report.restate`
reads these after a corrected re-export or a replay, to find the reports whose figures moved under their
recipients and to tell them the figures before and after.

Each version is also written to the lake table ``report_issues`` (:data:`contactlake.schema.REPORT_ISSUES`,
one row per version and upload), so which report version used which upload versions is queryable with
the rest of the lake (``contactlake sql``, Athena) and outlives the reports' retention.

The record is also the **delivery record**: ``sent`` lists, for the current version, each recipient the
report was e-mailed to (when, the mail reference, and the data gaps it was sent with), written right after
the mailer accepted the message; ``notices`` lists each restatement notice sent (the uploads it announced).
The builder checks them before sending, so a re-run of a schedule (a Lambda retry after a crash, an
operator re-running the night) never e-mails a version twice. A new version starts with nobody sent to;
so does the same version whose gaps changed (a report sent with figures missing, re-run once the cause
is fixed, is sent again).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from contactlake.lake import parquet_bytes, partition_prefix
from contactlake.ports import Ports
from contactlake.report.keys import RECORD_SUFFIX, report_key
from contactlake.report.model import Cell, Measured, Report, Table
from contactlake.schema import SCHEMA_VERSION
from contactlake.tables import LAKE_TABLES

__all__ = [
    "ISSUED_SUFFIX",
    "Change",
    "already_sent",
    "changes",
    "gap_signature",
    "issued_key",
    "load_issue",
    "notice_sent",
    "primary_table",
    "record_delivery",
    "record_issue",
    "record_notice",
    "table_data",
]

ISSUED_SUFFIX = RECORD_SUFFIX


def issued_key(report: Report, stakeholder: str) -> str:
    window, scope = report.window, report.scope
    ext = f"{stakeholder}{ISSUED_SUFFIX}"
    return report_key(scope.key, report.audience, window.period, window.start, ext.lstrip("."), scope.queues)


def _json_cell(cell: Cell) -> Any:
    if isinstance(cell, Measured):
        return {"value": cell.value, "fmt": cell.fmt}
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return cell


def table_data(table: Table | None) -> dict[str, Any]:
    """A table as JSON: column keys, labels and formats, and the rows' raw values."""
    if table is None:
        return {"columns": [], "rows": []}
    return {
        "columns": [[c.key, c.label, c.fmt] for c in table.columns],
        "rows": [[_json_cell(v) for v in row] for row in table.rows],
    }


def primary_table(report: Report) -> Table | None:
    """The table the CSV export holds (it is what a restatement compares)."""
    tables = {t.name: t for t in report.data_tables}
    return tables.get(report.primary_table or "")


def load_issue(ports: Ports, key: str) -> dict[str, Any] | None:
    if not ports.store.exists("reports", key):
        return None
    record: dict[str, Any] = json.loads(ports.store.get("reports", key))
    return record


def record_issue(
    ports: Ports,
    report: Report,
    stakeholder: str,
    formats: Sequence[str],
    recipients: Sequence[str],
    in_lake: bool = True,
    keep_sent: bool = False,
) -> dict[str, Any]:
    """Write (or bump the version of) the issue record of ``report`` for ``stakeholder``; with ``in_lake``
    also its rows in the lake's report_issues.

    A version is a basis: the uploads the figures rest on. Issuing the report again on the same uploads
    (a re-run of the schedule) keeps the version and its lake rows; other uploads make a new version.
    A new version starts with nobody sent to, unless ``keep_sent`` (new uploads, figures unchanged: the
    recipients already have these figures).
    """
    key = issued_key(report, stakeholder)
    before = load_issue(ports, key)
    same = before is not None and sorted(tuple(u) for u in before.get("uploads", [])) == sorted(
        report.uploads_used
    )
    version = (before or {}).get("version", 0) + (0 if same else 1)
    record = {
        "version": version,
        "stakeholder": stakeholder,
        "audience": report.audience,
        "centres": list(report.scope.centre_ids),
        "queues": list(report.scope.queues),
        "period": report.window.period,
        "period_start": report.window.start.isoformat(),
        "period_end": report.window.end.isoformat(),
        "generated_at": report.generated_at.isoformat(),
        "formats": list(formats),
        "recipients": list(recipients),
        "uploads": [list(u) for u in report.uploads_used],
        "primary": table_data(primary_table(report)),
        "previous": [
            *(before or {}).get("previous", []),
            *([_summary(before)] if before and not same else []),
        ],
        "sent": (before or {}).get("sent", []) if same or keep_sent else [],
        "notices": (before or {}).get("notices", []),
    }
    ports.store.put("reports", key, json.dumps(record, indent=2).encode(), "application/json")
    if in_lake:
        _write_lake_rows(ports, report, stakeholder, version, keep_existing=same)
    return record


def gap_signature(report: Report) -> list[str]:
    """The report's gaps as its delivery record keeps them: kind, centre and what (not the detail text,
    which may carry an error message that differs from run to run)."""
    return sorted({f"{g.kind}:{g.centre_id}:{g.what}" for g in report.gaps})


def already_sent(record: dict[str, Any], report: Report) -> dict[str, dict[str, Any]]:
    """The recipients the current version of ``record`` was e-mailed to with the same gaps as ``report``
    has now, each with its delivery entry (``at``, ``reference``)."""
    gaps = gap_signature(report)
    return {
        entry["recipient"].lower(): entry for entry in record.get("sent", []) if entry.get("gaps") == gaps
    }


def record_delivery(
    ports: Ports, report: Report, stakeholder: str, recipients: Sequence[str], reference: str, at: datetime
) -> None:
    """Add ``recipients`` (one message, ``reference``) to the delivery record of the current version."""
    key = issued_key(report, stakeholder)
    record = load_issue(ports, key) or {}
    gaps = gap_signature(report)
    taken = {r.lower() for r in recipients}
    record["sent"] = [
        *(e for e in record.get("sent", []) if e["recipient"].lower() not in taken),
        *(
            {"recipient": r, "at": at.isoformat(timespec="seconds"), "reference": reference, "gaps": gaps}
            for r in recipients
        ),
    ]
    ports.store.put("reports", key, json.dumps(record, indent=2).encode(), "application/json")


def _basis(uploads: Sequence[Sequence[str]]) -> list[list[str]]:
    return sorted(list(u) for u in uploads)


def notice_sent(record: dict[str, Any], report: Report) -> dict[str, Any] | None:
    """The restatement notice already sent for the uploads ``report`` rests on, if any."""
    basis = _basis(report.uploads_used)
    return next((n for n in record.get("notices", []) if n.get("uploads") == basis), None)


def record_notice(
    ports: Ports,
    key: str,
    report: Report,
    recipients: Sequence[str],
    reference: str,
    at: datetime,
    banner: str,
    changed: int,
) -> None:
    """Note in the issue record at ``key`` that the notice announcing ``report``'s uploads was sent, with
    the restated banner and the number of figures changed (to finish the re-issue after a crash)."""
    record = load_issue(ports, key) or {}
    record["notices"] = [
        *record.get("notices", []),
        {
            "uploads": _basis(report.uploads_used),
            "recipients": list(recipients),
            "at": at.isoformat(timespec="seconds"),
            "reference": reference,
            "banner": banner,
            "changes": changed,
        },
    ]
    ports.store.put("reports", key, json.dumps(record, indent=2).encode(), "application/json")


def _write_lake_rows(
    ports: Ports, report: Report, stakeholder: str, version: int, keep_existing: bool
) -> None:
    """The version's rows in ``report_issues``: one per upload used, partitioned by the upload's centre
    and the report's first day (a report that used no upload: one row per centre, without an upload).
    Each version is a file of its own; earlier versions' files stay. With ``keep_existing`` (the same
    version issued again) a version's file already written is left as it is, so a re-run changes nothing.
    """
    spec = LAKE_TABLES["report_issues"]
    window, scope = report.window, report.scope
    base = report_key(scope.key, report.audience, window.period, window.start, "x", scope.queues)[:-2]
    by_centre: dict[str, list[tuple[str | None, str | None, date | None]]] = {
        centre_id: [] for centre_id in scope.centre_ids
    }
    for centre_id, day, source, upload_id in report.uploads_used:
        by_centre.setdefault(centre_id, []).append((upload_id, source, date.fromisoformat(day)))
    partitions = []
    for centre_id, uploads in by_centre.items():
        rows = [
            {
                "report_key": base,
                "stakeholder": stakeholder,
                "audience": report.audience,
                "period": window.period,
                "period_end": window.end,
                "version": version,
                "generated_utc": report.generated_at,
                "upload_id": upload_id,
                "source": source,
                "business_date": day,
                "schema_version": SCHEMA_VERSION,
            }
            for upload_id, source, day in (uploads or [(None, None, None)])
        ]
        values: dict[str, str | date] = {"centre_id": centre_id, "period_start": window.start}
        name = f"{base.replace('/', '~')}~{stakeholder}~v{version}.parquet"
        key = f"{partition_prefix(spec, values)}/{name}"
        if keep_existing and ports.store.exists("lake", key):
            continue
        ports.store.put("lake", key, parquet_bytes(pa.Table.from_pylist(rows, schema=spec.schema)))
        partitions.append({"centre_id": centre_id, "period_start": window.start.isoformat()})
    ports.catalog.add_partitions("report_issues", partitions)


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("version", "generated_at", "uploads")}


def _row_name(row: list[Any]) -> str:
    """A row's name: its leading text cells (queue; centre / KPI), not a verdict that may change."""
    name = []
    for value in row:
        if not isinstance(value, str):
            break
        name.append(value)
    return " / ".join(name)


@dataclass(frozen=True)
class Change:
    """One figure that moved: the row (its text cells), the column, and the values before and after."""

    row: str
    column: str
    fmt: str
    before: float | None
    after: float | None


def _number(cell: Any) -> tuple[float | None, str | None]:
    if isinstance(cell, dict):
        return cell.get("value"), cell.get("fmt")
    if isinstance(cell, bool) or not isinstance(cell, int | float):
        return None, None
    return float(cell), None


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The numbers that differ between two tables as :func:`table_data` stores them, rows matched by name."""

    def indexed(data: dict[str, Any]) -> dict[str, list[Any]]:
        return {_row_name(row) or str(n): row for n, row in enumerate(data.get("rows", []))}

    columns = after.get("columns") or before.get("columns") or []
    old, new = indexed(before), indexed(after)
    found = []
    for label in dict.fromkeys([*old, *new]):
        for index, (_key, title, fmt) in enumerate(columns):
            was, kind = _number(old[label][index]) if label in old else (None, None)
            now, kind_now = _number(new[label][index]) if label in new else (None, None)
            if was is None and now is None:
                continue
            if was is None or now is None or abs(was - now) > 1e-9 * max(1.0, abs(was)):
                found.append(Change(label, title, kind or kind_now or fmt, was, now))
    return found
