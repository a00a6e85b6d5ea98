"""Issue 17: the KPI aggregates are measured in one pass per window and kept as one sorted file per
centre-month; a nightly run over a few days replaces those days and leaves the rest of the month as it was.
"""

from __future__ import annotations

import shutil
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import materialise_kpis, run_analysis
from contactlake.analyse.aggregates import write_days
from contactlake.config import Settings
from contactlake.sqlfiles import referenced_tables
from contactlake.tables import AGGREGATE_TABLES, KPI_AGENT_DAILY, KPI_DAILY, KPI_INTERVAL, LakeTable
from tests.functional.analyse.conftest import SampleLake


def _files(home: Path, table: LakeTable) -> dict[str, bytes]:
    folder = home / table.area / table.prefix
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def _copy(sample_lake: SampleLake, tmp_path: Path) -> Any:
    home = tmp_path / "lake"
    shutil.copytree(sample_lake.settings.home, home)
    return build_local_ports(Settings(home=home)), home


class _Recording:
    """The local engine, keeping the tables each query read."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.reads = inner, []

    def query(self, sql: str, params: Any = None) -> pa.Table:
        self.reads.append(referenced_tables(sql))
        return self.inner.query(sql, params)

    def unload(self, sql: str, params: Any = None) -> pa.Table:
        """A materialising statement's reads are kept as any other query's."""
        return self.query(sql, params)


def test_kpi_tables_are_one_sorted_file_per_centre_month(sample_lake: SampleLake) -> None:
    home = sample_lake.settings.home
    for table in (t for t in AGGREGATE_TABLES if t.by_month):
        files = _files(home, table)
        assert list(files) == ["centre_id=north/contact_month=2026-11-01/part-0.parquet"], table.name
        data = pq.read_table(home / table.area / table.prefix / next(iter(files)))
        assert data.schema.names == table.schema.names
        assert data.num_rows > 0
        days = pc.unique(data.column("contact_date")).to_pylist()
        assert all(day.replace(day=1) == date(2026, 11, 1) for day in days)
        assert data.equals(data.sort_by([(column, "ascending") for column in table.sort_by]))


def test_the_contacts_are_read_once_for_the_three_kpi_tables(sample_lake: SampleLake, tmp_path: Path) -> None:
    ports, _ = _copy(sample_lake, tmp_path)
    ports.engine = _Recording(ports.engine)
    results = materialise_kpis(ports, sample_lake.centre, sample_lake.date_from, sample_lake.date_to)
    assert {r.table for r in results} == {
        "kpi_interval",
        "kpi_daily",
        "kpi_agent_daily",
        "agent_state_interval",
    }
    assert [reads for reads in ports.engine.reads if "contacts" in reads] == [{"contacts"}]
    assert len(ports.engine.reads) == 2  # the contacts once, the agents' time once


def test_a_day_of_kpi_daily_is_the_sum_of_its_intervals(sample_lake: SampleLake) -> None:
    engine = sample_lake.ports.engine
    summed = engine.query(
        "SELECT contact_date, queue, channel, sum(offered) AS offered, sum(answered) AS answered, "
        "sum(fcr_resolved) AS fcr_resolved, max(longest_wait_seconds) AS longest FROM kpi_interval "
        "GROUP BY contact_date, queue, channel ORDER BY 1, 2, 3"
    ).to_pylist()
    daily = engine.query(
        "SELECT contact_date, queue, channel, offered, answered, fcr_resolved, longest_wait_seconds AS longest "
        "FROM kpi_daily ORDER BY 1, 2, 3"
    ).to_pylist()
    assert len(daily) > 20
    assert [{k: int(v) if isinstance(v, (int, float)) and k != "longest" else v for k, v in r.items()}
            for r in summed] == daily  # fmt: skip


def test_a_nightly_run_rewrites_only_its_days(sample_lake: SampleLake, tmp_path: Path) -> None:
    ports, home = _copy(sample_lake, tmp_path)
    before = {t.name: _files(home, t) for t in (KPI_INTERVAL, KPI_DAILY, KPI_AGENT_DAILY)}
    # The same contacts analysed again for one day: every month file comes out byte for byte the same.
    run_analysis(ports, sample_lake.config, ["north"], date(2026, 11, 9), date(2026, 11, 9))
    assert {t.name: _files(home, t) for t in (KPI_INTERVAL, KPI_DAILY, KPI_AGENT_DAILY)} == before

    # A day whose contacts are gone: that day leaves the month file, the other days stay as they were.
    shutil.rmtree(home / "lake" / "curated" / "contacts" / "centre_id=north" / "contact_date=2026-11-12")
    run_analysis(ports, sample_lake.config, ["north"], date(2026, 11, 12), date(2026, 11, 12))
    for table in (KPI_INTERVAL, KPI_DAILY):
        ((key, old),) = before[table.name].items()
        new = pq.read_table(home / table.area / table.prefix / key)
        old_rows = pq.read_table(pa.BufferReader(old))
        gone = date(2026, 11, 12)
        assert gone in old_rows.column("contact_date").to_pylist()
        assert gone not in new.column("contact_date").to_pylist()
        # Days outside the FCR look-back of the removed day are untouched.
        keep = pc.less(old_rows.column("contact_date"), pa.scalar(date(2026, 11, 8), pa.date32()))
        kept_new = pc.less(new.column("contact_date"), pa.scalar(date(2026, 11, 8), pa.date32()))
        assert new.filter(kept_new).equals(old_rows.filter(keep))
        later = pc.greater(new.column("contact_date"), pa.scalar(gone, pa.date32()))
        old_later = pc.greater(old_rows.column("contact_date"), pa.scalar(gone, pa.date32()))
        assert new.filter(later).equals(old_rows.filter(old_later))


def test_a_month_with_no_rows_left_loses_its_file(sample_lake: SampleLake, tmp_path: Path) -> None:
    ports, home = _copy(sample_lake, tmp_path)
    shutil.rmtree(home / "lake" / "curated" / "contacts")
    run_analysis(ports, sample_lake.config, ["north"], date(2026, 11, 1), date(2026, 11, 30))
    assert _files(home, KPI_INTERVAL) == {}
    assert _files(home, KPI_DAILY) == {}


def test_aggregate_files_of_the_day_layout_are_not_read(sample_lake: SampleLake, tmp_path: Path) -> None:
    """A lake analysed before the month layout still has kpi_daily/centre_id=…/contact_date=… files."""
    ports, home = _copy(sample_lake, tmp_path)
    before = ports.engine.query("SELECT count(*) AS n, sum(offered) AS offered FROM kpi_daily").to_pylist()
    old = home / KPI_DAILY.area / KPI_DAILY.prefix / "centre_id=north" / "contact_date=2026-11-03"
    old.mkdir(parents=True)
    pq.write_table(pa.table({"queue": ["sales"], "offered": [999]}), old / "part-0.parquet")
    fresh = build_local_ports(Settings(home=home))
    assert (
        fresh.engine.query("SELECT count(*) AS n, sum(offered) AS offered FROM kpi_daily").to_pylist()
        == before
    )


def test_two_analyses_of_one_month_at_once_keep_each_others_days(
    sample_lake: SampleLake, tmp_path: Path
) -> None:
    """An upload's analysis and the nightly one rewriting the same month file at the same moment.

    The first run reads the month file slowly; the second starts meanwhile and changes another day. Each
    keeps the month's other days as it read them, so without the lease on the month the first run's
    write would put the second day back as it was before.
    """
    ports, home = _copy(sample_lake, tmp_path)
    ((key, old),) = _files(home, KPI_DAILY).items()
    rows = pq.read_table(pa.BufferReader(old))
    first_day, second_day = date(2026, 11, 9), date(2026, 11, 10)

    def changed(day: date) -> pa.Table:
        of_day = rows.filter(pc.equal(rows.column("contact_date"), pa.scalar(day, pa.date32())))
        assert of_day.num_rows > 0
        index = of_day.schema.get_field_index("contacts")
        return of_day.set_column(index, "contacts", pc.add(of_day.column("contacts"), 1000))

    month_key = f"{KPI_DAILY.prefix}/{key}"
    reading, inner_get = threading.Event(), ports.store.get

    def slow_get(area: Any, wanted: str) -> bytes:
        data = inner_get(area, wanted)
        if wanted == month_key and threading.current_thread().name == "first":
            reading.set()
            time.sleep(0.5)  # the second run starts while this one holds what it read
        return data

    ports.store.get = slow_get
    first = threading.Thread(
        target=write_days, args=(ports, KPI_DAILY, "north", changed(first_day), [first_day]), name="first"
    )
    first.start()
    assert reading.wait(10)
    write_days(ports, KPI_DAILY, "north", changed(second_day), [second_day])
    first.join()

    after = pq.read_table(home / KPI_DAILY.area / KPI_DAILY.prefix / key)
    for day in (first_day, second_day):
        of_day = after.filter(pc.equal(after.column("contact_date"), pa.scalar(day, pa.date32())))
        assert of_day.column("contacts").equals(changed(day).column("contacts")), day
    others = pc.invert(pc.is_in(after.column("contact_date"), pa.array([first_day, second_day], pa.date32())))
    unchanged = pc.invert(
        pc.is_in(rows.column("contact_date"), pa.array([first_day, second_day], pa.date32()))
    )
    assert after.filter(others).equals(rows.filter(unchanged))
