"""Issue 17: a window too big for one query's memory is materialised one chunk of whole months at a time,
and the aggregates are the same bytes as one query over the window would write.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import aggregates, materialise_kpis
from contactlake.analyse.aggregates import month_chunks
from contactlake.config import Settings
from contactlake.ports import Ports
from contactlake.tables import CURATED_TABLES, KPI_AGENT_DAILY, KPI_DAILY, KPI_INTERVAL
from tests.functional.analyse.conftest import SampleLake

CONTACTS = CURATED_TABLES["contacts"]
#: The sample's fortnight (2 to 15 November 2026) is copied 44 and 14 days earlier (19 September to
#: 2 October, 19 October to 1 November): the same customers calling on across each month's end, so a
#: chunk's first-contact resolution needs the next chunk's first days.
SHIFTS = (44, 14)


def _shifted(table: pa.Table, days: int) -> pa.Table:
    """The same contacts ``days`` earlier: every instant moved, every id made new."""
    by = pa.scalar(timedelta(days=-days), pa.duration("ms"))
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            column = pc.add(column, pa.scalar(by.as_py(), pa.duration(field.type.unit))).cast(field.type)
        elif field.name == "contact_id":
            column = pc.binary_join_element_wise(column, pa.scalar(f"-{days}"), "")
        columns.append(column)
    return pa.table(columns, schema=table.schema)


def _three_months(sample_lake: SampleLake, tmp_path: Path) -> tuple[Ports, Path]:
    home = tmp_path / "lake"
    shutil.copytree(sample_lake.settings.home, home)
    shutil.rmtree(home / "lake" / "aggregates")
    folder = home / CONTACTS.area / CONTACTS.prefix / "centre_id=north"
    for day_folder in sorted(folder.glob("contact_date=*")):
        day = date.fromisoformat(day_folder.name.split("=", 1)[1])
        for shift in SHIFTS:
            target = folder / f"contact_date={day - timedelta(days=shift)}"
            target.mkdir()
            for file in day_folder.glob("*.parquet"):
                pq.write_table(_shifted(pq.read_table(file), shift), target / file.name)
    return build_local_ports(Settings(home=home)), home


def _aggregate_files(home: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for table in (KPI_INTERVAL, KPI_DAILY, KPI_AGENT_DAILY):
        folder = home / table.area / table.prefix
        found |= {f"{table.name}/{p.relative_to(folder)}": p.read_bytes() for p in folder.rglob("*.parquet")}
    return found


def test_chunks_are_whole_months_under_the_budget(sample_lake: SampleLake, tmp_path: Path) -> None:
    ports, home = _three_months(sample_lake, tmp_path)
    window = (date(2026, 9, 1), date(2026, 11, 30))
    folder = home / CONTACTS.area / CONTACTS.prefix / "centre_id=north"
    month_bytes = sum(p.stat().st_size for p in folder.glob("contact_date=2026-10-*/*.parquet"))

    assert month_chunks(ports, CONTACTS, "north", *window, budget_bytes=10 * month_bytes) == [window]
    assert month_chunks(ports, CONTACTS, "north", *window, budget_bytes=month_bytes) == [
        (date(2026, 9, 1), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 30)),
    ]
    # Two months fit, the third starts a chunk; a month over the budget alone is still one chunk.
    assert month_chunks(ports, CONTACTS, "north", *window, budget_bytes=2 * month_bytes + 1) == [
        (date(2026, 9, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 30)),
    ]
    assert month_chunks(ports, CONTACTS, "north", date(2026, 10, 10), date(2026, 11, 3), budget_bytes=1) == [
        (date(2026, 10, 10), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 3)),
    ]
    # Months with no files cost nothing: an empty centre is one chunk.
    assert month_chunks(ports, CONTACTS, "south", *window, budget_bytes=1) == [window]


def test_chunked_materialisation_writes_the_bytes_of_one_query(
    sample_lake: SampleLake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = (date(2026, 9, 1), date(2026, 11, 30))
    ports, home = _three_months(sample_lake, tmp_path / "one")
    whole = materialise_kpis(ports, sample_lake.centre, *window)
    one_query = _aggregate_files(home)

    ports, home = _three_months(sample_lake, tmp_path / "chunked")
    monkeypatch.setattr(aggregates, "MATERIALISE_BYTES_PER_QUERY", 1)
    queries: list[str] = []
    inner = ports.engine.unload

    def recording(sql: str, params: Any = None) -> pa.Table:
        queries.append(sql)
        return inner(sql, params)

    monkeypatch.setattr(ports.engine, "unload", recording)
    chunked = materialise_kpis(ports, sample_lake.centre, *window)

    assert len([q for q in queries if "contacts" in q]) == 3  # one per month
    assert chunked == whole
    assert sorted(one_query) == sorted(_aggregate_files(home))
    assert len(one_query) == 9  # three tables x three month files
    assert one_query == _aggregate_files(home)
    fcr = pq.read_table(home / KPI_DAILY.area / KPI_DAILY.prefix).column("fcr_resolved")
    assert pc.sum(fcr).as_py() > 0


def test_each_chunk_is_queried_while_the_one_before_is_written_in_order() -> None:
    """The writer overlaps the next query; writes stay one at a time, in chunk order."""
    import threading

    chunks = [(date(2026, m, 1), date(2026, m, 28)) for m in (1, 2, 3)]
    written: list[date] = []
    first_write_started, second_query_ran = threading.Event(), threading.Event()

    def query(first: date, last: date) -> pa.Table:
        if first.month == 2:
            assert first_write_started.wait(5)
            second_query_ran.set()
        return pa.table({"month": [first.month]})

    def write(result: pa.Table, first: date, last: date) -> int:
        if first.month == 1:
            first_write_started.set()
            assert second_query_ran.wait(5), "the second chunk's query did not run during the first write"
        written.append(first)
        return int(result.column("month")[0].as_py())

    assert aggregates._query_while_writing(chunks, query, write) == [1, 2, 3]
    assert written == [first for first, _ in chunks]


def test_a_failed_write_is_raised_and_nothing_after_it_is_written() -> None:
    chunks = [(date(2026, m, 1), date(2026, m, 28)) for m in (1, 2, 3)]
    queried: list[int] = []
    written: list[int] = []

    def query(first: date, last: date) -> pa.Table:
        queried.append(first.month)
        return pa.table({"month": [first.month]})

    def write(result: pa.Table, first: date, last: date) -> None:
        if first.month == 1:
            raise OSError("disk full")
        written.append(first.month)

    with pytest.raises(OSError, match="disk full"):
        aggregates._query_while_writing(chunks, query, write)
    assert written == []
    assert queried == [1, 2]
