"""The local query engine: DuckDB running the Athena SQL over views of the lake's Parquet files."""

from __future__ import annotations

import json
import re
import threading
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pyarrow as pa

from contactlake.adapters.local.store import LocalObjectStore
from contactlake.config import CENTRE_ID_PATTERN
from contactlake.ports import QueryError, SqlParam
from contactlake.tables import LakeTable, all_tables

if TYPE_CHECKING:
    import duckdb

__all__ = ["DuckDBEngine", "upgrade_files"]

_CENTRE_ID = re.compile(CENTRE_ID_PATTERN)
# DuckDB warns that an execute result is copied into Arrow: wanted for the reads (DuckDBEngine.query).
# A filter for this module's calls only, set once: warnings.catch_warnings() per query is not thread-safe.
warnings.filterwarnings(
    "ignore", "Arrow output on a DB-API result", UserWarning, module=r"contactlake\.adapters\.local\.engine"
)


class DuckDBEngine:
    """Executes the Athena-dialect SQL on DuckDB, over views of the lake's Parquet files.

    One in-process database per engine (opening one is not free). A view over a glob lists its files
    again each time a query uses it, so files written since — by this or another process — are always
    seen; a view is re-created only when its table gains its first files or loses its last ones (an
    empty table is a typed empty view, as a glob matching nothing is an error). Re-creating every view
    before every query cost about a fifth of an API request. A lock serialises queries: a local engine
    serves one user, and DuckDB connections are not shared between threads.
    """

    def __init__(self, store: LocalObjectStore, threads: int | None = None) -> None:
        self.store = store
        self.threads = threads
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        #: Evolved tables whose files this engine has checked are at the current schema version.
        self._upgraded: set[str] = set()
        #: The view each table has now in the database (its CREATE statement).
        self._views: dict[str, str] = {}
        #: Whether the connection preserves insertion order now (set per statement by _run).
        self._preserving_order: bool | None = None

    def _view_sql(self, table: LakeTable, centre_id: str | None = None) -> str:
        """A view with the table's canonical columns and types over whatever files the lake holds.

        With ``centre_id`` the view covers that centre's partition only (see :meth:`query`).
        """
        folder = self.store.root / table.area / table.prefix
        names = table.partition_names
        if centre_id is not None:
            folder, names = folder / f"centre_id={centre_id}", names[1:]
        # Named partition folders: files of an older layout (aggregates by contact_date before they were
        # kept by contact_month) are not read, as Athena reads only the registered partitions.
        depth = "/".join(f"{name}=*" for name in names)
        pattern = f"{folder.as_posix()}/{depth}/*.parquet"
        canonical = self._typed_empty(table)
        if not any(folder.glob(f"{depth}/*.parquet")):
            return f"CREATE OR REPLACE VIEW {table.name} AS {canonical}"
        if table.evolved and table.name not in self._upgraded:
            upgrade_files(self.store, table)
            self._upgraded.add(table.name)
        types = ", ".join(f"'{name}': {sql_type}" for name, sql_type in table.partitions)
        escaped = pattern.replace("'", "''")
        files = f"read_parquet('{escaped}', hive_partitioning = true, hive_types = {{{types}}})"
        return f"CREATE OR REPLACE VIEW {table.name} AS {canonical} UNION ALL BY NAME SELECT * FROM {files}"

    @staticmethod
    def _typed_empty(table: LakeTable) -> str:
        columns = [f"CAST(NULL AS {_duck_type(f.type)}) AS {f.name}" for f in table.schema]
        columns += [f"CAST(NULL AS {sql_type}) AS {name}" for name, sql_type in table.partitions]
        return f"SELECT {', '.join(columns)} WHERE false"

    def connect(
        self, tables: set[str] | None = None, one_centre: Mapping[str, str] | None = None
    ) -> duckdb.DuckDBPyConnection:
        """The engine's connection with fresh views for ``tables`` (default: every lake table and BI view).

        ``one_centre`` maps tables to the centre whose partition alone their view covers (:meth:`query`).

        DuckDB (and sqlglot) are imported on the first query, not with the module: ingesting an upload
        never queries, and the two take a noticeable share of a short run to import. Whether insertion
        order is preserved is set per statement (:meth:`_run`). Parquet footers are cached between
        queries (DuckDB checks each file's modification before using its entry): a year read for five
        centres opens the same month files for every grain.
        """
        import duckdb

        if self._connection is None:
            self._connection = duckdb.connect(":memory:")
            self._connection.execute("SET TimeZone = 'UTC'")
            self._connection.execute("SET parquet_metadata_cache = true")
            if self.threads:
                self._connection.execute(f"SET threads = {int(self.threads)}")
        from contactlake import sqlfiles

        # The BI views (sql/views) are views here too, over the lake tables they read.
        views = [v for v in sqlfiles.sql_names("views") if tables is None or v in tables]
        wanted = None if tables is None else set(tables)
        for view in views:
            if wanted is not None:
                wanted |= sqlfiles.referenced_tables(sqlfiles.load_sql(view))
        scoped = one_centre or {}
        for name, table in all_tables().items():
            if wanted is None or name in wanted:
                view = self._view_sql(table, scoped.get(name))
                if self._views.get(name) != view:
                    self._connection.execute(view)
                    self._views[name] = view
        for name in views:
            text, _ = sqlfiles.for_duckdb(sqlfiles.load_sql(name), {})
            view = f"CREATE OR REPLACE VIEW {name} AS {text}"
            if self._views.get(name) != view:
                self._connection.execute(view)
                self._views[name] = view
        return self._connection

    def query(self, sql: str, params: Mapping[str, SqlParam] | None = None) -> pa.Table:
        """A read (the API, reports, checks): bound once through DuckDB's execute path, insertion order kept.

        The relation path (``con.sql``) binds a statement twice; for the reads, kilobytes to a few MB,
        binding once took 7-25 % off reading a grain for five centres (docs/benchmarks.md), and DuckDB's
        copy of an execute result into Arrow costs little at these sizes. That path loses an ORDER BY's
        order when insertion order is not preserved (82 of 480 reads of the demo lake came back out of
        order), so reads keep it (tests/functional/analyse/test_read_order.py).
        """
        return self._run(sql, params, read=True)

    def unload(self, sql: str, params: Mapping[str, SqlParam] | None = None) -> pa.Table:
        """Rows for the lake (a materialisation, up to hundreds of MB): the relation path, which hands the
        result over without a copy (the copy raised a year's materialisation peak by 150-180 MB), with
        insertion order not preserved, as on Athena (no order is promised: the writer sorts), which ran a
        year's materialisation 15 % faster in less memory. DuckDB hands back typed Arrow already; on
        Athena an UNLOAD exists to get that."""
        return self._run(sql, params, read=False)

    def _run(self, sql: str, params: Mapping[str, SqlParam] | None, *, read: bool) -> pa.Table:
        import duckdb

        from contactlake import sqlfiles

        params = params or {}
        text, bound = sqlfiles.for_duckdb(sql, params)
        with self._lock:
            # Only the tables the statement reads get a view: a view over a glob reads every footer.
            con = self.connect(sqlfiles.referenced_tables(sql), self._one_centre(sql, params))
            if self._preserving_order is not read:
                con.execute(f"SET preserve_insertion_order = {'true' if read else 'false'}")
                self._preserving_order = read
            try:
                if read:
                    return con.execute(text, bound).to_arrow_table()
                return con.sql(text, params=bound).to_arrow_table()
            except duckdb.Error as error:
                raise QueryError(f"query failed on DuckDB: {error}") from error

    @staticmethod
    def _one_centre(sql: str, params: Mapping[str, SqlParam]) -> dict[str, str]:
        """The tables this statement reads for one centre only, each mapped to that centre.

        DuckDB lists every file under a view's glob before it prunes partitions: a query of one centre
        over a five-centre year of contacts listed 1,825 files for each of its scans (0.1 s each, growing
        with the lake's history). A table the statement filters on ``centre_id = :centre_id`` wherever it
        reads it (:func:`contactlake.sqlfiles.centre_filtered_tables`) gets a view of that centre's folder
        instead; the rows left out are rows the statement drops. Not when a BI view of the statement reads
        the table too (the BI view would see only that centre), nor for a value that is not a centre id.
        """
        from contactlake import sqlfiles

        centre = params.get("centre_id")
        if not isinstance(centre, str) or not _CENTRE_ID.match(centre):
            return {}
        read = sqlfiles.referenced_tables(sql)
        by_views = set().union(
            *(
                sqlfiles.referenced_tables(sqlfiles.load_sql(v))
                for v in sqlfiles.sql_names("views")
                if v in read
            )
        )
        tables = all_tables()
        return {
            name: centre
            for name in sqlfiles.centre_filtered_tables(sql) - by_views
            if name in tables and tables[name].partition_names[:1] == ("centre_id",)
        }


def upgrade_files(store: LocalObjectStore, table: LakeTable) -> int:
    """Give a local table's files written under an older schema version the columns added since.

    Athena reads Parquet by column name against the Glue table, so there an old file's missing column is
    simply NULL. DuckDB takes a glob's columns from its first file, unless told to union every file by
    name — which reads every footer on every query (docs/benchmarks.md has the cost). So a
    local lake is brought up to date once instead: each file's footer is checked, a file lacking columns
    is rewritten with them as NULL (curated files are derived data; raw uploads are never touched), and
    ``<home>/.schema/<table>.json`` records the version checked, so later calls cost one small read.
    Returns the number of files rewritten.
    """
    from contactlake import schema
    from contactlake.lake import parquet_bytes

    marker = store.root / ".schema" / f"{table.name}.json"
    try:
        if json.loads(marker.read_text(encoding="utf-8"))["schema_version"] == schema.SCHEMA_VERSION:
            return 0
    except (FileNotFoundError, ValueError, KeyError):
        pass
    import pyarrow.parquet as pq

    rewritten = 0
    depth = "/".join("*" for _ in table.partitions)
    for path in sorted((store.root / table.area / table.prefix).glob(f"{depth}/*.parquet")):
        present = set(pq.read_schema(path).names)
        if all(column.name in present for column in table.schema):
            continue
        data = pq.ParquetFile(path).read()
        columns = [
            data.column(column.name) if column.name in present else pa.nulls(data.num_rows, column.type)
            for column in table.schema
        ]
        metadata = {**(data.schema.metadata or {}), b"contactlake.schema_version": str(schema.SCHEMA_VERSION)}
        upgraded = pa.Table.from_arrays(columns, schema=table.schema.with_metadata(metadata))
        store.put(table.area, path.relative_to(store.root / table.area).as_posix(), parquet_bytes(upgraded))
        rewritten += 1
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"schema_version": schema.SCHEMA_VERSION}), encoding="utf-8")
    return rewritten


def _duck_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_integer(arrow_type):
        return "INTEGER"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_date(arrow_type):
        return "DATE"
    return "VARCHAR"
