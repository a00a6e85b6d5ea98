"""The Athena engine's boto3 path (the report and API functions; ADR 0015): parameters as literals,
idempotent tokens, polling, errors and typed results. The awswrangler path: test_athena_wrangler.py.

moto (queued results, as Athena does not run SQL in moto) covers the happy path end to end; botocore's
Stubber covers FAILED, CANCELLED, throttling, pagination and the timeout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pyarrow as pa
import pytest
from botocore.stub import Stubber

from contactlake.adapters.athena import (
    AthenaEngine,
    arrow_type,
    positional_statement,
    query_cost_usd,
    sql_literal,
)
from contactlake.config import Settings
from contactlake.ports import QueryError
from contactlake.sqlfiles import load_sql
from tests.unit.analyse.athena_pages import column, row

REGION = "eu-west-2"
SQL = "SELECT centre_id, n FROM t WHERE centre_id = :centre AND n > :n AND d = CAST(:day AS DATE)"
PARAMS = {"centre": "o'brien", "n": 3, "day": "2026-11-02"}


def test_parameters_become_athena_literals() -> None:
    assert sql_literal("o'brien") == "'o''brien'"
    assert sql_literal(3) == "3"
    assert sql_literal(2.5) == "2.5E0"  # a DOUBLE, not a DECIMAL
    assert sql_literal(1e-7) == "1e-07"
    assert sql_literal(True) == "true"
    assert sql_literal(None) == "NULL"
    assert sql_literal(datetime(2026, 11, 2, 9, 30)) == "TIMESTAMP '2026-11-02 09:30:00.000'"
    assert sql_literal(datetime(2026, 11, 2, 10, 30, tzinfo=UTC)) == "TIMESTAMP '2026-11-02 10:30:00.000'"
    assert sql_literal(date(2026, 11, 2)) == "DATE '2026-11-02'"
    with pytest.raises(ValueError, match="finite"):
        sql_literal(float("nan"))


def test_athena_types_map_to_arrow() -> None:
    assert arrow_type({"Type": "bigint"}) == pa.int64()
    assert arrow_type({"Type": "integer"}) == pa.int32()
    assert arrow_type({"Type": "double"}) == pa.float64()
    assert arrow_type({"Type": "date"}) == pa.date32()
    assert arrow_type({"Type": "timestamp"}) == pa.timestamp("ms")
    assert arrow_type({"Type": "decimal", "Precision": 10, "Scale": 2}) == pa.decimal128(10, 2)
    assert arrow_type({"Type": "array<varchar>"}) == pa.string()


COLUMNS = [
    column("centre_id", "varchar"),
    column("offered", "bigint"),
    column("service_level", "double"),
    column("day", "date"),
    column("interval_start", "timestamp"),
    column("on_target", "boolean"),
    {**column("cost", "decimal"), "Precision": 10, "Scale": 2},
]


HEADER = row(*(c["Name"] for c in COLUMNS))
ROWS = [
    row("north", "1200", "0.9375", "2026-11-02", "2026-11-02 09:15:00.000", "true", "4.20"),
    row("south", None, None, "2026-11-03", "2026-11-03 00:00:00.000", "false", None),
]


@pytest.fixture
def moto_athena(aws_credentials: None) -> Iterator[tuple[Any, Any, list[dict[str, Any]]]]:
    from moto import mock_aws
    from moto.athena.models import QueryResults, athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    with mock_aws():
        athena = boto3.client("athena", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="results", CreateBucketConfiguration={"LocationConstraint": REGION})
        athena.create_work_group(Name="contactlake", Configuration={})
        athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(
            QueryResults([HEADER, *ROWS], COLUMNS)
        )
        starts: list[dict[str, Any]] = []
        athena.meta.events.register(
            "provide-client-params.athena.StartQueryExecution",
            lambda params, **_: starts.append(dict(params)),
        )
        yield athena, s3, starts


def _check_typed(table: pa.Table) -> None:
    assert table.schema.types == [pa.string(), pa.int64(), pa.float64(), pa.date32(), pa.timestamp("ms"),
                                  pa.bool_(), pa.decimal128(10, 2)]  # fmt: skip
    assert table.to_pylist() == [
        {"centre_id": "north", "offered": 1200, "service_level": 0.9375, "day": date(2026, 11, 2),
         "interval_start": datetime(2026, 11, 2, 9, 15), "on_target": True, "cost": Decimal("4.20")},
        {"centre_id": "south", "offered": None, "service_level": None, "day": date(2026, 11, 3),
         "interval_start": datetime(2026, 11, 3), "on_target": False, "cost": None},
    ]  # fmt: skip


def test_moto_round_trip_with_server_side_parameters(
    moto_athena: tuple[Any, Any, list[dict[str, Any]]],
) -> None:
    athena, _s3, starts = moto_athena
    from moto.moto_api import state_manager

    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 1})
    try:
        sleeps: list[float] = []
        engine = AthenaEngine(athena, None, "contactlake", "lakedb", "s3://results/q/", run_id="run-1",
                              sleep=sleeps.append)  # fmt: skip
        table = engine.query(SQL, PARAMS)
    finally:
        state_manager.unset_transition("athena::execution")
    _check_typed(table)  # the header row Athena puts first is dropped
    assert sleeps == [0.25]  # QUEUED -> RUNNING (wait) -> SUCCEEDED
    start = starts[0]
    assert start["ExecutionParameters"] == ["'o''brien'", "3", "'2026-11-02'"]
    assert "?" in start["QueryString"]
    assert "o'brien" not in start["QueryString"]
    assert (start["WorkGroup"], start["QueryExecutionContext"]) == ("contactlake", {"Database": "lakedb"})
    assert start["ResultConfiguration"] == {"OutputLocation": "s3://results/q/"}
    text, _ = positional_statement(SQL, PARAMS)
    assert start["ClientRequestToken"] == engine.request_token(text, start["ExecutionParameters"])
    execution = athena.list_query_executions(WorkGroup="contactlake")["QueryExecutionIds"]
    assert len(execution) == 1


def test_results_read_from_the_s3_csv_when_given_a_client(
    moto_athena: tuple[Any, Any, list[dict[str, Any]]],
) -> None:
    athena, s3, _starts = moto_athena
    engine = AthenaEngine(athena, s3, "contactlake", "lakedb", "s3://results/q/", sleep=lambda _: None)
    _check_typed(engine.query(SQL, PARAMS))


def test_tokens_are_idempotent_per_run_and_unique_without_one() -> None:
    client: Any = object()
    first = AthenaEngine(client, run_id="event-42")
    assert first.request_token("SELECT 1", ["'a'"]) == first.with_run_id("event-42").request_token(
        "SELECT 1", ["'a'"]
    )
    assert first.request_token("SELECT 1", ["'a'"]) != first.request_token("SELECT 1", ["'b'"])
    assert first.request_token("SELECT 1", ["'a'"]) != first.with_run_id("event-43").request_token(
        "SELECT 1", ["'a'"]
    )
    anonymous = AthenaEngine(client)
    assert anonymous.request_token("SELECT 1", []) != anonymous.request_token("SELECT 1", [])
    assert len(first.request_token("SELECT 1", [])) == 64  # Athena accepts 32-128 characters


def test_from_settings_uses_the_deployed_names() -> None:
    settings = Settings(mode="aws", athena_workgroup="wg", glue_database="db", athena_results_bucket="res")
    engine = AthenaEngine.from_settings(object(), settings)  # type: ignore[arg-type]
    assert (engine.workgroup, engine.database, engine.output_location) == ("wg", "db", "s3://res/results/")


@pytest.fixture
def stubbed(aws_credentials: None) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("athena", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _execution(state: str, reason: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {"QueryExecution": {"QueryExecutionId": "q-1", "Status": status, "StatementType": "DML"}}


def test_failed_query_reports_athenas_reason(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stubber.add_response(
        "get_query_execution", _execution("FAILED", "COLUMN_NOT_FOUND: line 1:8: Column 'x'")
    )
    engine = AthenaEngine(client, sleep=lambda _: None)
    with pytest.raises(QueryError, match=r"q-1 FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'x'.*fix the SQL"):
        engine.query("SELECT x FROM kpi_daily")


def test_cancelled_query_says_so(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stubber.add_response("get_query_execution", _execution("RUNNING"))
    stubber.add_response("get_query_execution", _execution("CANCELLED", "Query cancelled by user"))
    engine = AthenaEngine(client, sleep=lambda _: None)
    with pytest.raises(QueryError, match="q-1 CANCELLED: Query cancelled by user"):
        engine.query("SELECT 1")


def _results(rows: list[dict[str, Any]], token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": [column("n", "bigint")]}}
    }
    if token:
        page["NextToken"] = token
    return page


def test_throttling_is_retried_with_backoff_and_the_same_token(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    engine = AthenaEngine(client, run_id="r", sleep=(sleeps := []).append)  # type: ignore[var-annotated]
    text, _values = positional_statement("SELECT :n AS n", {"n": 1})
    expected = {"QueryString": text, "QueryExecutionContext": {"Database": "contactlake"}, "WorkGroup": "contactlake",
                "ClientRequestToken": engine.request_token(text, ["1"]), "ExecutionParameters": ["1"]}  # fmt: skip
    for _ in range(2):
        stubber.add_client_error("start_query_execution", "TooManyRequestsException", "Rate exceeded",
                                 expected_params=expected)  # fmt: skip
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"}, expected)
    stubber.add_response("get_query_execution", _execution("SUCCEEDED"))
    stubber.add_response("get_query_results", _results([row("n"), row("1")]))
    assert engine.query("SELECT :n AS n", {"n": 1}).to_pylist() == [{"n": 1}]
    assert sleeps == [0.25, 0.5]


def test_throttling_past_the_retries_is_a_clear_error(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(3):
        stubber.add_client_error("start_query_execution", "TooManyRequestsException", "Rate exceeded")
    engine = AthenaEngine(client, sleep=lambda _: None, throttle_retries=2)
    with pytest.raises(QueryError, match=r"throttled StartQueryExecution 3 times.*run fewer in parallel"):
        engine.query("SELECT 1")


def test_results_are_paginated(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stubber.add_response("get_query_execution", _execution("SUCCEEDED"))
    stubber.add_response("get_query_results", _results([row("n"), row("1"), row("2")], token="page-2"),
                         {"QueryExecutionId": "q-1", "MaxResults": 1000})  # fmt: skip
    stubber.add_response("get_query_results", _results([row("3")]),
                         {"QueryExecutionId": "q-1", "MaxResults": 1000, "NextToken": "page-2"})  # fmt: skip
    table = AthenaEngine(client, sleep=lambda _: None).query("SELECT n FROM t")
    assert table.column("n").to_pylist() == [1, 2, 3]


def test_a_query_that_runs_too_long_is_stopped(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    for _ in range(3):
        stubber.add_response("get_query_execution", _execution("RUNNING"))
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-1"})
    engine = AthenaEngine(client, sleep=lambda _: None, timeout_seconds=0.5)
    with pytest.raises(QueryError, match="still RUNNING after 1 s; it was stopped"):
        engine.query("SELECT 1")


def test_every_parameter_of_a_real_sql_file_is_sent_in_order() -> None:
    params = {"centre_id": "north", "date_from": "2026-11-02", "date_to": "2026-11-08", "grain": "day",
              "dimension": "queue", "queue": "", "channel": "", "sl_variant": "abandons_ignored"}  # fmt: skip
    text, values = positional_statement(load_sql("kpi_rollup"), params)
    assert text.count("?") == len(values) > 10
    # Text order: the first CTE filters on centre, month and dates, then the dimension and grain checks.
    assert values[:7] == ["north", "2026-11-02", "2026-11-08", "2026-11-02", "2026-11-08", "queue", "day"]
    assert ":centre_id" not in text
    assert "north" not in text


def test_placeholders_are_numbered_in_text_order_not_tree_order() -> None:
    """A WITH clause comes first in the text but after the SELECT list in sqlglot's tree."""
    text, values = positional_statement(
        "WITH a AS (SELECT :x AS x) SELECT :y AS y, :x AS z FROM a", {"x": 1, "y": 2}
    )
    assert text == "WITH a AS (SELECT ? AS x) SELECT ? AS y, ? AS z FROM a"
    assert values == [1, 2, 1]
    with pytest.raises(ValueError, match="not bound: y"):
        positional_statement("SELECT :y", {})


def test_bytes_scanned_are_kept_per_query_and_priced(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for scanned in (123_456_789, 2_048):
        stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
        done = _execution("SUCCEEDED")
        done["QueryExecution"]["Statistics"] = {"DataScannedInBytes": scanned}
        stubber.add_response("get_query_execution", done)
        stubber.add_response(
            "get_query_results", {"ResultSet": {"Rows": [], "ResultSetMetadata": {"ColumnInfo": []}}}
        )
    engine = AthenaEngine(client, sleep=lambda _: None).with_run_id("event-1")
    engine.query("SELECT 1")
    engine.query("SELECT 2")
    assert engine.scanned == [123_456_789, 2_048]
    assert engine.bytes_scanned == 123_458_837
    # $5 per TB, the second query billed at the 10 MB minimum.
    assert query_cost_usd(engine.scanned) == pytest.approx((123_456_789 + 10 * 1024 * 1024) * 5 / 1e12)
    assert engine.with_run_id("event-2").scanned == []  # a new run counts its own queries


def _submitted(state: str, execution_id: str, at: datetime, reason: str | None = None) -> dict[str, Any]:
    answer = _execution(state, reason)
    answer["QueryExecution"]["QueryExecutionId"] = execution_id
    answer["QueryExecution"]["Status"]["SubmissionDateTime"] = at
    return answer


def test_a_retried_run_restarts_a_query_that_had_already_failed(stubbed: tuple[Any, Stubber]) -> None:
    """A Lambda retry reuses the event id, so Athena answers the run's token with the execution that
    failed in the first attempt: the retry starts it afresh under a token derived from that one."""
    client, stubber = stubbed
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    engine = AthenaEngine(client, run_id="event-1", sleep=lambda _: None, clock=lambda: now)
    first = engine.request_token("SELECT 1", [])
    again = hashlib.sha256(f"{first}:q-old".encode()).hexdigest()
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-old"}, {
        "QueryString": "SELECT 1", "QueryExecutionContext": {"Database": "contactlake"},
        "WorkGroup": "contactlake", "ClientRequestToken": first})  # fmt: skip
    stubber.add_response(
        "get_query_execution", _submitted("FAILED", "q-old", now - timedelta(minutes=2), "slow down")
    )
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-new"}, {
        "QueryString": "SELECT 1", "QueryExecutionContext": {"Database": "contactlake"},
        "WorkGroup": "contactlake", "ClientRequestToken": again})  # fmt: skip
    stubber.add_response("get_query_execution", _submitted("SUCCEEDED", "q-new", now))
    stubber.add_response("get_query_results", _results([row("n"), row("1")]))
    assert engine.query("SELECT 1").to_pylist() == [{"n": 1}]


def test_a_query_failing_in_this_attempt_is_reported_not_restarted(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stubber.add_response("get_query_execution", _submitted("FAILED", "q-1", now, "SYNTAX_ERROR"))
    engine = AthenaEngine(client, run_id="event-1", sleep=lambda _: None, clock=lambda: now)
    with pytest.raises(QueryError, match="q-1 FAILED: SYNTAX_ERROR"):
        engine.query("SELECT 1")
