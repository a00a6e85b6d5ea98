"""The AWS query engine: the same Athena-dialect SQL files, run by Athena with server-side parameters.

* Values are bound with ``ExecutionParameters`` (never formatted into the text). Athena wants each one
  as a SQL literal: strings quoted with ``'`` doubled, timestamps as ``TIMESTAMP '…'``, floats as
  ``DOUBLE`` literals (``1.5E0``; ``1.5`` alone would be a DECIMAL), booleans, ``NULL``.
* Every start carries a ``ClientRequestToken``: a hash of the statement, its parameters and the caller's
  run id (e.g. the Lambda request or EventBridge event id). A retried Lambda re-attaches to the query it
  already started instead of paying for it twice; without a run id the token is unique per call, which
  still makes botocore's own network retries idempotent. A retry that re-attaches to an execution that
  had already FAILED or been CANCELLED before the retry began (a transient failure: Athena keeps
  answering the token with it) starts the query afresh under a token derived from that execution, so a
  retry can recover; a failure of the retry's own execution is reported, never retried here.
* Two ways to run a statement (ADR 0015). Given a boto3 session and ``wrangler=True`` (a function whose
  package carries awswrangler: the analyse function), awswrangler starts it (``wr.athena``, ``qmark``
  parameters bound server-side, the same request token), waits for it and reads the typed result
  (``wr.athena.get_query_results``: Athena's column types, Parquet when the statement is an UNLOAD).
  Otherwise (the report and API functions, whose package has no room for awswrangler and pandas under
  Lambda's 250 MB) the statement is started, polled with backoff and its result read and typed from
  ``ResultSetMetadata`` here, with plain boto3.
* Rows that go to the lake (:meth:`AthenaEngine.unload`) are run as ``UNLOAD`` to Parquet in a scratch
  folder named after the request token (``s3://<results bucket>/unload/<token>/``), read back with
  pyarrow and deleted: typed by Athena's writer, nothing parsed from CSV. An UNLOAD a retry re-attaches
  to that had finished before the retry began may have had its files read and deleted by the earlier
  attempt, so it is started again like a stale failure.
* Either way FAILED and CANCELLED raise :class:`QueryError` with Athena's reason;
  throttling (``TooManyRequestsException``) is retried with backoff (awswrangler's own retries on its
  path) and then reported plainly.
* Each query's ``DataScannedInBytes`` is kept (:attr:`AthenaEngine.scanned`), so a run can report what
  it read and what it cost (:func:`query_cost_usd`: Athena bills $5 per TB, at least 10 MB a query).
* A :class:`ScanBudget` refuses a query before it starts when the partitions it would read (listed in S3:
  their sizes are an upper bound of what Athena scans) would take the run past its budget; the
  workgroup's ``BytesScannedCutoffPerQuery`` stays the last guard.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from contactlake import sqlfiles
from contactlake.config import Settings
from contactlake.ports import ObjectInfo, ObjectStore, QueryError, SqlParam

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_s3 import S3Client

__all__ = [
    "AthenaEngine",
    "ScanBudget",
    "ScanBudgetExceeded",
    "arrow_type",
    "positional_statement",
    "query_cost_usd",
    "sql_literal",
]

#: Athena's price per byte scanned ($5 per TB) and the minimum it bills a query for (10 MB).
USD_PER_BYTE = 5.0 / 1e12
MIN_BILLED_BYTES = 10 * 1024 * 1024

_THROTTLED = ("TooManyRequestsException", "ThrottlingException")
_INT_TYPES = {
    "tinyint": pa.int32(),
    "smallint": pa.int32(),
    "integer": pa.int32(),
    "int": pa.int32(),
    "bigint": pa.int64(),
}
_FLOAT_TYPES = ("double", "float", "real")
_T = TypeVar("_T")


def sql_literal(value: SqlParam | date) -> str:
    """One execution parameter as the SQL literal Athena substitutes for its ``?``."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot bind {value!r} as an Athena parameter; pass a finite number or None")
        text = repr(value)
        return text if "e" in text.lower() else f"{text}E0"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"TIMESTAMP '{value.isoformat(sep=' ', timespec='milliseconds')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot bind a {type(value).__name__} as an Athena parameter")


def query_cost_usd(scanned: Sequence[int]) -> float:
    """What Athena bills for queries that scanned these bytes (each rounded up to the 10 MB minimum)."""
    return sum(max(int(b), MIN_BILLED_BYTES) for b in scanned) * USD_PER_BYTE


def arrow_type(column: Mapping[str, Any]) -> pa.DataType:
    """The Arrow type for an Athena ``ColumnInfo`` (unknown and nested types stay text)."""
    name = str(column.get("Type", "varchar")).lower()
    if name in _INT_TYPES:
        return _INT_TYPES[name]
    if name in _FLOAT_TYPES:
        return pa.float64()
    if name == "boolean":
        return pa.bool_()
    if name == "date":
        return pa.date32()
    if name == "timestamp":
        return pa.timestamp("ms")
    if name.startswith("timestamp with time zone"):
        return pa.timestamp("ms", tz="UTC")
    if name == "decimal":
        precision = int(column.get("Precision") or 38)
        return pa.decimal128(min(max(precision, 1), 38), int(column.get("Scale") or 0))
    return pa.string()


def positional_statement(sql: str, params: Mapping[str, SqlParam]) -> tuple[str, list[SqlParam]]:
    """The Trino statement with positional ``?`` and values in text order (``sqlfiles.for_athena``)."""
    return sqlfiles.for_athena(sql, params)


def _convert(text: str | None, type_: pa.DataType) -> Any:
    if text is None:
        return None
    if pa.types.is_integer(type_):
        return int(text)
    if pa.types.is_floating(type_):
        return float(text)
    if pa.types.is_boolean(type_):
        return text.lower() == "true"
    if pa.types.is_date(type_):
        return date.fromisoformat(text)
    if pa.types.is_timestamp(type_):
        if type_.tz:  # "2024-03-01 09:30:00.000 UTC"
            stamp, _, zone = text.rpartition(" ")
            if zone.upper() != "UTC":
                raise QueryError(
                    f"timestamp {text!r} is not in UTC; cast it with AT TIME ZONE 'UTC' in the SQL"
                )
            return datetime.fromisoformat(stamp).replace(tzinfo=UTC)
        return datetime.fromisoformat(text)
    if pa.types.is_decimal(type_):
        return Decimal(text)
    return text


def _table(columns: Sequence[Mapping[str, Any]], rows: Sequence[Sequence[str | None]]) -> pa.Table:
    names = [str(c.get("Label") or c.get("Name")) for c in columns]
    types = [arrow_type(c) for c in columns]
    arrays = [
        pa.array([_convert(row[i] if i < len(row) else None, types[i]) for row in rows], type=types[i])
        for i in range(len(columns))
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(list(zip(names, types, strict=True))))


#: How much earlier than the attempt an execution must have been submitted to count as a previous
#: attempt's (Lambda retries an event a minute or more later; clocks of Lambda and Athena may differ).
_STALE_MARGIN = timedelta(seconds=5)
#: Restarts of one statement past executions that had already failed, before giving up.
_MAX_STALE_RESTARTS = 5


class _StaleFailure(Exception):
    """The token re-attached to an execution that had failed before this attempt (internal to query)."""

    def __init__(self, execution_id: str) -> None:
        super().__init__(execution_id)
        self.execution_id = execution_id


class ScanBudgetExceeded(QueryError):
    """A query was refused before it started: it would read more than the run's Athena budget allows."""


class ScanBudget:
    """The most bytes one run (a report, an API request, a nightly analysis) may have Athena read.

    Before a query starts, what it can read is estimated from the lake itself: the sizes of the files of
    each table the statement reads, in the partitions its parameters select (the centre, and the days or
    months from ``date_from`` to the latest ``*_to`` date). Athena reads at most those files (Parquet
    column pruning makes it less), so the estimate errs on the side of refusing; a table the parameters
    do not narrow counts whole. It costs one S3 listing per table read (a centre's prefix), no query.
    """

    def __init__(self, store: ObjectStore, limit_bytes: int) -> None:
        self.store, self.limit_bytes = store, limit_bytes

    def estimate(self, sql: str, params: Mapping[str, SqlParam]) -> int:
        from contactlake.sqlfiles import referenced_tables
        from contactlake.tables import all_tables

        tables = all_tables()
        read = sorted(name for name in referenced_tables(sql) if name in tables)
        return sum(self._table_bytes(tables[name], params) for name in read)

    def _table_bytes(self, table: Any, params: Mapping[str, SqlParam]) -> int:
        names = table.partition_names
        centre = params.get("centre_id")
        if not names or names[0] != "centre_id" or not isinstance(centre, str) or not centre:
            return sum(item.size for item in self.store.list(table.area, f"{table.prefix}/"))
        objects = self.store.list(table.area, f"{table.prefix}/centre_id={centre}/")
        window = _date_window(params)
        if window is None or len(names) < 2:
            return sum(item.size for item in objects)
        first, last = window
        if table.by_month:
            first = first.replace(day=1)
        return sum(item.size for item in _in_window(objects, names[1], first, last))

    def check(self, sql: str, params: Mapping[str, SqlParam], already: int) -> None:
        """Refuse the query if what it may read, on top of what the run has read, passes the budget."""
        estimate = self.estimate(sql, params)
        if already + estimate > self.limit_bytes:
            raise ScanBudgetExceeded(
                f"refused before running: this query may read {estimate / 1e6:,.1f} MB of the lake "
                f"({_summary(sql)}), and this run has read {already / 1e6:,.1f} MB already, over its Athena "
                f"budget of {self.limit_bytes / 1e6:,.1f} MB. Ask for fewer days or centres, or raise the "
                "budget (CONTACTLAKE_ATHENA_SCAN_BUDGET_BYTES; the workgroup's BytesScannedCutoffPerQuery "
                "still caps each query)"
            )


def _date_window(params: Mapping[str, SqlParam]) -> tuple[date, date] | None:
    """The first and last local day a statement's parameters select (``date_from`` .. the latest ``*_to``)."""
    start = params.get("date_from")
    ends = [v for k, v in params.items() if k.endswith("_to") and isinstance(v, str | date)]
    if not isinstance(start, str | date) or not ends:
        return None
    days = [_as_date(v) for v in ends]
    first = _as_date(start)
    if first is None or any(d is None for d in days):
        return None
    return first, max(d for d in days if d is not None)


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _in_window(objects: Iterable[ObjectInfo], column: str, first: date, last: date) -> Iterable[ObjectInfo]:
    marker = f"/{column}="
    for item in objects:
        _, found, rest = item.key.partition(marker)
        day = _as_date(rest.split("/", 1)[0]) if found else None
        if day is None or first <= day <= last:  # a file outside the partition layout counts
            yield item


class AthenaEngine:
    """Runs the Athena-dialect SQL files on Athena (the :class:`~contactlake.ports.QueryEngine` port)."""

    def __init__(
        self,
        athena_client: AthenaClient,
        s3_client: S3Client | None = None,
        workgroup: str = "contactlake",
        database: str = "contactlake",
        output_location: str | None = None,
        *,
        run_id: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout_seconds: float = 600.0,
        poll_initial_seconds: float = 0.25,
        poll_max_seconds: float = 5.0,
        throttle_retries: int = 6,
        page_size: int = 1000,
        session: boto3.Session | None = None,
        wrangler: bool = False,
        budget: ScanBudget | None = None,
        botocore_config: Any = None,
        wait_poll_seconds: float = 1.0,
        unload_location: str | None = None,
        scratch_s3: S3Client | None = None,
    ) -> None:
        if wrangler and session is None:
            raise ValueError("awswrangler needs the boto3 session its clients are made from")
        self.client = athena_client
        self.s3 = s3_client
        self.workgroup = workgroup
        self.database = database
        self.output_location = output_location
        self.run_id = run_id
        self.sleep = sleep
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self.poll_initial_seconds = poll_initial_seconds
        self.poll_max_seconds = poll_max_seconds
        self.throttle_retries = throttle_retries
        self.page_size = page_size
        self.session = session
        #: Run statements with awswrangler (the functions whose package carries it; ADR 0015).
        self.wrangler = wrangler
        self.budget = budget
        #: The botocore ``Config`` (retries, timeouts) awswrangler's clients are made with.
        self.botocore_config = botocore_config
        #: awswrangler polls at a fixed interval (its default, 1 s), not with backoff.
        self.wait_poll_seconds = wait_poll_seconds
        #: Where :meth:`unload` has Athena write (``s3://<results bucket>/unload/``), a folder per token.
        self.unload_location = unload_location
        #: The S3 client that lists, reads and deletes the UNLOAD files. Apart from ``s3_client``, which
        #: switches the boto3 path to reading the result CSV (one GET instead of result pages).
        self.scratch_s3 = scratch_s3
        #: Bytes each query of this engine scanned (Athena's ``DataScannedInBytes``), in order.
        self.scanned: list[int] = []
        #: UNLOAD executions whose files this engine has read and deleted (never read twice).
        self._consumed: set[str] = set()

    @property
    def bytes_scanned(self) -> int:
        return sum(self.scanned)

    def usage(self) -> dict[str, Any]:
        """What this engine's queries read and cost (a run's, when scoped by :meth:`with_run_id`)."""
        return {
            "queries": len(self.scanned),
            "bytes_scanned": self.bytes_scanned,
            "bytes_per_query": list(self.scanned),
            "cost_usd": round(query_cost_usd(self.scanned), 6),
        }

    @classmethod
    def from_settings(
        cls,
        athena_client: AthenaClient,
        settings: Settings,
        s3_client: S3Client | None = None,
        *,
        session: boto3.Session | None = None,
        store: ObjectStore | None = None,
        botocore_config: Any = None,
        scratch_s3: S3Client | None = None,
    ) -> AthenaEngine:
        """The deployed stack's engine: workgroup, Glue database, awswrangler and budget from settings."""
        bucket = settings.athena_results_bucket
        output = f"s3://{bucket}/results/" if bucket else None
        budget = (
            ScanBudget(store, settings.athena_scan_budget_bytes)
            if store is not None and settings.athena_scan_budget_bytes > 0
            else None
        )
        return cls(
            athena_client,
            s3_client,
            settings.athena_workgroup,
            settings.glue_database,
            output,
            session=session,
            wrangler=settings.athena_wrangler and session is not None,
            budget=budget,
            botocore_config=botocore_config,
            unload_location=f"s3://{bucket}/unload/" if bucket else None,
            scratch_s3=scratch_s3,
        )

    def with_run_id(self, run_id: str) -> AthenaEngine:
        """The same engine, with start tokens tied to ``run_id`` (one per Lambda invocation or event)."""
        clone = AthenaEngine.__new__(AthenaEngine)
        clone.__dict__.update(self.__dict__)
        clone.run_id = run_id
        clone.scanned = []  # the run's own queries
        clone._consumed = set()
        return clone

    def request_token(self, sql: str, literals: Sequence[str]) -> str:
        """Idempotency token: SHA-256 of statement + parameters + run id (64 hex characters)."""
        run = self.run_id if self.run_id is not None else uuid.uuid4().hex
        payload = json.dumps([sql, list(literals), run, self.workgroup, self.database])
        return hashlib.sha256(payload.encode()).hexdigest()

    def _call(self, what: str, function: Callable[..., Any], **kwargs: Any) -> Any:
        """Call the Athena API, retrying throttling with exponential backoff."""
        from botocore.exceptions import ClientError

        delay = self.poll_initial_seconds
        for attempt in range(self.throttle_retries + 1):
            try:
                return function(**kwargs)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                if code not in _THROTTLED:
                    message = error.response.get("Error", {}).get("Message", str(error))
                    raise QueryError(f"Athena {what} failed ({code}): {message}") from error
                if attempt == self.throttle_retries:
                    raise QueryError(
                        f"Athena throttled {what} {self.throttle_retries + 1} times in a row ({code}); "
                        f"too many queries run at once in workgroup {self.workgroup!r}: run fewer in "
                        "parallel or raise the account's Athena query quota"
                    ) from error
                self.sleep(delay)
                delay = min(delay * 2, self.poll_max_seconds * 4)
        raise AssertionError("unreachable")

    def _raise_if_stale(self, execution_id: str, status: Mapping[str, Any], since: datetime) -> None:
        """A run-scoped token answered by an execution that ended before this attempt began: restart."""
        submitted = status.get("SubmissionDateTime")
        if self.run_id is None or not isinstance(submitted, datetime):
            return
        if submitted.astimezone(UTC) < since - _STALE_MARGIN:
            raise _StaleFailure(execution_id)

    def _wait(self, execution_id: str, sql: str, since: datetime) -> dict[str, Any]:
        delay, waited = self.poll_initial_seconds, 0.0
        while True:
            response = self._call(
                "GetQueryExecution", self.client.get_query_execution, QueryExecutionId=execution_id
            )
            execution: dict[str, Any] = response["QueryExecution"]
            status = execution.get("Status", {})
            state = status.get("State")
            if state == "SUCCEEDED":
                return execution
            if state in ("FAILED", "CANCELLED"):
                self._raise_if_stale(execution_id, status, since)
                reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage")
                hint = (
                    "fix the SQL or the table definitions, then re-run"
                    if state == "FAILED"
                    else "it was stopped (by a user, a workgroup limit or a timeout); re-run when ready"
                )
                raise QueryError(
                    f"Athena query {execution_id} {state}: {reason or 'no reason given'} (workgroup "
                    f"{self.workgroup}, database {self.database}; statement: {_summary(sql)}); {hint}"
                )
            if waited >= self.timeout_seconds:
                self._call(
                    "StopQueryExecution", self.client.stop_query_execution, QueryExecutionId=execution_id
                )
                raise QueryError(
                    f"Athena query {execution_id} still {state} after {waited:.0f} s; it was stopped. "
                    "Narrow the date range or raise timeout_seconds"
                )
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, self.poll_max_seconds)

    def _rows(
        self, execution_id: str, skip_header: bool
    ) -> tuple[list[dict[str, Any]], list[list[str | None]]]:
        columns: list[dict[str, Any]] = []
        rows: list[list[str | None]] = []
        token: str | None = None
        first = True
        while True:
            kwargs: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": self.page_size}
            if token:
                kwargs["NextToken"] = token
            page = self._call("GetQueryResults", self.client.get_query_results, **kwargs)
            result = page.get("ResultSet", {})
            if first:
                columns = list(result.get("ResultSetMetadata", {}).get("ColumnInfo", []))
            for index, row in enumerate(result.get("Rows", [])):
                values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
                if (
                    first
                    and index == 0
                    and skip_header
                    and values == [c.get("Label", c.get("Name")) for c in columns]
                ):
                    continue
                rows.append(values)
            first = False
            token = page.get("NextToken")
            if not token:
                return columns, rows

    def _rows_from_s3(self, execution: dict[str, Any]) -> tuple[list[dict[str, Any]], list[list[str | None]]]:
        """One GET of the result CSV instead of a GetQueryResults call per thousand rows."""
        assert self.s3 is not None
        meta = self._call(
            "GetQueryResults",
            self.client.get_query_results,
            QueryExecutionId=execution["QueryExecutionId"],
            MaxResults=1,
        )
        columns = list(meta.get("ResultSet", {}).get("ResultSetMetadata", {}).get("ColumnInfo", []))
        location = str(execution.get("ResultConfiguration", {}).get("OutputLocation", ""))
        bucket, _, key = location.removeprefix("s3://").partition("/")
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if not body.strip():
            return columns, []
        import pyarrow.csv as pacsv

        # Athena quotes every value and writes NULL as an empty, unquoted field.
        names = [f"c{i}" for i in range(len(columns))]
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        return columns, [list(row.values()) for row in table.to_pylist()]

    def query(self, sql: str, params: Mapping[str, SqlParam] | None = None) -> pa.Table:
        """The rows of a SELECT, typed from Athena's column types (its result CSV or result pages)."""
        text, literals = self._prepared(sql, params)
        return self._run(lambda _token: text, self.request_token(text, literals), literals, self._result)

    def unload(self, sql: str, params: Mapping[str, SqlParam] | None = None) -> pa.Table:
        """Rows that will be written to the lake: the whole result, no order promised (ADR 0015).

        The same positional statement as :meth:`query`, run as ``UNLOAD (…) TO '<scratch>/<token>/' WITH
        (format = 'PARQUET', compression = 'ZSTD')``: Athena writes the result as Parquet files (typed by
        the engine, nothing parsed from CSV), read back here with pyarrow and then deleted. The folder is
        named after the request token, so a retried run re-attaches to its running UNLOAD and a restarted
        one writes to a folder of its own (UNLOAD refuses a location that holds data). Files are written in
        parallel, unordered between them. An empty result writes no file and carries no column types, so
        it is typed by ``SELECT * FROM (…) WHERE false`` (no data read; at most Athena's 10 MB minimum).
        """
        if self.unload_location is None:
            raise QueryError(
                "this engine has no scratch location for UNLOAD output; set "
                "CONTACTLAKE_ATHENA_RESULTS_BUCKET (the stack's Athena results bucket: UNLOAD writes under "
                "its unload/ prefix)"
            )
        text, literals = self._prepared(sql, params)

        def statement(token: str) -> str:
            return (
                f"UNLOAD (\n{text}\n) TO '{self._scratch(token)}' "
                "WITH (format = 'PARQUET', compression = 'ZSTD')"
            )

        # The first token is the statement's without its folder (which is named after the token).
        written = self._run(statement, self.request_token(statement(""), literals), literals, self._unloaded)
        if written is not None:
            return written
        probe = f"SELECT * FROM (\n{text}\n) WHERE false"
        return self._run(lambda _token: probe, self.request_token(probe, literals), literals, self._result)

    def _prepared(self, sql: str, params: Mapping[str, SqlParam] | None) -> tuple[str, list[str]]:
        """The positional statement and its literals, once the run's scan budget has allowed it."""
        text, values = positional_statement(sql, params or {})
        if self.budget is not None:
            # A run is an engine scoped by with_run_id (runtime.for_run: the analyse function per event,
            # the report function per invocation, the API per request); an unscoped one checks each
            # query on its own.
            self.budget.check(sql, params or {}, self.bytes_scanned if self.run_id is not None else 0)
        return text, [sql_literal(v) for v in values]

    def _run(
        self,
        statement: Callable[[str], str],
        token: str,
        literals: list[str],
        read: Callable[[dict[str, Any], str, datetime], _T],
    ) -> _T:
        """Start ``statement(token)``, wait for it and ``read`` its execution, restarting under a derived
        token when the token is answered by an execution an earlier attempt used up (see the module)."""
        since = self.clock()
        for _ in range(_MAX_STALE_RESTARTS):
            try:
                execution = self._execute(statement(token), literals, token, since)
                return read(execution, token, since)
            except _StaleFailure as stale:
                token = hashlib.sha256(f"{token}:{stale.execution_id}".encode()).hexdigest()
        raise QueryError(
            f"Athena answered {_MAX_STALE_RESTARTS} restarts of one statement with executions that had "
            f"already failed or been used (workgroup {self.workgroup}; statement: "
            f"{_summary(statement(token))}); re-run the analysis"
        )

    def _execute(self, text: str, literals: list[str], token: str, since: datetime) -> dict[str, Any]:
        """Start the statement and wait for it to succeed (awswrangler or boto3); keep its bytes scanned."""
        if self.wrangler:
            execution = self._execute_with_wrangler(text, literals, token, since)
        else:
            execution = self._execute_with_boto3(text, literals, token, since)
        self.scanned.append(int(execution.get("Statistics", {}).get("DataScannedInBytes", 0)))
        return execution

    def _execute_with_boto3(
        self, text: str, literals: list[str], token: str, since: datetime
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "QueryString": text,
            "QueryExecutionContext": {"Database": self.database},
            "WorkGroup": self.workgroup,
            "ClientRequestToken": token,
        }
        if literals:
            request["ExecutionParameters"] = literals
        if self.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.output_location}
        started = self._call("StartQueryExecution", self.client.start_query_execution, **request)
        execution_id = started["QueryExecutionId"]
        return {"QueryExecutionId": execution_id, **self._wait(execution_id, text, since)}

    def _execute_with_wrangler(
        self, text: str, literals: list[str], token: str, since: datetime
    ) -> dict[str, Any]:
        """Start and wait with awswrangler: its polling (ADR 0015)."""
        wr = _wrangler(self.botocore_config)
        from botocore.exceptions import ClientError

        try:
            execution_id = wr.athena.start_query_execution(
                sql=text,
                database=self.database,
                s3_output=self.output_location,
                workgroup=self.workgroup,
                params=literals or None,
                paramstyle="qmark",
                client_request_token=token,
                boto3_session=self.session,
            )
            execution: dict[str, Any] = wr.athena.wait_query(
                execution_id,
                boto3_session=self.session,
                athena_query_wait_polling_delay=self.wait_poll_seconds,
            )
        except (wr.exceptions.QueryFailed, wr.exceptions.QueryCancelled) as error:
            # Only a run-scoped token can be answered with an earlier attempt's failure.
            if self.run_id is not None:
                failed = self._call(
                    "GetQueryExecution", self.client.get_query_execution, QueryExecutionId=execution_id
                )
                self._raise_if_stale(execution_id, failed["QueryExecution"].get("Status", {}), since)
            state = "CANCELLED" if isinstance(error, wr.exceptions.QueryCancelled) else "FAILED"
            hint = (
                "fix the SQL or the table definitions, then re-run"
                if state == "FAILED"
                else "it was stopped (by a user, a workgroup limit or a timeout); re-run when ready"
            )
            raise QueryError(
                f"Athena query {state}: {error or 'no reason given'} (workgroup {self.workgroup}, database "
                f"{self.database}; statement: {_summary(text)}); {hint}"
            ) from error
        except ClientError as error:
            raise self._refused(error) from error
        return {"QueryExecutionId": execution_id, **execution}

    def _refused(self, error: Any) -> QueryError:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        hint = (
            f"too many queries run at once in workgroup {self.workgroup!r}: run fewer in parallel or "
            "raise the account's Athena query quota"
            if code in _THROTTLED
            else "check the workgroup, the Glue tables and this function's role"
        )
        return QueryError(f"Athena refused the query ({code}): {message}; {hint}")

    def _result(
        self, execution: dict[str, Any], _token: str = "", _since: datetime | None = None
    ) -> pa.Table:
        """A SELECT's rows: awswrangler types Athena's result; the boto3 path types it here."""
        execution_id = execution["QueryExecutionId"]
        if self.wrangler:
            wr = _wrangler(self.botocore_config)
            from botocore.exceptions import ClientError

            try:
                frame = wr.athena.get_query_results(
                    execution_id, boto3_session=self.session, dtype_backend="pyarrow", use_threads=False
                )
            except ClientError as error:
                raise self._refused(error) from error
            return _arrow(frame)
        dml = execution.get("StatementType", "DML") == "DML"
        if self.s3 is not None and dml and execution.get("ResultConfiguration", {}).get("OutputLocation"):
            columns, rows = self._rows_from_s3(execution)
        else:
            columns, rows = self._rows(execution_id, skip_header=dml)
        return _table(columns, rows)

    def _scratch(self, token: str) -> str:
        """The UNLOAD folder of one request token, under :attr:`unload_location`."""
        return f"{str(self.unload_location).rstrip('/')}/{token}/"

    def _unloaded(self, execution: dict[str, Any], token: str, since: datetime) -> pa.Table | None:
        """The Parquet files an UNLOAD wrote, read and then deleted; None when it wrote none (no rows).

        An execution this engine has read already, or one that finished before this attempt began (an
        earlier attempt may have read and deleted its files), is started again (:class:`_StaleFailure`).
        """
        import pyarrow.parquet as pq
        from botocore.exceptions import ClientError

        execution_id = execution["QueryExecutionId"]
        finished = execution.get("Status", {}).get("CompletionDateTime")
        earlier = isinstance(finished, datetime) and finished.astimezone(UTC) < since - _STALE_MARGIN
        if execution_id in self._consumed or (self.run_id is not None and earlier):
            raise _StaleFailure(execution_id)
        s3 = self.scratch_s3
        if s3 is None:
            raise QueryError("reading UNLOAD output needs an S3 client; build the engine with scratch_s3")
        location = self._scratch(token)
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        try:
            keys = [
                item["Key"]
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for item in page.get("Contents", [])
            ]
            parts = [
                pq.read_table(
                    pa.BufferReader(s3.get_object(Bucket=bucket, Key=key)["Body"].read()),
                    coerce_int96_timestamp_unit="ms",
                )
                for key in keys
            ]
            for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 keys a call
                s3.delete_objects(
                    Bucket=bucket,
                    Delete={"Objects": [{"Key": key} for key in keys[start : start + 1000]], "Quiet": True},
                )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise QueryError(
                f"could not read or delete the UNLOAD output of Athena query {execution_id} at {location} "
                f"({code}); check this function's role on that prefix and the data key"
            ) from error
        self._consumed.add(execution_id)
        return _plain_table(pa.concat_tables(parts)) if parts else None


def _wrangler(botocore_config: Any) -> Any:
    """awswrangler, imported at the first query (with pandas ~0.7 s, paid only by functions that query).

    Its clients get the same botocore ``Config`` as every other client (``adapters.aws.boto_config``:
    standard retry mode), when one is given.
    """
    import awswrangler as wr

    if botocore_config is not None:
        wr.config.botocore_config = botocore_config
    return wr


def _arrow(frame: Any) -> pa.Table:
    """awswrangler's DataFrame (Arrow-backed columns) as the Arrow table the engines return.

    Timestamps come back in nanoseconds and text as large strings; Athena's are milliseconds and the
    other engines return plain strings.
    """
    return _plain_table(pa.Table.from_pandas(frame, preserve_index=False))


def _plain_table(table: pa.Table) -> pa.Table:
    """Millisecond timestamps and plain strings, as Athena's types map (:func:`arrow_type`), no metadata."""
    table = table.replace_schema_metadata(None)
    return table.cast(pa.schema([f.with_type(_plain(f.type)) for f in table.schema]))


def _plain(type_: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(type_):
        return pa.timestamp("ms", tz=type_.tz)
    if pa.types.is_large_string(type_):
        return pa.string()
    return type_


def _summary(sql: str) -> str:
    """The statement's first words, without comments, for an error message."""
    text = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    text = re.sub(r"--[^\n]*", " ", text)
    flat = " ".join(text.split())
    return flat[:120] + ("…" if len(flat) > 120 else "")
