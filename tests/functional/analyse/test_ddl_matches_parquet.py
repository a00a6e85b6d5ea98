"""The Glue / Athena DDL matches the Parquet the pipeline actually writes, column for column.

The sample is ingested and analysed (session fixture); for every table with files, the schema read back
from a written file must equal the DDL's columns and types, in order, and the Hive path must carry the
DDL's partition columns.
"""

from __future__ import annotations

import re
from datetime import date

import pyarrow.parquet as pq
import pytest
import sqlglot

from contactlake.analyse import queries
from contactlake.analyse.ddl import VIEWS, all_ddl, athena_ddl, glue_table_input, hive_type, view_ddl
from contactlake.sqlfiles import load_sql
from contactlake.tables import all_tables
from tests.functional.analyse.conftest import SampleLake

pytestmark = pytest.mark.slow
_COLUMN = re.compile(r"^  `(\w+)` (\S+) COMMENT")
_PARTITIONS = re.compile(r"^PARTITIONED BY \((.*)\)$", re.MULTILINE)
#: Tables the generic CSV sample does not produce (pathway steps come from the Connect / Genesys adapters).
NOT_IN_SAMPLE = {"pathway_steps"}


def _ddl_columns(ddl: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for line in ddl.splitlines() if (m := _COLUMN.match(line))]


def test_ddl_columns_and_partitions_match_the_written_parquet(sample_lake: SampleLake) -> None:
    home = sample_lake.settings.home
    checked = []
    for table in all_tables().values():
        files = sorted((home / table.area / table.prefix).rglob("*.parquet"))
        if not files:
            assert table.name not in {
                "contacts",
                "agent_activity",
                "kpi_interval",
                "kpi_daily",
                "staffing_interval",
            }
            continue
        ddl = athena_ddl(table, {"lake": "lake-bucket", "quarantine": "q-bucket"})
        written = pq.read_schema(files[0])
        assert _ddl_columns(ddl) == [(f.name, hive_type(f.type)) for f in written], table.name
        keys = [part.split(" ")[0].strip("`") for part in _PARTITIONS.search(ddl).group(1).split(", ")]  # type: ignore[union-attr]
        path_keys = [
            p.split("=")[0] for p in files[0].relative_to(home / table.area / table.prefix).parts[:-1]
        ]
        assert keys == path_keys, table.name
        assert (
            f"LOCATION 's3://{'q-bucket' if table.area == 'quarantine' else 'lake-bucket'}/{table.prefix}/'"
            in ddl
        )
        checked.append(table.name)
    expected = {name for name in all_tables() if name not in NOT_IN_SAMPLE}
    assert expected <= set(checked) | _unproduced_by_sample(expected)


def _unproduced_by_sample(names: set[str]) -> set[str]:
    """Tables other engineers register (e.g. report outputs) that the analyse run does not write."""
    from contactlake.tables import AGGREGATE_TABLES

    ours = {t.name for t in AGGREGATE_TABLES} | {"contacts", "agent_activity", "quarantine", "ingest_log"}
    return names - ours


def test_glue_table_input_carries_the_same_columns() -> None:
    contacts = all_tables()["contacts"]
    table = glue_table_input(contacts, {"lake": "b"})
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == contacts.schema.names
    assert table["PartitionKeys"] == [
        {"Name": "centre_id", "Type": "string"},
        {"Name": "contact_date", "Type": "date"},
    ]
    assert table["StorageDescriptor"]["Location"] == "s3://b/curated/contacts/"


def test_view_ddl_is_trino_and_the_view_agrees_with_the_kpis(sample_lake: SampleLake) -> None:
    assert set(VIEWS) == {"v_cost_daily", "v_kpi_daily"}
    statements = all_ddl()
    assert statements[-1].startswith('CREATE OR REPLACE VIEW "contactlake"."v_kpi_daily" AS')
    for name in VIEWS:
        assert sqlglot.parse_one(view_ddl(name), read="trino") is not None
    # DuckDB has no Glue views: run the view's body as a subquery.
    view = sample_lake.ports.engine.query(
        f"SELECT * FROM ({load_sql('v_kpi_daily')}\n) AS v WHERE centre_id = 'north' AND contact_date = DATE '2026-11-03'"
    ).to_pylist()[0]
    day = queries.kpis(
        sample_lake.ports, sample_lake.centre, "day", date(2026, 11, 3), date(2026, 11, 3)
    ).to_pylist()[0]
    assert view["service_level"] == pytest.approx(day["service_level"])
    assert view["aht_seconds"] == pytest.approx(day["aht_seconds"])
    assert (view["target_service_level"], view["service_level_met"]) == (0.8, day["service_level"] >= 0.8)
