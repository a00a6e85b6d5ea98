"""The Athena engine's awswrangler path (ADR 0015) and the scan budget checked before a query starts.

moto runs the happy path end to end (awswrangler reads the result CSV moto stores from its queued
results); botocore's Stubber, behind a session that hands awswrangler the stubbed client, pins the
exact requests: the statement, its ``qmark`` parameters, the request token, and what a failed query does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
from botocore.stub import Stubber

from contactlake.adapters.athena import AthenaEngine, ScanBudget, ScanBudgetExceeded, query_cost_usd
from contactlake.adapters.local.store import LocalObjectStore
from contactlake.config import load_settings
from contactlake.ports import QueryError, SqlParam
from tests.unit.analyse.athena_pages import column, row

REGION = "eu-west-2"
ACCOUNT = "123456789012"
SQL = "SELECT centre_id, offered FROM kpi_daily WHERE centre_id = :centre_id AND offered > :n"
PARAMS: dict[str, SqlParam] = {"centre_id": "o'brien", "n": 3}


COLUMNS = [
    column("centre_id", "varchar"),
    column("offered", "bigint"),
    column("service_level", "double"),
    column("day", "date"),
    column("interval_start", "timestamp"),
    column("on_target", "boolean"),
    column("agents", "integer"),
]
ROWS = [
    row(*(c["Name"] for c in COLUMNS)),
    row("north", "1200", "0.9375", "2026-11-02", "2026-11-02 09:15:00.000", "true", "14"),
    row("south", None, None, None, None, None, None),
]


def _engine(session: Any, **kwargs: Any) -> AthenaEngine:
    return AthenaEngine(
        session.client("athena"),
        None,
        "wg",
        "lakedb",
        "s3://results/q/",
        session=session,
        wrangler=True,
        wait_poll_seconds=0.01,
        **kwargs,
    )


def test_moto_round_trip_binds_parameters_server_side_and_types_the_result(athena_session: Any) -> None:
    from moto.athena.models import QueryResults, athena_backends

    athena_backends[ACCOUNT][REGION].query_results_queue.append(QueryResults(ROWS, COLUMNS))
    engine = _engine(athena_session, run_id="evt-1")
    table = engine.query(SQL, PARAMS)

    assert table.schema == pa.schema(
        [
            ("centre_id", pa.string()),
            ("offered", pa.int64()),
            ("service_level", pa.float64()),
            ("day", pa.date32()),
            ("interval_start", pa.timestamp("ms")),
            ("on_target", pa.bool_()),
            ("agents", pa.int32()),
        ]
    )
    assert table.to_pylist()[0]["offered"] == 1200
    assert table.to_pylist()[0]["day"] == date(2026, 11, 2)
    assert table.to_pylist()[1] == dict.fromkeys(table.column_names) | {"centre_id": "south"}
    athena = athena_session.client("athena")
    (execution_id,) = athena.list_query_executions()["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["Query"] == (
        "SELECT centre_id, offered FROM kpi_daily WHERE centre_id = ? AND offered > ?"
    )
    assert execution["ExecutionParameters"] == ["'o''brien'", "3"]  # values never in the text
    assert execution["QueryExecutionContext"] == {"Database": "lakedb"}
    assert engine.scanned == [0]


class _StubbedSession(boto3.session.Session):
    """A session whose Athena clients are one stubbed client (awswrangler makes a client per call)."""

    def __init__(self) -> None:
        super().__init__(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        self.athena = boto3.session.Session(
            region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        ).client("athena")
        self.stub = Stubber(self.athena)

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        assert service_name == "athena", f"unexpected {service_name} client"
        return self.athena


@pytest.fixture
def stubbed() -> Iterator[_StubbedSession]:
    session = _StubbedSession()
    with session.stub:
        yield session
        session.stub.assert_no_pending_responses()


def _workgroup() -> dict[str, Any]:
    return {
        "WorkGroup": {
            "Name": "wg",
            "Configuration": {
                "EnforceWorkGroupConfiguration": True,
                "ResultConfiguration": {"OutputLocation": "s3://results/q/"},
            },
        }
    }


def _execution(state: str, scanned: int = 0, reason: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {
        "QueryExecution": {
            "QueryExecutionId": "q-1",
            "Status": status,
            "StatementType": "DML",
            "Statistics": {"DataScannedInBytes": scanned},
        }
    }


def test_the_request_carries_statement_parameters_and_the_runs_token(stubbed: _StubbedSession) -> None:
    engine = _engine(stubbed, run_id="evt-7")
    token = engine.request_token(
        "SELECT centre_id, offered FROM kpi_daily WHERE centre_id = ? AND offered > ?", ["'o''brien'", "3"]
    )
    stubbed.stub.add_response("get_work_group", _workgroup(), {"WorkGroup": "wg"})
    stubbed.stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q-1"},
        {
            "QueryString": "SELECT centre_id, offered FROM kpi_daily WHERE centre_id = ? AND offered > ?",
            "QueryExecutionContext": {"Database": "lakedb"},
            "WorkGroup": "wg",
            "ClientRequestToken": token,
            "ExecutionParameters": ["'o''brien'", "3"],
            "ResultConfiguration": {"OutputLocation": "s3://results/q/"},
        },
    )
    stubbed.stub.add_response(
        "get_query_execution",
        _execution("FAILED", reason="COLUMN_NOT_FOUND: line 1:8: Column 'offered' cannot be resolved"),
        {"QueryExecutionId": "q-1"},
    )
    # A run-scoped failure is looked up once more: was it this attempt's, or an earlier attempt's?
    stubbed.stub.add_response("get_query_execution", _execution("FAILED"), {"QueryExecutionId": "q-1"})
    with pytest.raises(QueryError, match=r"FAILED: COLUMN_NOT_FOUND.*fix the SQL") as failure:
        engine.query(SQL, PARAMS)
    assert "kpi_daily" in str(failure.value)
    assert engine.scanned == []  # a failed query returns nothing and counts nothing


def test_a_cancelled_query_says_so(stubbed: _StubbedSession) -> None:
    stubbed.stub.add_response("get_work_group", _workgroup())
    stubbed.stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stubbed.stub.add_response(
        "get_query_execution", _execution("CANCELLED", reason="Query cancelled by user")
    )
    with pytest.raises(QueryError, match=r"CANCELLED: Query cancelled by user.*re-run when ready"):
        _engine(stubbed).query("SELECT 1")


def test_a_refused_start_is_a_clear_error(stubbed: _StubbedSession) -> None:
    stubbed.stub.add_response("get_work_group", _workgroup())
    stubbed.stub.add_client_error(
        "start_query_execution", "InvalidRequestException", "Queries of this type are not supported"
    )
    with pytest.raises(QueryError, match=r"refused the query \(InvalidRequestException\)"):
        _engine(stubbed).query("SELECT 1")


def test_bytes_scanned_are_summed_over_the_run(athena_session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the analyse function reports and emits as AthenaBytesScanned (functions/analyse/app.py)."""
    import awswrangler as wr
    from moto.athena.models import QueryResults, athena_backends

    for _ in range(2):
        athena_backends[ACCOUNT][REGION].query_results_queue.append(QueryResults(ROWS, COLUMNS))
    real = wr.athena.wait_query
    reported = iter([5_000_000, 70_000_000])

    def wait_query(execution_id: str, **kwargs: Any) -> dict[str, Any]:
        execution = real(execution_id, **kwargs)
        return {**execution, "Statistics": {"DataScannedInBytes": next(reported)}}

    monkeypatch.setattr(wr.athena, "wait_query", wait_query)
    engine = _engine(athena_session, run_id="nightly")
    engine.query("SELECT 1")
    engine.query("SELECT 2")
    assert engine.scanned == [5_000_000, 70_000_000]
    assert engine.bytes_scanned == 75_000_000
    assert query_cost_usd(engine.scanned) == pytest.approx((10 * 1024 * 1024 + 70_000_000) * 5 / 1e12)
    assert engine.with_run_id("next").scanned == []  # each run counts its own queries


# ------------------------------------------------------------------------------------------ scan budget


def _lake(tmp_path: Path) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path)
    for day, size in (("2026-11-01", 1000), ("2026-11-02", 2000), ("2026-11-03", 4000)):
        store.put("lake", f"curated/contacts/centre_id=north/contact_date={day}/part-0.parquet", b"x" * size)
    store.put("lake", "curated/contacts/centre_id=south/contact_date=2026-11-02/part-0.parquet", b"x" * 8000)
    for month, size in (("2026-10-01", 300), ("2026-11-01", 500)):
        key = f"aggregates/kpi_daily/centre_id=north/contact_month={month}/part-0.parquet"
        store.put("lake", key, b"x" * size)
    return store


def test_the_estimate_counts_only_the_partitions_the_parameters_select(tmp_path: Path) -> None:
    from contactlake.tables import CURATED_TABLES

    assert CURATED_TABLES["contacts"].prefix == "curated/contacts"
    store = _lake(tmp_path)
    budget = ScanBudget(store, limit_bytes=10_000)
    window = {"centre_id": "north", "date_from": "2026-11-02", "date_to": "2026-11-02"}
    assert budget.estimate("SELECT * FROM contacts", window) == 2000
    # The FCR look-ahead reaches a day further: every *_to parameter widens the window.
    assert budget.estimate("SELECT * FROM contacts", {**window, "lookahead_to": "2026-11-03"}) == 6000
    # Monthly files: the month of date_from counts whole.
    assert budget.estimate("SELECT * FROM kpi_daily", window) == 500
    # Two tables read by one statement (a CTE's name is not a table).
    both = "WITH c AS (SELECT * FROM contacts) SELECT * FROM c JOIN kpi_daily USING (centre_id)"
    assert budget.estimate(both, window) == 2500
    # Without a centre the whole table counts.
    assert budget.estimate("SELECT * FROM contacts", {}) == 15000


def test_a_query_over_the_budget_is_refused_before_it_starts(
    tmp_path: Path, stubbed: _StubbedSession
) -> None:
    """No Athena call is stubbed: the refusal must come before any request is made."""
    engine = _engine(stubbed, budget=ScanBudget(_lake(tmp_path), limit_bytes=5_000))
    window = {"centre_id": "north", "date_from": "2026-11-01", "date_to": "2026-11-03"}
    with pytest.raises(
        ScanBudgetExceeded, match=r"may read 0\.0 MB.*budget of 0\.0 MB.*fewer days"
    ) as refused:
        engine.query("SELECT * FROM contacts WHERE centre_id = :centre_id", window)
    assert isinstance(refused.value, QueryError)  # callers that handle query errors handle this too


def test_the_budget_counts_what_the_run_already_read(tmp_path: Path, stubbed: _StubbedSession) -> None:
    engine = _engine(stubbed, budget=ScanBudget(_lake(tmp_path), limit_bytes=5_000), run_id="nightly")
    engine.scanned.append(4_000)  # an earlier query of this run
    with pytest.raises(ScanBudgetExceeded):
        engine.query(
            "SELECT * FROM contacts",
            {"centre_id": "north", "date_from": "2026-11-02", "date_to": "2026-11-02"},
        )


def test_settings_turn_on_awswrangler_and_the_budget() -> None:
    settings = load_settings(
        {"CONTACTLAKE_ATHENA_WRANGLER": "true", "CONTACTLAKE_ATHENA_SCAN_BUDGET_BYTES": "1000000000"}
    )
    assert settings.athena_wrangler
    assert settings.athena_scan_budget_bytes == 1_000_000_000
    assert not load_settings({}).athena_wrangler
    assert load_settings({}).athena_scan_budget_bytes == 0
    from contactlake.config import ConfigError

    with pytest.raises(ConfigError, match="whole number of bytes"):
        load_settings({"CONTACTLAKE_ATHENA_SCAN_BUDGET_BYTES": "1GB"})


def test_from_settings_wires_the_session_and_budget(tmp_path: Path) -> None:
    settings = load_settings(
        {"CONTACTLAKE_ATHENA_WRANGLER": "1", "CONTACTLAKE_ATHENA_SCAN_BUDGET_BYTES": "2000"}
    )
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    engine = AthenaEngine.from_settings(
        session.client("athena"), settings, session=session, store=LocalObjectStore(tmp_path)
    )
    assert engine.wrangler
    assert engine.budget is not None
    assert engine.budget.limit_bytes == 2000
    without = AthenaEngine.from_settings(session.client("athena"), settings)
    assert not without.wrangler  # no session: the boto3 path
    assert without.budget is None
    with pytest.raises(ValueError, match="session"):
        AthenaEngine(session.client("athena"), wrangler=True)


def test_a_failed_query_leaves_the_aggregates_as_they_were(
    tmp_path: Path, athena_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nightly run stops at the first failed statement with Athena's reason; the aggregates already
    in the lake are untouched and nothing of the failed run is written."""
    from dataclasses import replace

    import awswrangler as wr

    from contactlake.adapters.local import build_local_ports
    from contactlake.analyse import run_analysis
    from contactlake.config import Settings, load_app_config

    def failed(execution_id: str, **kwargs: Any) -> dict[str, Any]:
        raise wr.exceptions.QueryFailed("HIVE_BAD_DATA: Malformed Parquet file")

    monkeypatch.setattr(wr.athena, "wait_query", failed)
    ports = build_local_ports(Settings(home=tmp_path / "lake"))
    earlier = "aggregates/kpi_daily/centre_id=north/contact_month=2026-11-01/part-0.parquet"
    ports.store.put("lake", earlier, b"an earlier run's month")
    athena = replace(
        ports, engine=_engine(athena_session, run_id="nightly", unload_location="s3://results/unload/")
    )

    with pytest.raises(QueryError, match=r"FAILED: HIVE_BAD_DATA: Malformed Parquet file.*fix the SQL"):
        run_analysis(athena, load_app_config(), ["north"], date(2026, 11, 2), date(2026, 11, 2))
    assert [item.key for item in ports.store.list("lake", "aggregates/")] == [earlier]
    assert ports.store.get("lake", earlier) == b"an earlier run's month"


def test_without_a_run_each_query_is_checked_on_its_own(tmp_path: Path, athena_session: Any) -> None:
    """A report or API container keeps its engine across warm invocations: what earlier requests read
    must not refuse the next one."""
    from moto.athena.models import QueryResults, athena_backends

    athena_backends[ACCOUNT][REGION].query_results_queue.append(QueryResults(ROWS, COLUMNS))
    engine = _engine(athena_session, budget=ScanBudget(_lake(tmp_path), limit_bytes=5_000))
    engine.scanned.append(1_000_000)  # earlier requests of this container
    window = {"centre_id": "north", "date_from": "2026-11-02", "date_to": "2026-11-02"}
    assert engine.query("SELECT * FROM contacts WHERE centre_id = :centre_id", window).num_rows == 2
