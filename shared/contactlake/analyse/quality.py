"""Measurement testing: reconciliation, synthetic test contacts and the data-quality view.

* **Reconciliation** proves nothing was lost or double counted between the upload and the KPIs: each
  manifest balances (read + carried in = stored + quarantined + excluded + carried) and matches the
  rows in the lake; each day's detail recount equals every aggregate (intervals, agents, days); parts
  add up to totals.
* **Synthetic test contacts** are measured by the *production* KPI counts and rates
  (ops/test_contact_kpis.sql, one row per contact, on the same classification as kpi_interval) and every
  measure is compared exactly with the expectation in test_cases.toml; the business KPI models leave
  them out.
* **Data quality** per upload and business day from the ingest log: rows read / stored / quarantined /
  excluded / flagged, quarantine and flags by rule, late uploads and missing days. The days an upload
  delivered are its rows' days (its ``coverage``), whatever the object is called.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from contactlake.analyse.aggregates import MaterialiseResult, detail_kpis, write_days
from contactlake.analyse.common import check_range, days_between, range_params, run_sql
from contactlake.config import CentreConfig, ConfigError
from contactlake.ports import ObjectNotFound, Ports
from contactlake.tables import DAY_CLOSED, MEASURE_FIELDS, TEST_CONTACT_RESULTS

__all__ = [
    "DATA_QUALITY_SCHEMA",
    "RECONCILIATION_SCHEMA",
    "TEST_RESULTS_SCHEMA",
    "TestCase",
    "check_test_contacts",
    "closed_days",
    "data_quality",
    "day_closed",
    "load_test_cases",
    "materialise_day_closed",
    "materialise_test_results",
    "reconciliation",
]

#: What a test case may check: any measure the KPI models return, and the interval's minute of day.
CHECKABLE = frozenset(f.name for f in MEASURE_FIELDS) | {"interval_minute"}
#: The business day is the dataset key's third segment (``centre/source/<day>[/<key>@<content>]``).
_DAY = re.compile(r"^[^/]+/[^/]+/(\d{4}-\d{2}-\d{2})(?:/|$)")

TEST_RESULTS_SCHEMA = TEST_CONTACT_RESULTS.schema.append(pa.field("contact_date", pa.date32()))
RECONCILIATION_SCHEMA = pa.schema(
    [
        ("scope", pa.string()),
        ("subject", pa.string()),
        ("check", pa.string()),
        ("expected", pa.float64()),
        ("actual", pa.float64()),
        ("passed", pa.bool_()),
    ]
)
DATA_QUALITY_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("source", pa.string()),
        ("upload_id", pa.string()),
        ("status", pa.string()),
        ("rows_read", pa.int64()),
        ("rows_stored", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("rows_excluded", pa.int64()),
        ("quarantined_by_rule", pa.string()),
        ("excluded_by_rule", pa.string()),
        ("rows_flagged", pa.int64()),
        ("flagged_by_rule", pa.string()),
        ("rows_on_day", pa.int64()),
        ("finished_local", pa.timestamp("ms")),
        ("arrived_local", pa.timestamp("ms")),
        ("deadline_local", pa.timestamp("ms")),
        ("late", pa.bool_()),
        ("missing", pa.bool_()),
        ("day_closed", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class TestCase:
    """A synthetic test contact's expected measurements."""

    __test__ = False  # not a pytest test class

    test_case_id: str
    description: str
    expected: Mapping[str, float]


def load_test_cases(path: str | Path | None = None) -> dict[str, TestCase]:
    """The test-case expectations (the packaged sample_data/test_cases.toml unless a path is given)."""
    if path is None:
        text = (resources.files("contactlake") / "sample_data" / "test_cases.toml").read_text(
            encoding="utf-8"
        )
        where = "sample_data/test_cases.toml"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    cases = {}
    for case_id, body in tomllib.loads(text).items():
        expected = dict(body.get("expected", {}))
        unknown = sorted(set(expected) - CHECKABLE)
        if unknown:
            raise ConfigError(
                f"{where} [{case_id}.expected] has unknown measures {unknown}; use {sorted(CHECKABLE)}"
            )
        cases[case_id] = TestCase(
            case_id, str(body.get("description", "")), {k: float(v) for k, v in expected.items()}
        )
    return cases


def _same(expected: float, actual: float | None) -> bool:
    return actual is not None and math.isclose(expected, actual, rel_tol=0, abs_tol=1e-9)


def check_test_contacts(
    ports: Ports,
    centre: CentreConfig,
    date_from: date,
    date_to: date,
    cases: Mapping[str, TestCase] | None = None,
) -> pa.Table:
    """One row per test contact and check: what it should measure, what the KPI SQL measured, pass/fail."""
    cases = load_test_cases() if cases is None else cases
    measured = detail_kpis(ports, centre, "test_contact_kpis", date_from, date_to)
    rows = []
    for row in measured.to_pylist():
        case = cases.get(row["test_case_id"])
        base = {
            "test_case_id": row["test_case_id"],
            "contact_id": row["contact_id"],
            "contact_date": row["contact_date"],
        }
        if case is None:
            rows.append(
                {**base, "check": "test case configured", "expected": 1.0, "actual": 0.0, "passed": False}
            )
            continue
        start: datetime = row["interval_start"]
        values = {**row, "interval_minute": start.hour * 60 + start.minute}
        for check, expected in sorted(case.expected.items()):
            actual = values[check]
            actual = None if actual is None else float(actual)
            rows.append(
                {
                    **base,
                    "check": check,
                    "expected": expected,
                    "actual": actual,
                    "passed": _same(expected, actual),
                }
            )
    return pa.Table.from_pylist(rows, schema=TEST_RESULTS_SCHEMA)


def materialise_test_results(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date
) -> MaterialiseResult:
    table = check_test_contacts(ports, centre, date_from, date_to)
    return write_days(ports, TEST_CONTACT_RESULTS, centre.centre_id, table, days_between(date_from, date_to))


def _dataset_day(dataset_key: str | None) -> date | None:
    match = _DAY.search(dataset_key or "")
    return date.fromisoformat(match.group(1)) if match else None


def covered_days(row: Mapping[str, Any]) -> dict[date, int]:
    """The business days an ingest-log row's upload delivered rows for, with the rows stored on each.

    Taken from the rows themselves (``coverage``), whatever the object is called. An upload that stored
    nothing (rejected, or every row quarantined) has no coverage: it is placed on the day its name
    gives, if any, so the data-quality report still lists it — with no rows, it covers nothing.
    """
    coverage = json.loads(row.get("coverage") or "{}")
    if coverage:
        return {date.fromisoformat(day): int(rows) for day, rows in coverage.items()}
    named = _dataset_day(row.get("dataset_key"))
    return {named: 0} if named is not None else {}


def upload_days(rows: list[dict[str, Any]], date_from: date, date_to: date) -> list[dict[str, Any]]:
    """One row per upload and business day it covers in the range, with ``day`` and ``rows_on_day``."""
    found = []
    for row in rows:
        for day, stored in sorted(covered_days(row).items()):
            if date_from <= day <= date_to:
                found.append({**row, "day": day, "rows_on_day": stored})
    return found


def _logged(ports: Ports, centre: CentreConfig, date_from: date) -> list[dict[str, Any]]:
    """Ingest-log rows of uploads that arrived on or after ``date_from`` (none covers an earlier day)."""
    rows = run_sql(
        ports, "ingest_log_since", {"centre_id": centre.centre_id, "date_from": date_from.isoformat()}
    )
    found: list[dict[str, Any]] = rows.to_pylist()
    return found


def _uploads(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> list[dict[str, Any]]:
    """Ingest-log rows of uploads covering a business day in the range, one per upload and day."""
    return upload_days(_logged(ports, centre, date_from), date_from, date_to)


def _source_of(row: Mapping[str, Any]) -> str:
    key = str(row.get("source_key") or "")
    return key.split("/")[1] if key.count("/") >= 2 else ""


def _latest_days(rows: list[dict[str, Any]]) -> dict[str, date]:
    """Per source, the latest business day a stored upload covers."""
    latest: dict[str, date] = {}
    for row in rows:
        if row["status"] != "stored":
            continue
        for day in covered_days(row):
            source = _source_of(row)
            latest[source] = max(day, latest.get(source, day))
    return latest


def _check(scope: str, subject: str, check: str, expected: float, actual: float) -> dict[str, Any]:
    return {
        "scope": scope,
        "subject": subject,
        "check": check,
        "expected": float(expected),
        "actual": float(actual),
        "passed": _same(float(expected), float(actual)),
    }


def _manifest_partition_days(ports: Ports, upload_id: str) -> list[date]:
    try:
        manifest = json.loads(ports.store.get("lake", f"manifests/{upload_id}.json"))
    except ObjectNotFound:
        return []
    days = []
    for partition in manifest.get("partitions", []):
        name = str(partition).split("/", 1)[0]
        if name in ("contacts", "agent_activity"):
            day = _dataset_day(str(partition))
            if day:
                days.append(day)
    return days


def reconciliation(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    """Manifest vs lake per upload, detail vs aggregates per day, parts vs totals."""
    check_range(date_from, date_to)
    checks = []
    by_id = {
        u["upload_id"]: u for u in _uploads(ports, centre, date_from, date_to) if u["status"] == "stored"
    }
    stored = list(by_id.values())
    for upload in stored:
        checks.append(
            _check(
                "upload",
                upload["upload_id"],
                "rows read + carried in = stored + quarantined + excluded + carried",
                upload["rows_read"] + (upload.get("rows_carried_in") or 0),
                upload["rows_stored"]
                + upload["rows_quarantined"]
                + upload["rows_excluded"]
                + (upload.get("rows_carried") or 0),
            )
        )
    spans = [d for u in stored for d in _manifest_partition_days(ports, u["upload_id"])]
    if stored and spans:
        lake_rows: dict[str, int] = {}
        params = {
            "centre_id": centre.centre_id,
            "date_from": min(spans).isoformat(),
            "date_to": max(spans).isoformat(),
        }
        for row in run_sql(ports, "reconcile_uploads", params).to_pylist():
            lake_rows[row["upload_id"]] = lake_rows.get(row["upload_id"], 0) + int(row["lake_rows"])
        for upload in stored:
            checks.append(
                _check(
                    "upload",
                    upload["upload_id"],
                    "rows in the lake = rows stored (manifest)",
                    upload["rows_stored"],
                    lake_rows.get(upload["upload_id"], 0),
                )
            )
    for row in run_sql(ports, "reconcile_days", range_params(centre, date_from, date_to)).to_pylist():
        day = str(row["contact_date"])
        for measure in ("contacts", "offered", "answered", "abandoned"):
            checks.append(
                _check(
                    "day",
                    day,
                    f"{measure}: detail = 15-minute aggregate",
                    row[f"detail_{measure}"],
                    row[f"interval_{measure}"],
                )
            )
        for measure in ("offered", "answered"):
            checks.append(
                _check(
                    "day",
                    day,
                    f"{measure}: daily aggregate = sum of intervals",
                    row[f"interval_{measure}"],
                    row[f"daily_{measure}"],
                )
            )
            checks.append(
                _check(
                    "day",
                    day,
                    f"{measure}: sum over agents = sum over queues",
                    row[f"interval_{measure}"],
                    row[f"agent_{measure}"],
                )
            )
        checks.append(
            _check(
                "day",
                day,
                "offered = answered + abandoned + callback requested + transferred",
                row["interval_offered"],
                row["interval_answered"]
                + row["interval_abandoned"]
                + row["interval_callback_requested"]
                + row["interval_queue_transferred"],
            )
        )
    return pa.Table.from_pylist(checks, schema=RECONCILIATION_SCHEMA)


def _local(utc: datetime | None, centre: CentreConfig) -> datetime | None:
    if utc is None:
        return None
    return utc.replace(tzinfo=UTC).astimezone(centre.zone).replace(tzinfo=None)


def day_closed(centre: CentreConfig, source: str, day: date, latest: date | None, now: datetime) -> bool:
    """A received day is closed — its figures final — once its deadline has passed or the source has
    already delivered a later day (the export moved on). Peers publish no such marker; reports use it
    to tell "complete" from "still arriving"."""
    return centre.deadline(source, day) <= now or (latest is not None and latest > day)


def data_quality(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, now: datetime | None = None
) -> pa.Table:
    """Per business day and source: each upload's fate, quarantine and flags by rule, lateness (its first
    arrival against that day's deadline), missing days and whether the day is closed (``day_closed``);
    ``now`` is the centre's local time."""
    check_range(date_from, date_to)
    now = now or datetime.now(centre.zone).replace(tzinfo=None)
    logged = _logged(ports, centre, date_from)
    latest = _latest_days(logged)
    rows = []
    present: set[tuple[date, str]] = set()
    for upload in upload_days(logged, date_from, date_to):
        source = _source_of(upload)
        finished = _local(upload["finished_utc"], centre)
        # Late is judged on when the upload arrived, not when it was processed (a backlog or a replay
        # processes an on-time upload hours later); logs written before arrivals were recorded: processed.
        arrived = _local(upload.get("arrived_utc"), centre) or finished
        deadline = centre.deadline(source, upload["day"])
        if upload["status"] == "stored":
            present.add((upload["day"], source))
        rows.append(
            {
                "day": upload["day"],
                "source": source,
                "upload_id": upload["upload_id"],
                "status": upload["status"],
                "rows_read": upload["rows_read"],
                "rows_stored": upload["rows_stored"],
                "rows_quarantined": upload["rows_quarantined"],
                "rows_excluded": upload["rows_excluded"],
                "quarantined_by_rule": upload["quarantined_by_rule"],
                "excluded_by_rule": upload["excluded_by_rule"],
                "rows_flagged": upload["rows_flagged"] or 0,
                "flagged_by_rule": upload["flagged_by_rule"],
                "rows_on_day": upload["rows_on_day"],
                "finished_local": finished,
                "arrived_local": arrived,
                "deadline_local": deadline,
                "late": arrived > deadline if arrived else None,
                "missing": False,
                "day_closed": upload["status"] == "stored"
                and day_closed(centre, source, upload["day"], latest.get(source), now),
            }
        )
    for day in days_between(date_from, date_to):
        for configured in centre.sources:
            if (day, configured.name) not in present:
                rows.append(
                    {
                        "day": day,
                        "source": configured.name,
                        "status": "missing",
                        "rows_read": 0,
                        "rows_stored": 0,
                        "rows_quarantined": 0,
                        "rows_excluded": 0,
                        "rows_flagged": 0,
                        "missing": True,
                        "day_closed": False,
                        "deadline_local": centre.deadline(configured.name, day),
                    }
                )
    rows.sort(key=lambda r: (r["day"], r["source"], r.get("finished_local") or datetime.min))
    return pa.Table.from_pylist(rows, schema=DATA_QUALITY_SCHEMA)


def closed_days(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, now: datetime | None = None
) -> pa.Table:
    """The ``day_closed`` table's rows: per configured source and business day, from :func:`data_quality`
    (the same rows the API serves), so the lake's marker and the API always agree. Nothing in a row
    depends on when it is written but whether the day is closed yet, so re-analysing a closed day
    rewrites the same bytes."""
    now = now or datetime.now(centre.zone).replace(tzinfo=None)
    per_day: dict[tuple[date, str], dict[str, Any]] = {}
    for row in data_quality(ports, centre, date_from, date_to, now=now).to_pylist():
        key = (row["day"], row["source"])
        found = per_day.setdefault(
            key,
            {
                "contact_date": row["day"], "source": row["source"], "received": False, "uploads": 0,
                "rows_on_day": 0, "deadline_local": row["deadline_local"], "arrived_local": None,
                "late": False, "day_closed": False,
            },
        )  # fmt: skip
        if row["status"] != "stored":
            continue
        found["received"] = True
        found["uploads"] += 1
        found["rows_on_day"] += row["rows_on_day"] or 0
        found["late"] = found["late"] or bool(row["late"])
        found["day_closed"] = found["day_closed"] or bool(row["day_closed"])
        if row["arrived_local"] is not None:
            found["arrived_local"] = max(filter(None, (found["arrived_local"], row["arrived_local"])))
    rows = sorted(per_day.values(), key=lambda r: (r["contact_date"], r["source"]))
    return pa.Table.from_pylist(rows, schema=DAY_CLOSED.schema.append(pa.field("contact_date", pa.date32())))


def materialise_day_closed(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, now: datetime | None = None
) -> MaterialiseResult:
    """Write the ``day_closed`` marker rows of the days in the range (each analysis run re-judges them)."""
    table = closed_days(ports, centre, date_from, date_to, now)
    return write_days(ports, DAY_CLOSED, centre.centre_id, table, days_between(date_from, date_to))
