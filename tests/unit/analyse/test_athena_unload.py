"""Rows for the lake through Athena's UNLOAD (``AthenaEngine.unload``, ADR 0015).

botocore's Stubber pins the Athena requests (the UNLOAD statement around the positional SELECT, its
execution parameters, the request token naming the scratch folder) and answers them; moto's S3 holds the
Parquet files "Athena wrote", put there by the test when the statement starts, so the engine's listing,
reading and deleting run against S3 as they would in Lambda.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.stub import ANY, Stubber

from contactlake.adapters.athena import AthenaEngine, ScanBudget, ScanBudgetExceeded, positional_statement
from contactlake.adapters.local.store import LocalObjectStore
from contactlake.config import Settings
from contactlake.ports import QueryError, SqlParam

REGION = "eu-west-2"
SQL = "SELECT centre_id, offered FROM kpi_daily WHERE centre_id = :centre_id AND offered > :n"
PARAMS: dict[str, SqlParam] = {"centre_id": "o'brien", "n": 3}
LITERALS = ["'o''brien'", "3"]
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
#: What Athena's Parquet writer puts in the files: its own integer widths, microsecond timestamps.
WRITTEN = pa.schema(
    [
        ("centre_id", pa.string()),
        ("offered", pa.int64()),
        ("agents", pa.int32()),
        ("service_level", pa.float64()),
        ("contact_date", pa.date32()),
        ("interval_start", pa.timestamp("us")),
        ("cost", pa.decimal128(10, 2)),
    ]
)


def _part(*rows: tuple[Any, ...]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(WRITTEN.names, row, strict=True)) for row in rows], schema=WRITTEN)


FIRST = _part(("north", 1200, 14, 0.9375, date(2026, 11, 2), datetime(2026, 11, 2, 9, 15), Decimal("4.20")))
SECOND = _part(
    ("north", 7, 2, None, date(2026, 11, 3), datetime(2026, 11, 3, 0, 0), None),
    ("south", None, None, 0.5, date(2026, 11, 3), datetime(2026, 11, 3, 23, 45), Decimal("0.01")),
)


class Athena:
    """A stubbed Athena client that "writes" the given Parquet parts where each UNLOAD points."""

    def __init__(self, s3: Any) -> None:
        self.client = boto3.client("athena", region_name=REGION)
        self.stub = Stubber(self.client)
        self.s3 = s3
        self.starts: list[dict[str, Any]] = []
        self.outputs: list[list[pa.Table]] = []
        self.client.meta.events.register("provide-client-params.athena.StartQueryExecution", self._started)

    def _started(self, params: dict[str, Any], **_: Any) -> None:
        self.starts.append(dict(params))
        found = re.search(r"\) TO 's3://([^/]+)/(.+?)' WITH", str(params["QueryString"]))
        if found is None or not self.outputs:
            return
        bucket, prefix = found.groups()
        for n, part in enumerate(self.outputs.pop(0)):
            sink = io.BytesIO()
            pq.write_table(part, sink, compression="zstd")
            key = f"{prefix}20261207_020000_00001_abcde_{n}"  # Athena's names carry no extension
            self.s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())

    def finishes(
        self,
        execution_id: str,
        scanned: int = 0,
        finished: datetime = NOW,
        parts: list[pa.Table] | None = None,
    ) -> None:
        """The next start is answered with ``execution_id``, which succeeds having written ``parts``."""
        self.outputs.append(parts or [])
        self.stub.add_response("start_query_execution", {"QueryExecutionId": execution_id})
        self.stub.add_response(
            "get_query_execution",
            {
                "QueryExecution": {
                    "QueryExecutionId": execution_id,
                    "StatementType": "DML",
                    "Status": {
                        "State": "SUCCEEDED",
                        "SubmissionDateTime": finished,
                        "CompletionDateTime": finished,
                    },
                    "Statistics": {"DataScannedInBytes": scanned},
                }
            },
            {"QueryExecutionId": execution_id},
        )


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[tuple[Athena, Any]]:
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="results", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        athena = Athena(s3)
        with athena.stub:
            yield athena, s3
            athena.stub.assert_no_pending_responses()


def _engine(athena: Athena, s3: Any, **kwargs: Any) -> AthenaEngine:
    kwargs.setdefault("run_id", "evt-1")
    return AthenaEngine(
        athena.client, None, "wg", "lakedb", "s3://results/results/", sleep=lambda _: None, clock=lambda: NOW,
        unload_location="s3://results/unload/", scratch_s3=s3, **kwargs,
    )  # fmt: skip


def _keys(s3: Any, prefix: str = "unload/") -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket="results", Prefix=prefix).get("Contents", [])]


def test_the_select_is_unloaded_to_parquet_in_a_folder_named_after_its_token(aws: tuple[Athena, Any]) -> None:
    athena, s3 = aws
    athena.finishes("q-1", scanned=52_000_000, parts=[FIRST, SECOND])
    engine = _engine(athena, s3)
    table = engine.unload(SQL, PARAMS)

    (start,) = athena.starts
    select, _ = positional_statement(SQL, PARAMS)
    statement = str(start["QueryString"])
    assert statement.startswith("UNLOAD (\n")
    assert f"(\n{select}\n)" in statement  # the SELECT itself, its values left to the parameters
    assert statement.endswith(" WITH (format = 'PARQUET', compression = 'ZSTD')")
    assert "o'brien" not in statement
    assert "o''brien" not in statement
    assert start["ExecutionParameters"] == LITERALS
    assert (start["WorkGroup"], start["QueryExecutionContext"]) == ("wg", {"Database": "lakedb"})
    assert start["ResultConfiguration"] == {"OutputLocation": "s3://results/results/"}
    token = start["ClientRequestToken"]
    assert f" TO 's3://results/unload/{token}/' " in statement
    assert token != engine.request_token(select, LITERALS)  # never the token of the SELECT alone
    # The same run asks for the same statement again after a retry: the same token, so the same folder.
    assert token == engine.with_run_id("evt-1").request_token(statement.replace(token, ""), LITERALS)

    # Typed as written (no CSV); timestamps in milliseconds as the other engines return them.
    assert table.schema == pa.schema(
        [
            ("centre_id", pa.string()),
            ("offered", pa.int64()),
            ("agents", pa.int32()),
            ("service_level", pa.float64()),
            ("contact_date", pa.date32()),
            ("interval_start", pa.timestamp("ms")),
            ("cost", pa.decimal128(10, 2)),
        ]
    )
    rows = sorted(table.to_pylist(), key=lambda r: (r["centre_id"], r["contact_date"]))  # no order promised
    assert rows == sorted(
        pa.concat_tables([FIRST, SECOND]).to_pylist(), key=lambda r: (r["centre_id"], r["contact_date"])
    )
    assert engine.scanned == [52_000_000]
    assert _keys(s3) == []  # the scratch files are gone once read


def test_an_empty_result_is_typed_by_a_select_that_reads_nothing(aws: tuple[Athena, Any]) -> None:
    """UNLOAD writes no file for no rows, so nothing says the columns' types: a zero-row SELECT does."""
    athena, s3 = aws
    athena.finishes("q-unload", scanned=30_000_000)
    athena.finishes("q-probe", scanned=0)
    athena.stub.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "Rows": [{"Data": [{"VarCharValue": "centre_id"}, {"VarCharValue": "offered"}]}],
                "ResultSetMetadata": {
                    "ColumnInfo": [
                        {"Name": "centre_id", "Type": "varchar"},
                        {"Name": "offered", "Type": "bigint"},
                    ]
                },
            }
        },
        {"QueryExecutionId": "q-probe", "MaxResults": ANY},
    )
    engine = _engine(athena, s3)  # the probe's columns come from its result metadata

    table = engine.unload(SQL, PARAMS)
    assert table.num_rows == 0
    assert table.schema == pa.schema([("centre_id", pa.string()), ("offered", pa.int64())])
    select, _ = positional_statement(SQL, PARAMS)
    probe = athena.starts[1]
    assert probe["QueryString"] == f"SELECT * FROM (\n{select}\n) WHERE false"
    assert probe["ExecutionParameters"] == LITERALS
    assert engine.scanned == [30_000_000, 0]  # both queries are the run's


def test_a_retry_restarts_an_unload_an_earlier_attempt_may_have_read_already(aws: tuple[Athena, Any]) -> None:
    """Lambda retries an event with its id, so the token re-attaches to the first attempt's UNLOAD; if it
    finished before this attempt began, that attempt may have read and deleted its files: run it again,
    into a folder of its own."""
    athena, s3 = aws
    athena.finishes("q-old", scanned=1_000, finished=NOW - timedelta(minutes=3))
    athena.finishes("q-new", scanned=2_000, parts=[SECOND])
    table = _engine(athena, s3).unload(SQL, PARAMS)

    assert table.num_rows == 2
    first, again = athena.starts
    assert (
        again["ClientRequestToken"]
        == hashlib.sha256(f"{first['ClientRequestToken']}:q-old".encode()).hexdigest()
    )
    assert f"/unload/{again['ClientRequestToken']}/'" in again["QueryString"]


def test_an_unload_already_read_by_this_engine_is_not_read_as_empty(aws: tuple[Athena, Any]) -> None:
    """The same statement twice in one run: Athena answers the second start with the first execution,
    whose files are gone; it is started afresh rather than taken for an empty result."""
    athena, s3 = aws
    engine = _engine(athena, s3)
    athena.finishes("q-1", parts=[FIRST])
    assert engine.unload(SQL, PARAMS).num_rows == 1
    athena.finishes("q-1")
    athena.finishes("q-2", parts=[FIRST])
    assert engine.unload(SQL, PARAMS).num_rows == 1
    assert athena.starts[1]["ClientRequestToken"] == athena.starts[0]["ClientRequestToken"]
    assert athena.starts[2]["ClientRequestToken"] != athena.starts[0]["ClientRequestToken"]


def test_unreadable_output_is_a_query_error_that_says_where(aws: tuple[Athena, Any]) -> None:
    athena, s3 = aws
    athena.finishes("q-1")
    engine = _engine(athena, s3)
    engine.unload_location = "s3://no-such-bucket/unload/"
    with pytest.raises(QueryError, match=r"could not read or delete the UNLOAD output.*no-such-bucket.*role"):
        engine.unload(SQL, PARAMS)


def test_without_a_scratch_location_unload_says_what_to_set(aws: tuple[Athena, Any]) -> None:
    athena, s3 = aws
    engine = _engine(athena, s3)
    engine.unload_location = None
    with pytest.raises(QueryError, match="CONTACTLAKE_ATHENA_RESULTS_BUCKET"):
        engine.unload(SQL, PARAMS)


def test_the_scan_budget_is_checked_before_an_unload_starts(aws: tuple[Athena, Any], tmp_path: Any) -> None:
    athena, s3 = aws  # nothing stubbed: no request may be made
    store = LocalObjectStore(tmp_path)
    store.put(
        "lake", "aggregates/kpi_daily/centre_id=north/contact_month=2026-11-01/part-0.parquet", b"x" * 900
    )
    engine = _engine(athena, s3, budget=ScanBudget(store, limit_bytes=500))
    window: dict[str, SqlParam] = {
        "centre_id": "north",
        "date_from": "2026-11-02",
        "date_to": "2026-11-02",
        "n": 3,
    }
    with pytest.raises(ScanBudgetExceeded):
        engine.unload(SQL, window)


def test_from_settings_unloads_under_the_results_buckets_unload_prefix() -> None:
    settings = Settings(mode="aws", athena_results_bucket="res")
    engine = AthenaEngine.from_settings(object(), settings)  # type: ignore[arg-type]
    assert engine.unload_location == "s3://res/unload/"
    assert AthenaEngine.from_settings(object(), Settings(mode="aws")).unload_location is None  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ awswrangler


class _WranglerSession(boto3.session.Session):
    """Hands awswrangler the stubbed Athena client (it makes a client per call)."""

    def __init__(self, athena: Athena) -> None:
        super().__init__(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        self.athena = athena

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        assert service_name == "athena", f"unexpected {service_name} client"
        return self.athena.client


def test_on_the_analyse_function_awswrangler_starts_and_waits_for_the_unload(aws: tuple[Athena, Any]) -> None:
    athena, s3 = aws
    athena.stub.add_response(
        "get_work_group",
        {"WorkGroup": {"Name": "wg", "Configuration": {"EnforceWorkGroupConfiguration": True,
                       "ResultConfiguration": {"OutputLocation": "s3://results/results/"}}}},
    )  # fmt: skip
    athena.finishes("q-1", scanned=9_000, parts=[FIRST, SECOND])
    engine = _engine(athena, s3, session=_WranglerSession(athena), wrangler=True, wait_poll_seconds=0.01)
    table = engine.unload(SQL, PARAMS)

    (start,) = athena.starts
    assert str(start["QueryString"]).startswith("UNLOAD (\n")
    assert start["ExecutionParameters"] == LITERALS  # qmark: bound by Athena, not formatted in
    assert f"/unload/{start['ClientRequestToken']}/'" in start["QueryString"]
    assert table.num_rows == 3
    assert table.schema.field("interval_start").type == pa.timestamp("ms")
    assert engine.scanned == [9_000]
    assert _keys(s3) == []


# ------------------------------------------------------------------------------------------ the run's record


def test_the_runs_record_keeps_each_querys_bytes_and_the_cost(tmp_path: Any) -> None:
    """manifests/analysis/<day>/<run>.json: the figures of infra/README.md's cost per nightly run."""
    import json

    from contactlake.adapters.local import build_local_ports
    from contactlake.analyse import MaterialiseResult
    from contactlake.jobs import AnalysisWindow, record_analysis_run

    engine = AthenaEngine(object(), run_id="evt/1")  # type: ignore[arg-type]
    engine.scanned += [123_456_789, 2_048]  # what Athena reported for the run's two queries
    ports = build_local_ports(Settings(home=tmp_path))
    window = AnalysisWindow("north", date(2026, 11, 2), date(2026, 11, 2))
    written = MaterialiseResult("north", "kpi_daily", 1, 4)
    key = record_analysis_run(
        ports, "evt/1", "2026-11-03T23:59:59-02:00", "Scheduled Event", [window], [written], engine.usage()
    )
    assert key == "manifests/analysis/2026-11-04/evt_1.json"  # the UTC day; no folder from the id
    record = json.loads(ports.store.get("lake", key))
    assert record["athena"] == {
        "queries": 2,
        "bytes_scanned": 123_458_837,
        "bytes_per_query": [123_456_789, 2_048],
        "cost_usd": round((123_456_789 + 10 * 1024 * 1024) * 5 / 1e12, 6),  # the second at the minimum
    }
    assert record["windows"] == [{"centre_id": "north", "date_from": "2026-11-02", "date_to": "2026-11-02"}]
    assert record["tables"] == [{"centre_id": "north", "table": "kpi_daily", "days": 1, "rows": 4}]
    assert record["trigger"] == "Scheduled Event"
