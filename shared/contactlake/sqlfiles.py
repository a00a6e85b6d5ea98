"""SQL is written once, in Athena's (Trino) dialect, one ``.sql`` file per result under ``sql/``.

Values are bound as named parameters (``:centre_id``); identifiers never come from input. This module
loads the files and turns one statement into what each engine needs: DuckDB gets a transpiled statement
with ``$name`` parameters, Athena gets the Trino text with positional ``?`` and the values in order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

import sqlglot
from sqlglot import exp

from contactlake.ports import SqlParam

_MARKER = re.compile(r":contactlake_p(\d+)\b")
_INCLUDE = re.compile(r"^[ \t]*-- @include ([a-z0-9_]+)[ \t]*\n", re.MULTILINE)

__all__ = ["for_athena", "for_duckdb", "load_sql", "parameter_names", "referenced_tables", "sql_names"]


def sql_names() -> list[str]:
    """Names of every shipped SQL file (without ``.sql``)."""
    folder = resources.files("contactlake") / "sql"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".sql"))


@cache
def load_sql(name: str) -> str:
    """A shipped SQL file, with its ``-- @include <fragment>`` lines replaced by ``sql/fragments/``.

    Fragments hold what several results share (the KPI rate formulas), so each is written once.
    """
    if name not in sql_names():
        raise KeyError(f"no SQL file named {name!r}; known: {', '.join(sql_names())}")
    text = (resources.files("contactlake") / "sql" / f"{name}.sql").read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda match: _fragment(match.group(1)), text)


def _fragment(name: str) -> str:
    path = resources.files("contactlake") / "sql" / "fragments" / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no SQL fragment named {name!r} (looked for sql/fragments/{name}.sql)")
    return path.read_text(encoding="utf-8")


@cache
def _parse(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="trino")


def parameter_names(sql: str) -> list[str]:
    """Named parameters in order of appearance (a name may repeat)."""
    return [p.name for p in _parse(sql).find_all(exp.Placeholder, bfs=False) if p.name]


def referenced_tables(sql: str) -> set[str]:
    """Table names the statement reads (CTE names excluded), so an engine can prepare only those."""
    tree = _parse(sql)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {table.name for table in tree.find_all(exp.Table) if table.name not in ctes}


def _check(sql: str, params: Mapping[str, SqlParam]) -> None:
    missing = sorted(set(parameter_names(sql)) - set(params))
    if missing:
        raise ValueError(f"SQL parameters not bound: {', '.join(missing)}")


@cache
def _duckdb_text(sql: str) -> str:
    return _parse(sql).sql(dialect="duckdb")


def for_duckdb(sql: str, params: Mapping[str, SqlParam]) -> tuple[str, dict[str, SqlParam]]:
    """The statement in DuckDB's dialect and the parameters it uses (DuckDB rejects unused ones)."""
    _check(sql, params)
    used = set(parameter_names(sql))
    return _duckdb_text(sql), {k: v for k, v in params.items() if k in used}


def for_athena(sql: str, params: Mapping[str, SqlParam]) -> tuple[str, list[SqlParam]]:
    """The Trino statement with ``?`` placeholders and the values in the order the ``?`` appear in its text.

    sqlglot's tree order is not text order (a WITH clause is visited after the SELECT list), so each
    placeholder is first renamed to a unique marker, the statement rendered, and the markers read back
    left to right.
    """
    _check(sql, params)
    tree = _parse(sql).copy()
    names: list[str] = []
    for node in list(tree.find_all(exp.Placeholder)):
        if node.name:
            names.append(node.name)
            node.replace(exp.Placeholder(this=f"contactlake_p{len(names) - 1}"))
    ordered: list[SqlParam] = []

    def take(match: re.Match[str]) -> str:
        ordered.append(params[names[int(match.group(1))]])
        return "?"

    return _MARKER.sub(take, tree.sql(dialect="trino")), ordered
