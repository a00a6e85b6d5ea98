"""Every shipped SQL file runs on DuckDB against the analysed sample lake, and prunes partitions.

The same files run on Athena; here they are transpiled by sqlglot and executed for real.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from contactlake.analyse.common import normalise
from contactlake.sqlfiles import load_sql, parameter_names, sql_names
from contactlake.tables import all_tables
from tests.functional.analyse.conftest import SampleLake

pytestmark = pytest.mark.slow

#: Realistic values for every parameter any SQL file takes (the sample centre and its fortnight).
PARAMS: dict[str, object] = {
    "centre_id": "north",
    "date_from": "2026-11-02",
    "date_to": "2026-11-15",
    "lookahead_to": "2026-11-19",
    "activity_from": "2026-11-01",
    "grain_minutes": 15,
    "breakdown": "queue_channel",
    "test_contacts": False,
    "sl_threshold_seconds": 20,
    "short_abandon_seconds": 5,
    "sl_variant": "abandons_ignored",
    "fcr_window_hours": 72,
    "grain": "day",
    "dimension": "queue",
    "queue": "",
    "channel": "",
    "cost_per_agent_hour": 24.0,
    "day": "2026-11-02",
    "thresholds": "20,30,60",
}
#: Files whose interesting rows lie elsewhere: the stored forecast is for the week after the data.
OVERRIDES = {"forecast_read": {"date_from": "2026-11-16", "date_to": "2026-11-22"}}
#: Scans that deliberately cover every partition (BI views, the lead's lake-wide summaries).
WHOLE_LAKE = {"lake_date_range", "day_summary", "v_kpi_daily", "v_cost_daily"}
#: The ingest log (one row per upload) is partitioned by arrival day, which bounds no business day.
CENTRE_ONLY = {"ingest_log"}


@pytest.mark.parametrize("name", sql_names())
def test_sql_file_runs_on_duckdb(sample_lake: SampleLake, name: str) -> None:
    sql = load_sql(name)
    unknown = sorted(set(parameter_names(sql)) - set(PARAMS))
    assert not unknown, f"{name}: add a realistic value for {unknown} to PARAMS in this test"
    params = {k: PARAMS[k] for k in parameter_names(sql)} | OVERRIDES.get(name, {})
    table = normalise(sample_lake.ports.engine.query(sql, params))
    assert table.num_rows > 0, f"{name} returned no rows on the sample"
    assert len(set(table.column_names)) == len(table.column_names)
    assert not any(pa.types.is_null(t) for t in table.schema.types), table.schema


@pytest.mark.parametrize("name", sorted(set(sql_names()) - WHOLE_LAKE))
def test_every_table_scan_filters_on_centre_and_date_partitions(name: str) -> None:
    """Partition pruning: each scan of a lake table has centre_id and its date column in its WHERE."""
    tables = all_tables()
    tree = sqlglot.parse_one(load_sql(name), read="trino")
    scans = [t for t in tree.find_all(exp.Table) if t.name in tables]
    assert scans, f"{name} reads no lake table"
    for scan in scans:
        select = scan.find_ancestor(exp.Select)
        where = select.args.get("where") if select else None
        assert where is not None, f"{name}: scan of {scan.name} has no WHERE"
        text = where.sql()
        date_column = tables[scan.name].partition_names[-1]
        assert "centre_id = :centre_id" in text, f"{name}: {scan.name} not pruned to one centre"
        assert scan.name in CENTRE_ONLY or date_column in text, f"{name}: {scan.name} not pruned by date"


def test_rollup_to_15_minutes_equals_the_materialised_intervals(sample_lake: SampleLake) -> None:
    """kpi_rollup.sql repeats kpi_interval.sql's rate formulas: both must give the same numbers."""
    ports, centre = sample_lake.ports, sample_lake.centre
    stored = ports.engine.query(
        "SELECT * FROM kpi_interval WHERE centre_id = 'north' AND contact_date = DATE '2026-11-03'"
    ).to_pylist()
    params = {k: PARAMS[k] for k in parameter_names(load_sql("kpi_rollup"))}
    params |= {
        "date_from": "2026-11-03",
        "date_to": "2026-11-03",
        "grain": "15min",
        "dimension": "queue_channel",
    }
    rolled = normalise(ports.engine.query(load_sql("kpi_rollup"), params)).to_pylist()
    assert centre.service_level.variant == PARAMS["sl_variant"]
    by_key = {(r["period_start"], r["queue"], r["channel"]): r for r in rolled}
    assert len(stored) == len(rolled) > 100
    for row in stored:
        other = by_key[(row["interval_start"], row["queue"], row["channel"])]
        for column, value in row.items():
            if column in other and column not in ("period_start", "agent_id"):
                assert other[column] == pytest.approx(value, nan_ok=True), column
