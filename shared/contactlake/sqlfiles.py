"""SQL is written once, in Athena's (Trino) dialect, one ``.sql`` file per model under ``sql/<role>/``.

The folders follow the data (:data:`FOLDERS`): ``staging/`` cleans a lake table once (contact defaults,
the test-contact flag), ``intermediate/`` holds steps several models share, ``marts/`` one file per
materialised table, ``api/`` the reads of the API and reports, ``views/`` the BI views and ``ops/`` the
operational queries. A file is named by its name alone (names are unique across folders). Shared text is
included, never copied: ``-- @include <name>`` inserts a staging or intermediate model (optionally with
parameters re-bound, ``(date_to=lookahead_to)``) or a list generated from :mod:`contactlake.metrics`,
and ``-- @measure <name>`` one declared measure.

Values are bound as named parameters (``:centre_id``); identifiers never come from input. This module
loads the files and turns one statement into what each engine needs: DuckDB gets a transpiled statement
with ``$name`` parameters, Athena gets the Trino text with positional ``?`` and the values in order.

What sqlglot works out for the shipped files (the DuckDB text, the Athena text, the parameters, the
tables read) is also kept in ``sql/compiled.json``, keyed by each statement's SHA-256: parsing and
transpiling a KPI model costs 60-120 ms, and sqlglot 0.3 s to import, on the first use in every process
(a CLI command, a Lambda cold start, the first API request). A statement not found there (or a file
written by another sqlglot version) is parsed as before. ``python -m contactlake.sqlfiles --write``
regenerates the file; a test fails when it is stale.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from contactlake.ports import SqlParam

if TYPE_CHECKING:
    from sqlglot import exp

_MARKER = re.compile(r":contactlake_p(\d+)\b")
#: ``-- @include <name>[(param=other, ...)][,]``: a generated fragment (:mod:`contactlake.metrics`) or an
#: ephemeral model (``staging/``, ``intermediate/``), its parameters optionally re-bound to other names.
_INCLUDE = re.compile(r"^[ \t]*-- @include ([a-z0-9_]+)(?:\(([^)]*)\))?(,?)[ \t]*\n", re.MULTILINE)
#: ``-- @measure <name>[ AS <alias>][ BY <variant column>][,]``: one measure of :mod:`contactlake.metrics`.
_MEASURE = re.compile(
    r"^([ \t]*)-- @measure ([a-z0-9_]+)(?: AS ([a-z0-9_]+))?(?: BY ([a-z0-9_.]+))?(,?)[ \t]*\n", re.MULTILINE
)
_PARAM = re.compile(r":([a-z_][a-z0-9_]*)\b")

#: What each folder of ``sql/`` holds, in the order data flows through them (docs/adr/0001).
FOLDERS = (
    "staging",  # ephemeral: the lake tables cleaned once (defaults, test-contact flag), included by models
    "intermediate",  # ephemeral: shared steps of several models, included by them
    "marts",  # one file per materialised aggregate table
    "api",  # reads for the API and the reports
    "views",  # BI views (Glue views in Athena)
    "ops",  # operational queries: reconciliation, ingest log, measurement tests, lake extent
)
#: Folders whose models are included by others rather than run on their own.
EPHEMERAL = ("staging", "intermediate")

__all__ = [
    "FOLDERS",
    "centre_filtered_tables",
    "compile_shipped",
    "for_athena",
    "for_duckdb",
    "load_sql",
    "parameter_names",
    "referenced_tables",
    "sql_folder",
    "sql_names",
]


@cache
def _index() -> dict[str, str]:
    """Every shipped SQL file's name (without ``.sql``) -> its folder; names are unique across folders."""
    root = resources.files("contactlake") / "sql"
    found: dict[str, str] = {}
    for folder in FOLDERS:
        for path in (root / folder).iterdir():
            if path.name.endswith(".sql"):
                name = path.name[:-4]
                if name in found:
                    raise RuntimeError(f"SQL file {name}.sql is in both sql/{found[name]}/ and sql/{folder}/")
                found[name] = folder
    return found


def sql_names(folder: str | None = None) -> list[str]:
    """Names of the shipped SQL files (without ``.sql``), of one folder or all."""
    return sorted(name for name, where in _index().items() if folder is None or where == folder)


def sql_folder(name: str) -> str:
    """The folder of ``sql/`` a SQL file is in."""
    if name not in _index():
        raise KeyError(f"no SQL file named {name!r}; known: {', '.join(sql_names())}")
    return _index()[name]


def _read(name: str) -> str:
    return (resources.files("contactlake") / "sql" / sql_folder(name) / f"{name}.sql").read_text(
        encoding="utf-8"
    )


@cache
def load_sql(name: str) -> str:
    """A shipped SQL file, its ``-- @include`` and ``-- @measure`` lines expanded.

    Whatever several results share is written once: the KPI counts and rates in :mod:`contactlake.metrics`,
    the contact defaults in ``staging/stg_contacts.sql``, the KPI classification in ``intermediate/``.
    """
    sql_folder(name)
    return _expand(_read(name))


def _expand(text: str, depth: int = 0) -> str:
    if depth > 5:
        raise RuntimeError("SQL includes nested more than 5 deep (an include includes itself?)")

    def include(match: re.Match[str]) -> str:
        name, rebind, comma = match.group(1), match.group(2), match.group(3)
        indent = match.group(0)[: len(match.group(0)) - len(match.group(0).lstrip(" \t"))]
        body = _fragment(name, indent, bool(comma))
        for pair in filter(None, (p.strip() for p in (rebind or "").split(","))):
            old, new = (part.strip() for part in pair.split("="))
            body = re.sub(rf":{old}\b", f":{new}", body)
        return _expand(body, depth + 1)

    def measure(match: re.Match[str]) -> str:
        from contactlake.metrics import measure_sql

        indent, name, alias, variant_from, comma = match.groups()
        text = measure_sql(name, alias, variant_from or ":sl_variant")
        return "\n".join(indent + line for line in text.splitlines()) + comma + "\n"

    return _MEASURE.sub(measure, _INCLUDE.sub(include, text))


def _fragment(name: str, indent: str = "    ", trailing_comma: bool = False) -> str:
    from contactlake import metrics

    if name in metrics.fragment_names():
        return metrics.fragment(name, indent, trailing_comma)
    if _index().get(name) in EPHEMERAL and not trailing_comma:
        body = "\n".join(line for line in _read(name).splitlines() if not line.startswith("--"))
        return "\n".join(indent + line if line else line for line in body.strip("\n").splitlines()) + "\n"
    raise KeyError(
        f"no SQL fragment named {name!r} (generated: {', '.join(metrics.fragment_names())}; "
        f"ephemeral models: {', '.join(n for n in _index() if _index()[n] in EPHEMERAL)})"
    )


@dataclass(frozen=True)
class _Compiled:
    """What one statement needs on each engine, worked out once by sqlglot."""

    duckdb: str
    #: The Trino text with ``?`` placeholders, and the parameter each ``?`` takes, in text order.
    athena: str
    athena_order: tuple[str, ...]
    #: Named parameters in order of appearance in the tree (a name may repeat).
    params: tuple[str, ...]
    tables: frozenset[str]
    centre_filtered: frozenset[str]


def _digest(sql: str) -> str:
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()


@cache
def _shipped() -> dict[str, dict[str, Any]]:
    """``sql/compiled.json`` when sqlglot's version is the one it was written with, else nothing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        data = json.loads((resources.files("contactlake") / "sql" / "compiled.json").read_text("utf-8"))
        installed = version("sqlglot")
    except (FileNotFoundError, PackageNotFoundError):
        return {}
    return dict(data["statements"]) if data.get("sqlglot") == installed else {}


@cache
def _compiled(sql: str) -> _Compiled:
    found = _shipped().get(_digest(sql))
    if found is None:
        return _compile(sql)
    return _Compiled(
        duckdb=found["duckdb"],
        athena=found["athena"],
        athena_order=tuple(found["athena_order"]),
        params=tuple(found["params"]),
        tables=frozenset(found["tables"]),
        centre_filtered=frozenset(found["centre_filtered"]),
    )


def _compile(sql: str) -> _Compiled:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="trino")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    params = tuple(p.name for p in tree.find_all(exp.Placeholder, bfs=False) if p.name)
    tables = frozenset(table.name for table in tree.find_all(exp.Table) if table.name not in ctes)
    verdict: dict[str, bool] = {}
    for table in tree.find_all(exp.Table):
        if table.name not in ctes:
            select = table.find_ancestor(exp.Select)
            kept = select is not None and _keeps_one_centre(select, table)
            verdict[table.name] = verdict.get(table.name, True) and kept
    duckdb = tree.sql(dialect="duckdb")
    # sqlglot's tree order is not text order (a WITH clause is visited after the SELECT list), so each
    # placeholder is renamed to a unique marker, the statement rendered, and the markers read back.
    marked = tree.copy()
    names: list[str] = []
    for node in list(marked.find_all(exp.Placeholder)):
        if node.name:
            names.append(node.name)
            node.replace(exp.Placeholder(this=f"contactlake_p{len(names) - 1}"))
    order: list[str] = []

    def take(match: re.Match[str]) -> str:
        order.append(names[int(match.group(1))])
        return "?"

    athena = _MARKER.sub(take, marked.sql(dialect="trino"))
    return _Compiled(
        duckdb=duckdb,
        athena=athena,
        athena_order=tuple(order),
        params=params,
        tables=tables,
        centre_filtered=frozenset(name for name, kept in verdict.items() if kept),
    )


def compile_shipped() -> dict[str, Any]:
    """``sql/compiled.json``'s content: every shipped file compiled, keyed by its statement's SHA-256."""
    from importlib.metadata import version

    statements = {}
    for name in sql_names():
        compiled = _compile(load_sql(name))
        statements[_digest(load_sql(name))] = {
            "name": name,
            "duckdb": compiled.duckdb,
            "athena": compiled.athena,
            "athena_order": list(compiled.athena_order),
            "params": list(compiled.params),
            "tables": sorted(compiled.tables),
            "centre_filtered": sorted(compiled.centre_filtered),
        }
    return {"sqlglot": version("sqlglot"), "statements": dict(sorted(statements.items()))}


def parameter_names(sql: str) -> list[str]:
    """Named parameters in order of appearance (a name may repeat)."""
    return list(_compiled(sql).params)


def referenced_tables(sql: str) -> set[str]:
    """Table names the statement reads (CTE names excluded), so an engine can prepare only those."""
    return set(_compiled(sql).tables)


def centre_filtered_tables(sql: str) -> set[str]:
    """Tables of which the statement keeps only the rows of one centre wherever it reads them.

    A table qualifies when every read of it sits in a SELECT whose WHERE has ``centre_id = :centre_id``
    as one of its top-level ``AND`` terms, on that table's column (qualified by its alias, or unqualified
    when it is the SELECT's only source). An engine may then read only that centre's partition for it:
    the rows it leaves out are rows the statement drops. Anything else (an ``OR``, a join on the column,
    another parameter) does not qualify.
    """
    return set(_compiled(sql).centre_filtered)


def _keeps_one_centre(select: exp.Select, table: exp.Table) -> bool:
    from sqlglot import exp

    where = select.args.get("where")
    source = select.args.get("from_") or select.args.get("from")
    if where is None or source is None:
        return False
    joins = select.args.get("joins") or []
    only_source = not joins and source.this is table
    alias = table.alias_or_name
    for term in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        if not isinstance(term, exp.EQ):
            continue
        for column, value in ((term.this, term.expression), (term.expression, term.this)):
            if (
                isinstance(column, exp.Column)
                and column.name == "centre_id"
                and isinstance(value, exp.Placeholder)
                and value.name == "centre_id"
                and (column.table == alias or (not column.table and only_source))
            ):
                return True
    return False


def _check(sql: str, params: Mapping[str, SqlParam]) -> None:
    missing = sorted(set(parameter_names(sql)) - set(params))
    if missing:
        raise ValueError(f"SQL parameters not bound: {', '.join(missing)}")


def for_duckdb(sql: str, params: Mapping[str, SqlParam]) -> tuple[str, dict[str, SqlParam]]:
    """The statement in DuckDB's dialect and the parameters it uses (DuckDB rejects unused ones)."""
    _check(sql, params)
    used = set(parameter_names(sql))
    return _compiled(sql).duckdb, {k: v for k, v in params.items() if k in used}


def for_athena(sql: str, params: Mapping[str, SqlParam]) -> tuple[str, list[SqlParam]]:
    """The Trino statement with ``?`` placeholders and the values in the order its ``?`` appear."""
    _check(sql, params)
    compiled = _compiled(sql)
    return compiled.athena, [params[name] for name in compiled.athena_order]


def _main(argv: list[str] | None = None) -> int:
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog="python -m contactlake.sqlfiles",
        description="Write (or check) sql/compiled.json: what sqlglot works out for every shipped SQL file.",
    )
    parser.add_argument("--write", action="store_true", help="write the file (default: check it is current)")
    args = parser.parse_args(argv)
    target = Path(str(resources.files("contactlake") / "sql" / "compiled.json"))
    text = json.dumps(compile_shipped(), indent=1, sort_keys=True) + "\n"
    if args.write:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
        return 0
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if current != text:
        print(f"{target} is stale: run python -m contactlake.sqlfiles --write")
        return 1
    print(f"{target} is current")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
