"""Measurement testing: reconciliation, synthetic test contacts and the data-quality view.

* **Reconciliation** proves nothing was lost or double counted between the upload and the KPIs: each
  manifest balances (read = stored + quarantined + excluded) and matches the rows in the lake; each day's
  detail recount equals every aggregate (intervals, agents, days); parts add up to totals.
* **Synthetic test contacts** are measured by the *production* KPI counts and rates
  (ops/test_contact_kpis.sql, one row per contact, on the same classification as kpi_interval) and every
  measure is compared exactly with the expectation in test_cases.toml; the business KPI models leave
  them out.
* **Data quality** per upload and day from the ingest log: rows read / stored / quarantined / excluded,
  quarantine by rule, late uploads and missing days.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from contactlake.analyse.aggregates import MaterialiseResult, detail_kpis, write_days
from contactlake.analyse.common import check_range, days_between, range_params, run_sql
from contactlake.config import CentreConfig, ConfigError
from contactlake.ports import ObjectNotFound, Ports
from contactlake.tables import MEASURE_FIELDS, TEST_CONTACT_RESULTS

__all__ = [
    "DATA_QUALITY_SCHEMA",
    "RECONCILIATION_SCHEMA",
    "TEST_RESULTS_SCHEMA",
    "TestCase",
    "check_test_contacts",
    "data_quality",
    "load_test_cases",
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
        ("finished_local", pa.timestamp("ms")),
        ("deadline_local", pa.timestamp("ms")),
        ("late", pa.bool_()),
        ("missing", pa.bool_()),
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


def _uploads(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> list[dict[str, Any]]:
    """Ingest-log rows of uploads whose business day is in the range."""
    rows = run_sql(
        ports, "ingest_log_since", {"centre_id": centre.centre_id, "date_from": date_from.isoformat()}
    )
    found = []
    for row in rows.to_pylist():
        day = _dataset_day(row["dataset_key"])
        if day is not None and date_from <= day <= date_to:
            found.append({**row, "day": day})
    return found


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
    stored = [u for u in _uploads(ports, centre, date_from, date_to) if u["status"] == "stored"]
    for upload in stored:
        checks.append(
            _check(
                "upload",
                upload["upload_id"],
                "rows read = stored + quarantined + excluded",
                upload["rows_read"],
                upload["rows_stored"] + upload["rows_quarantined"] + upload["rows_excluded"],
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
                "offered = answered + abandoned + callback requested",
                row["interval_offered"],
                row["interval_answered"] + row["interval_abandoned"] + row["interval_callback_requested"],
            )
        )
    return pa.Table.from_pylist(checks, schema=RECONCILIATION_SCHEMA)


def _local(utc: datetime | None, centre: CentreConfig) -> datetime | None:
    if utc is None:
        return None
    return utc.replace(tzinfo=UTC).astimezone(centre.zone).replace(tzinfo=None)


def data_quality(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    """Per business day and source: each upload's fate, quarantine by rule, lateness, and missing days."""
    check_range(date_from, date_to)
    rows = []
    present: set[tuple[date, str]] = set()
    for upload in _uploads(ports, centre, date_from, date_to):
        source = str(upload["dataset_key"]).split("/")[1] if upload["dataset_key"].count("/") >= 2 else ""
        finished = _local(upload["finished_utc"], centre)
        deadline = datetime.combine(upload["day"] + timedelta(days=1), centre.upload_deadline_local)
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
                "finished_local": finished,
                "deadline_local": deadline,
                "late": finished > deadline if finished else None,
                "missing": False,
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
                        "missing": True,
                        "deadline_local": datetime.combine(
                            day + timedelta(days=1), centre.upload_deadline_local
                        ),
                    }
                )
    rows.sort(key=lambda r: (r["day"], r["source"], r.get("finished_local") or datetime.min))
    return pa.Table.from_pylist(rows, schema=DATA_QUALITY_SCHEMA)
