"""SQL as models: folders by role, contact defaults written once in staging, one file per materialised
table, the run order derived from what each model reads, and one table registry (no lake <-> analyse circle).
"""

from __future__ import annotations

import ast
import re
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from contactlake import sqlfiles
from contactlake.analyse import run
from contactlake.tables import AGGREGATE_TABLES, KPI_DAILY, KPI_INTERVAL, LAKE_TABLES

PACKAGE = Path(str(resources.files("contactlake")))
#: Whole-row counts and the lake's extent: they apply no KPI defaults, so they read contacts directly.
READS_CONTACTS_RAW = {"stg_contacts", "lake_date_range", "reconcile_uploads"}


def test_every_sql_file_is_in_a_role_folder_under_a_unique_name() -> None:
    files = sorted((PACKAGE / "sql").rglob("*.sql"))
    assert {path.parent.name for path in files} <= set(sqlfiles.FOLDERS)
    assert all(path.parent.parent == PACKAGE / "sql" for path in files)
    assert len({path.stem for path in files}) == len(files) == len(sqlfiles.sql_names())
    assert sqlfiles.sql_names("views") == ["v_cost_daily", "v_kpi_daily"]
    assert sqlfiles.sql_folder("kpi_interval") == "marts"


def test_contact_defaults_and_the_test_contact_filter_are_written_only_in_staging() -> None:
    for name in sqlfiles.sql_names():
        folder = sqlfiles.sql_folder(name)
        text = (PACKAGE / "sql" / folder / f"{name}.sql").read_text(encoding="utf-8")
        code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
        if name == "stg_contacts":
            for default in (
                "coalesce(direction, 'inbound')",
                "coalesce(queue, '(none)')",
                "test_case_id IS NOT NULL",
            ):
                assert default in code
            continue
        for default in ("coalesce(direction", "coalesce(queue,", "coalesce(channel", "test_case_id IS"):
            assert default not in code, f"{name}: {default} belongs in staging/stg_contacts.sql"
        if re.search(r"\b(FROM|JOIN) contacts\b", code) and name not in READS_CONTACTS_RAW:
            pytest.fail(f"{name} reads contacts directly; include staging/stg_contacts.sql")


def test_an_include_can_rebind_a_parameter() -> None:
    text = sqlfiles.load_sql("int_contact_flags")
    assert text.count("FROM contacts") == 1  # one scan: the range and its FCR look-ahead together
    assert "CAST(:lookahead_to AS DATE)" in text
    assert "CAST(:date_to AS DATE)" not in text  # rebound: the including models cut at date_to
    assert "@include" not in text
    repeats = sqlfiles.load_sql("int_contact_repeats")
    assert repeats.count("FROM contacts") == 1
    assert "CAST(:date_to AS DATE)" in repeats  # the look-ahead rows dropped after the window


def test_each_materialised_table_has_one_model_and_the_marts_are_materialised() -> None:
    tables = [name for model in run.MODELS for name in model.writes]
    assert sorted(tables) == sorted(t.name for t in AGGREGATE_TABLES)
    sql = {name for model in run.MODELS for name in model.sql}
    assert set(sqlfiles.sql_names("marts")) <= sql
    assert set(sqlfiles.sql_names("marts")) <= {t.name for t in AGGREGATE_TABLES}


def test_the_run_order_follows_the_reads() -> None:
    order = run.run_order(run.MODELS)
    position = {name: n for n, model in enumerate(order) for name in model.writes}
    assert len(order) == len(run.MODELS)
    for model in order:
        for read in model.reads():
            if read in position:
                assert position[read] < position[model.table.name], (model.table.name, read)
    staffing = next(m for m in run.MODELS if m.table.name == "staffing_interval")
    assert {"kpi_interval", "agent_state_interval"} <= staffing.reads()
    # Declared backwards, the order is still derived from the reads.
    backwards = [m.table.name for m in run.run_order(run.MODELS[::-1])]
    assert backwards.index("forecast_interval") > backwards.index("kpi_interval")  # reads kpi_daily
    assert backwards.index("staffing_interval") > backwards.index("agent_state_interval")


def test_models_that_read_each_other_are_refused() -> None:
    build = run.MODELS[0].build
    daily = run.Model(KPI_DAILY, ("kpi_rollup",), build)  # kpi_daily made to read kpi_interval
    interval = run.Model(KPI_INTERVAL, ("v_kpi_daily",), build)  # made to read kpi_daily
    with pytest.raises(ValueError, match="cycle: kpi_daily, kpi_interval"):
        run.run_order([daily, interval])


def test_the_window_is_what_each_model_is_given() -> None:
    window = run.Window(date(2026, 11, 1), date(2026, 11, 3), date(2026, 11, 4))
    assert window.kpi_from <= window.date_from <= window.date_to


@pytest.mark.parametrize("module", ["lake.py", "tables.py", "metrics.py", "sqlfiles.py", "schema.py"])
def test_the_registry_and_the_lake_layout_import_nothing_from_analyse(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    assert not any(name.startswith("contactlake.analyse") for name in imported), module


def test_the_registry_holds_curated_tables_then_aggregates() -> None:
    names = list(LAKE_TABLES)
    assert names[:6] == [
        "contacts",
        "pathway_steps",
        "agent_activity",
        "quarantine",
        "ingest_log",
        "report_issues",
    ]
    assert names[6:] == [t.name for t in AGGREGATE_TABLES]
