"""sql/compiled.json holds what sqlglot works out for every shipped SQL file, so a process does not parse
the files it runs (nor import sqlglot) on first use; it must equal a fresh compilation."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

from contactlake import sqlfiles


def test_the_compiled_file_is_current() -> None:
    shipped = json.loads((resources.files("contactlake") / "sql" / "compiled.json").read_text("utf-8"))
    assert shipped == json.loads(json.dumps(sqlfiles.compile_shipped())), (
        "sql/compiled.json is stale: run python -m contactlake.sqlfiles --write"
    )
    assert {entry["name"] for entry in shipped["statements"].values()} == set(sqlfiles.sql_names())


def test_a_shipped_statement_is_answered_from_the_file_and_equals_sqlglot() -> None:
    sql = sqlfiles.load_sql("kpi_rollup")
    compiled = sqlfiles._compiled(sql)
    assert compiled == sqlfiles._compile(sql)
    assert sqlfiles._digest(sql) in sqlfiles._shipped()


def test_running_a_shipped_statement_does_not_import_sqlglot() -> None:
    probe = (
        "import sys\n"
        "from contactlake import sqlfiles\n"
        "sql = sqlfiles.load_sql('kpi_rollup')\n"
        "sqlfiles.for_duckdb(sql, {p: '' for p in sqlfiles.parameter_names(sql)})\n"
        "sqlfiles.for_athena(sql, {p: '' for p in sqlfiles.parameter_names(sql)})\n"
        "sqlfiles.referenced_tables(sql); sqlfiles.centre_filtered_tables(sql)\n"
        "print('sqlglot' in sys.modules)\n"
    )
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == "False"


def test_any_other_statement_is_parsed() -> None:
    sql = "SELECT count(*) AS n FROM contacts WHERE centre_id = :centre_id AND queue = :queue"
    assert sqlfiles._digest(sql) not in sqlfiles._shipped()
    assert sqlfiles.for_athena(sql, {"queue": "q", "centre_id": "north"}) == (
        "SELECT COUNT(*) AS n FROM contacts WHERE centre_id = ? AND queue = ?",
        ["north", "q"],
    )
    assert sqlfiles.centre_filtered_tables(sql) == {"contacts"}
