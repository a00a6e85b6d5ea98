"""Discoverable SQL: every table and view, with columns and descriptions, from the project's own registry
(`contactlake tables`, `SHOW TABLES`, `DESCRIBE t`), and suggestions drawn from those names only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contactlake.analyse.ddl import VIEWS
from contactlake.cli import main
from contactlake.tables import LAKE_TABLES

EVERY_NAME = {*LAKE_TABLES, *VIEWS}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_tables_lists_every_table_and_view_with_described_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "tables", "--format", "json")
    assert code == 0
    listed = json.loads(out)
    assert {r["name"] for r in listed} == EVERY_NAME
    assert {"staffing_interval", "forecast_interval", "v_kpi_daily", "v_cost_daily"} <= EVERY_NAME
    for relation in listed:
        assert relation["description"], relation["name"]
        assert relation["kind"] == ("view" if relation["name"] in VIEWS else "table")
        for column in relation["columns"]:
            assert column["type"], (relation["name"], column["name"])
            assert column["description"], (relation["name"], column["name"])
    kpi = next(r for r in listed if r["name"] == "v_kpi_daily")
    assert {"service_level", "target_service_level", "service_level_met"} <= {
        c["name"] for c in kpi["columns"]
    }
    code, out, _ = run(capsys, "tables")
    assert code == 0
    assert all(f"\n{name} (" in f"\n{out}" for name in EVERY_NAME)


def test_tables_with_a_name_and_a_misspelt_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tables", "staffing_interval")
    assert code == 0
    assert out.startswith("staffing_interval (table): Agents required")
    assert "required_erlang_c" in out
    code, _, err = run(capsys, "tables", "kpi_weekly")
    assert code == 2
    assert "did you mean kpi_daily" in err


def test_show_tables_and_describe_inside_sql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path / "lake")
    code, out, _ = run(capsys, "--home", home, "sql", "SHOW TABLES", "--format", "json")
    assert code == 0
    assert {row["name"] for row in json.loads(out)} == EVERY_NAME
    code, out, _ = run(capsys, "--home", home, "sql", "DESCRIBE kpi_daily;", "--format", "json")
    assert code == 0
    columns = {row["column"]: row for row in json.loads(out)}
    assert columns["offered"]["type"] == "bigint"
    assert columns["contact_date"]["description"].startswith("Local business day")
    code, out, _ = run(capsys, "--home", home, "sql", "show columns from v_cost_daily")
    assert code == 0
    assert "cost_per_contact" in out


def test_a_misspelt_table_is_matched_against_the_projects_tables_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--home", str(tmp_path), "sql", "SELECT * FROM kpi_weekly")
    assert code == 2
    assert "there is no table or view 'kpi_weekly'; did you mean kpi_daily" in err
    assert "pg_" not in err
    code, _, err = run(capsys, "--home", str(tmp_path), "sql", "DESCRIBE pg_depend")
    assert code == 2
    assert "pg_" not in err.split(";", 1)[1]


def test_the_sql_hint_names_every_table_and_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--home", str(tmp_path), "sql", "SELECT nothing_here FROM kpi_daily")
    assert code == 2
    assert "Did you mean" not in err
    hint = err.splitlines()[-1]
    assert all(name in hint for name in EVERY_NAME), hint
