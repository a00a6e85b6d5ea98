"""The statements the Athena engine sends compute what the local engine computes, grain by grain.

The Athena engine sends the Trino text with positional ``?`` and the values as ``ExecutionParameters``
literals, which Athena substitutes in order. Here that exact statement is taken (``positional_statement``
and ``sql_literal``, what :class:`AthenaEngine` sends), the literals put in its placeholders as Athena
does, and the result run on the sample lake through sqlglot; it must equal what the local engine returns
for the same model and parameters — for the materialisation (kpi_interval's three grouping sets) and
for every grain and dimension the API serves from the aggregates.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
import sqlglot
from sqlglot.dialects.trino import Trino
from sqlglot.tokens import TokenType

from contactlake.adapters.athena import positional_statement, sql_literal
from contactlake.analyse.common import DIMENSIONS, GRAINS, normalise
from contactlake.sqlfiles import load_sql, parameter_names, referenced_tables
from tests.functional.analyse.conftest import SampleLake

PARAMS: dict[str, Any] = {
    "centre_id": "north",
    "date_from": "2026-11-02",
    "date_to": "2026-11-15",
    "lookahead_to": "2026-11-19",
    "grain_minutes": 15,
    "sl_threshold_seconds": 20,
    "short_abandon_seconds": 5,
    "sl_variant": "abandons_ignored",
    "fcr_window_hours": 72,
    "queue": "",
    "channel": "",
}


def _as_athena_runs_it(sql: str, params: dict[str, Any]) -> str:
    """The statement Athena executes: the engine's positional text, its literals put in its ``?`` in
    text order (as Athena substitutes ExecutionParameters), then run here through sqlglot."""
    text, values = positional_statement(sql, params)
    literals = [sql_literal(v) for v in values]
    spots = [t for t in Trino.Tokenizer().tokenize(text) if t.token_type == TokenType.PLACEHOLDER]
    assert len(spots) == len(literals), "every ExecutionParameter has its placeholder"
    for token, literal in reversed(list(zip(spots, literals, strict=True))):
        text = text[: token.start] + literal + text[token.end + 1 :]
    return sqlglot.transpile(text, read="trino", write="duckdb")[0]


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    columns = sorted(table.column_names)
    ordered = table.select(columns)
    return sorted(ordered.to_pylist(), key=lambda r: tuple(str(r[c]) for c in columns))


def _both(sample_lake: SampleLake, name: str, params: dict[str, Any]) -> tuple[pa.Table, pa.Table]:
    engine = sample_lake.ports.engine
    sql = load_sql(name)
    bound = {k: params[k] for k in parameter_names(sql)}
    local = normalise(engine.query(sql, bound))
    connection = engine.connect(referenced_tables(sql))
    athena_shaped = normalise(connection.sql(_as_athena_runs_it(sql, bound)).to_arrow_table())
    return local, athena_shaped


def test_the_materialisation_statement_gives_the_same_three_tables(sample_lake: SampleLake) -> None:
    local, athena_shaped = _both(sample_lake, "kpi_interval", PARAMS)
    assert local.num_rows > 1000
    assert set(local.column("grain_set").to_pylist()) == {"interval", "day", "agent_day"}
    assert _rows(local) == _rows(athena_shaped)


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("dimension", DIMENSIONS)
@pytest.mark.parametrize("read", ["kpi_rollup", "kpi_series"])
def test_every_grain_read_is_the_same(sample_lake: SampleLake, grain: str, dimension: str, read: str) -> None:
    local, athena_shaped = _both(sample_lake, read, {**PARAMS, "grain": grain, "dimension": dimension})
    assert local.num_rows > 0
    assert _rows(local) == _rows(athena_shaped)
