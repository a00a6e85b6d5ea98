"""Materialised aggregates: computed nightly and after each upload, read by reports, the API and BI tools.

Reports and dashboards read these (kilobytes a day) instead of scanning the contact lake. Every table is
declared in :mod:`contactlake.tables` with an explicit schema, partitioned by centre and local month (the
KPI and staffing aggregates: one sorted file per centre-month) or local day; this module writes the ones
measured from the detail (the SQL models in ``sql/marts/``), one query per model over the whole window,
and :mod:`contactlake.analyse.run` runs every model in the order their reads require. The days of the
window are replaced whole (the other days of a month file are kept) under fixed names, and nothing
time-dependent is written, so re-running an analysis writes identical bytes.

A window too big for one query's memory (a year of a large centre) is cut into runs of whole months
(:func:`month_chunks`); a nightly run, a few days, is one query per model.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from contactlake.analyse.common import (
    INTERVAL_MINUTES,
    check_choice,
    days_between,
    fcr_lookahead_days,
    range_params,
    run_sql,
)
from contactlake.commit.lease import commit_lease
from contactlake.config import CentreConfig
from contactlake.lake import parquet_bytes, partition_prefix
from contactlake.ports import Ports, SqlParam
from contactlake.tables import (
    AGENT_STATE_INTERVAL,
    CURATED_TABLES,
    KPI_AGENT_DAILY,
    KPI_DAILY,
    KPI_INTERVAL,
    LakeTable,
)

__all__ = [
    "DETAIL_MODELS",
    "MaterialiseResult",
    "detail_kpis",
    "materialise_agent_state_interval",
    "materialise_contact_kpis",
    "month_chunks",
    "write_days",
]

#: The SQL models that measure KPIs from the contact detail (all built on int_contacts_classified.sql).
DETAIL_MODELS = ("kpi_interval", "kpi_agent_interval", "test_contact_kpis")

#: The most detail (Parquet bytes on disk) one materialising query reads. The engine holds every first
#: leg of its window in the first-contact-resolution sort and the grouped result at once, so memory
#: follows the window. Measured on DuckDB, a 3M-contact centre-year (108 MB of contacts), peak RSS of
#: the process: one query 920 MB; chunks of at most 48 MiB 1,040 MB (DuckDB keeps its buffers between
#: queries), 24 MiB 660 MB, 16 MiB 530 MB; each further query costs about 0.3 s (the files listed again,
#: the look-ahead days read twice). 24 MiB keeps the KPI benchmark under 1 GB (docs/benchmarks.md); the
#: analyse Lambda holds the same results in its memory. A nightly run (a few days) is one query.
MATERIALISE_BYTES_PER_QUERY = 24 * 1024 * 1024
#: What one chunk's write returns (:func:`_query_while_writing`).
Written = TypeVar("Written")
_CONTACTS, _AGENT_ACTIVITY = CURATED_TABLES["contacts"], CURATED_TABLES["agent_activity"]


@dataclass(frozen=True)
class MaterialiseResult:
    centre_id: str
    table: str
    days: int
    rows: int


def write_days(
    ports: Ports, table: LakeTable, centre_id: str, result: pa.Table, days: Iterable[date]
) -> MaterialiseResult:
    """Replace each of ``days`` in the table with the rows of ``result`` (keyed by its ``contact_date``).

    Tables kept by month (:attr:`LakeTable.by_month`) get one sorted file per month the days touch: a
    month the days cover whole is written from ``result`` alone; otherwise the month's other days are
    read back from its file and kept. Tables kept by day get one file per day. A day with no rows is
    removed (a month with none left loses its file), so a re-analysis never leaves stale aggregates.
    """
    days = sorted(set(days))
    dates = pc.cast(result.column("contact_date"), pa.date32())
    body = result.select(table.schema.names).cast(table.schema)
    if table.by_month:
        written, partitions = _write_months(ports, table, centre_id, body, dates, days)
    else:
        written, partitions = _write_each_day(ports, table, centre_id, body, dates, days)
    ports.catalog.add_partitions(table.name, partitions)
    return MaterialiseResult(centre_id, table.name, len(days), written)


def _write_each_day(
    ports: Ports, table: LakeTable, centre_id: str, body: pa.Table, dates: pa.ChunkedArray, days: list[date]
) -> tuple[int, list[dict[str, str]]]:
    written, partitions = 0, []
    for day in days:
        key = f"{partition_prefix(table, {'centre_id': centre_id, 'contact_date': day})}/part-0.parquet"
        rows = body.filter(pc.equal(dates, pa.scalar(day, pa.date32())))
        if rows.num_rows:
            ports.store.put("lake", key, parquet_bytes(rows))
            partitions.append({"centre_id": centre_id, "contact_date": str(day)})
            written += rows.num_rows
        else:
            ports.store.delete("lake", [key])
    return written, partitions


def _write_months(
    ports: Ports, table: LakeTable, centre_id: str, body: pa.Table, dates: pa.ChunkedArray, days: list[date]
) -> tuple[int, list[dict[str, str]]]:
    """One sorted file per month the days touch; a partly recomputed month keeps its other days.

    Each month's file is read, changed and written under a lease of that centre, table and month (the
    commit lease, :mod:`contactlake.commit.lease`): two analyses of the same month at once — an upload's
    and the nightly run — would otherwise each keep the other's days as they were before, and the later
    write would lose the earlier run's days.
    """
    written, partitions = 0, []
    months: dict[date, list[date]] = {}
    for day in days:
        months.setdefault(day.replace(day=1), []).append(day)
    holder = f"analysis-{uuid.uuid4().hex}"
    for month, recomputed in months.items():
        with commit_lease(ports.store, centre_id, f"analysis/{table.name}/{month}", holder):
            rows = _write_month(ports, table, centre_id, body, dates, month, recomputed)
        if rows:
            partitions.append({"centre_id": centre_id, "contact_month": str(month)})
            written += rows
    return written, partitions


def _write_month(
    ports: Ports,
    table: LakeTable,
    centre_id: str,
    body: pa.Table,
    dates: pa.ChunkedArray,
    month: date,
    recomputed: list[date],
) -> int:
    """Replace the ``recomputed`` days of one month file; the rows it now holds (0: file removed)."""
    import pyarrow.parquet as pq

    from contactlake.ports import ObjectNotFound

    key = f"{partition_prefix(table, {'centre_id': centre_id, 'contact_month': month})}/part-0.parquet"
    in_month = pc.and_(
        pc.greater_equal(dates, pa.scalar(recomputed[0], pa.date32())),
        pc.less_equal(dates, pa.scalar(recomputed[-1], pa.date32())),
    )
    rows = body.filter(in_month)
    if len(recomputed) < _days_in_month(month):
        try:
            kept = pq.read_table(pa.BufferReader(ports.store.get("lake", key)), schema=table.schema)
        except ObjectNotFound:
            kept = None
        if kept is not None:
            replaced = pa.array(recomputed, pa.date32())
            kept = kept.filter(pc.invert(pc.is_in(kept.column("contact_date"), value_set=replaced)))
            rows = pa.concat_tables([kept, rows])
    if not rows.num_rows:
        ports.store.delete("lake", [key])
        return 0
    rows = rows.sort_by([(column, "ascending") for column in table.sort_by])
    ports.store.put("lake", key, parquet_bytes(rows))
    return int(rows.num_rows)


def _days_in_month(month: date) -> int:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - month).days


def month_chunks(
    ports: Ports,
    detail: LakeTable,
    centre_id: str,
    date_from: date,
    date_to: date,
    budget_bytes: int | None = None,
) -> list[tuple[date, date]]:
    """The window cut into runs of whole calendar months whose ``detail`` files hold at most ``budget_bytes``
    (default :data:`MATERIALISE_BYTES_PER_QUERY`).

    The sizes come from listing the centre's partitions of ``detail`` (partitioned by centre and local
    date) one month of the window at a time (``contact_date=2026-11-``: one S3 LIST a month, not the
    centre's whole history); a window within one month is one chunk without a listing. A chunk ends on a
    month's last day (or the window's end), so each month file of the aggregates is written whole by one
    query, never read back and merged; a month over the budget on its own is a chunk by itself. Chunks
    cover the window exactly, in order.
    """
    budget = MATERIALISE_BYTES_PER_QUERY if budget_bytes is None else budget_bytes
    months = [date_from.replace(day=1)]
    while (following := (months[-1].replace(day=28) + timedelta(days=4)).replace(day=1)) <= date_to:
        months.append(following)
    if len(months) == 1:
        return [(date_from, date_to)]
    day_column = detail.partition_names[1]
    chunks: list[tuple[date, date]] = []
    start, used = date_from, 0
    for month in months:
        prefix = f"{detail.prefix}/centre_id={centre_id}/{day_column}={month:%Y-%m}-"
        size = sum(
            info.size
            for info in ports.store.list(detail.area, prefix)
            if date_from <= (_partition_date(info.key, day_column) or date.min) <= date_to
        )
        if used and used + size > budget:
            chunks.append((start, month - timedelta(days=1)))
            start, used = month, 0
        used += size
    chunks.append((start, date_to))
    return chunks


def _partition_date(key: str, column: str) -> date | None:
    for part in key.split("/"):
        name, _, value = part.partition("=")
        if name == column:
            try:
                return date.fromisoformat(value)
            except ValueError:
                return None
    return None


def _classify_params(
    centre: CentreConfig, date_from: date, date_to: date, grain_minutes: int
) -> dict[str, SqlParam]:
    """What intermediate/int_contacts_classified.sql takes, and the centre's SL variant."""
    return {
        **range_params(centre, date_from, date_to),
        "lookahead_to": (date_to + timedelta(days=fcr_lookahead_days(centre))).isoformat(),
        "grain_minutes": grain_minutes,
        "sl_threshold_seconds": centre.service_level.threshold_seconds,
        "short_abandon_seconds": centre.short_abandon_seconds,
        "fcr_window_hours": centre.fcr_window_hours,
    }


def detail_kpis(
    ports: Ports,
    centre: CentreConfig,
    model: str,
    date_from: date,
    date_to: date,
    grain_minutes: int = INTERVAL_MINUTES,
    queue: str | None = None,
    channel: str | None = None,
    *,
    unload: bool = False,
) -> pa.Table:
    """A KPI model over the contact detail: ``kpi_interval`` (the three grouping sets materialised),
    ``kpi_agent_interval`` (filtered by ``queue`` / ``channel``) or ``test_contact_kpis`` (see each file's
    header). ``unload`` when the rows go to the lake (:func:`run_sql`)."""
    check_choice(model, DETAIL_MODELS, "KPI model")
    params = {
        **_classify_params(centre, date_from, date_to, grain_minutes),
        "queue": queue or "",
        "channel": channel or "",
    }
    return run_sql(ports, model, params, unload=unload)


def materialise_contact_kpis(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date
) -> list[MaterialiseResult]:
    """kpi_interval, kpi_daily and kpi_agent_daily from one query (marts/kpi_interval.sql's grouping sets).

    The contacts are scanned and classified once for the three tables (first-contact resolution is the
    costly part); a day's row of kpi_daily is the sum of its intervals because both are sums of the same
    classified contacts. A long window runs as one such query per chunk of months (:func:`month_chunks`).
    """
    tables = ((KPI_INTERVAL, "interval"), (KPI_DAILY, "day"), (KPI_AGENT_DAILY, "agent_day"))

    def write(measured: pa.Table, first: date, last: date) -> dict[str, int]:
        grain_set = measured.column("grain_set")
        return {
            table.name: write_days(
                ports,
                table,
                centre.centre_id,
                measured.filter(pc.equal(grain_set, name)),
                days_between(first, last),
            ).rows
            for table, name in tables
        }

    written = _query_while_writing(
        month_chunks(ports, _CONTACTS, centre.centre_id, date_from, date_to),
        lambda first, last: detail_kpis(ports, centre, "kpi_interval", first, last, unload=True),
        write,
    )
    rows = {table.name: sum(chunk[table.name] for chunk in written) for table, _ in tables}
    days = len(days_between(date_from, date_to))
    return [MaterialiseResult(centre.centre_id, table.name, days, rows[table.name]) for table, _ in tables]


def materialise_agent_state_interval(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date
) -> MaterialiseResult:
    """agent_state_interval from the agents' activity: a query per chunk of months (:func:`month_chunks`)."""

    def query(first: date, last: date) -> pa.Table:
        params = {
            **range_params(centre, first, last),
            "activity_from": (first - timedelta(days=1)).isoformat(),
            "grain_minutes": INTERVAL_MINUTES,
        }
        return run_sql(ports, "agent_state_interval", params, unload=True)

    def write(states: pa.Table, first: date, last: date) -> int:
        return write_days(
            ports, AGENT_STATE_INTERVAL, centre.centre_id, states, days_between(first, last)
        ).rows

    chunks = month_chunks(ports, _AGENT_ACTIVITY, centre.centre_id, date_from, date_to)
    rows = sum(_query_while_writing(chunks, query, write))
    return MaterialiseResult(
        centre.centre_id, AGENT_STATE_INTERVAL.name, len(days_between(date_from, date_to)), rows
    )


def _query_while_writing(
    chunks: list[tuple[date, date]],
    query: Callable[[date, date], pa.Table],
    write: Callable[[pa.Table, date, date], Written],
) -> list[Written]:
    """Run ``query`` for each chunk and ``write`` its result, the next chunk's query running meanwhile;
    what each write returned, in chunk order.

    Writing a chunk (filtering, sorting and serialising the month files, then storing them) is Python
    and Arrow work the engine would otherwise wait for; on one writer thread it overlaps the next
    chunk's query (DuckDB, or Athena's round trip). Chunks are written one at a time and in order, and at
    most two chunks' results are held. A failed write is raised once the query running beside it ends,
    before anything more is written; a failed query waits for the write in progress, then is raised.
    The writer touches only the store and the catalogue, whose boto3 clients are made once and may be
    shared between threads; the engine (and its boto3 session) stays on the calling thread.
    """
    written: list[Written] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aggregates-writer") as writer:
        writing: Future[Written] | None = None
        for first, last in chunks:
            result = query(first, last)
            if writing is not None:
                written.append(writing.result())
            writing = writer.submit(write, result, first, last)
        if writing is not None:
            written.append(writing.result())
    return written
