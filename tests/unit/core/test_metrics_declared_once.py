"""Each KPI formula is written once, in contactlake.metrics, and everything else takes it from there.

The SQL files (as shipped, before their directives are expanded) and the Python modules are scanned for
formula text; the expanded SQL must carry the declared formulas; docs/metrics.md's table is current.
"""

from __future__ import annotations

import re
import runpy
from importlib import resources
from pathlib import Path
from typing import get_args

import pytest

from contactlake import config, metrics, sqlfiles
from contactlake.analyse import queries, trends
from contactlake.tables import KPI_DAILY, KPI_INTERVAL, MEASURE_FIELDS

PACKAGE = Path(str(resources.files("contactlake")))
REPO = Path(__file__).resolve().parents[3]
COUNT_NAMES = [c.name for c in metrics.COUNTS]


def _raw_sql() -> dict[str, str]:
    """Every shipped SQL file as written (comments dropped: they may name a formula in words)."""
    found = {}
    for path in sorted((PACKAGE / "sql").rglob("*.sql")):
        lines = [line.split("--", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()]
        found[str(path.relative_to(PACKAGE / "sql"))] = "\n".join(lines)
    return found


def _python_modules() -> dict[str, str]:
    return {
        str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8")
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "metrics.py"
    }


def test_the_scans_see_the_sql_and_the_python() -> None:
    assert {"marts/kpi_interval.sql", "api/kpi_rollup.sql", "views/v_kpi_daily.sql"} <= set(_raw_sql())
    assert {"analyse/trends.py", "analyse/staffing.py"} <= set(_python_modules())


@pytest.mark.parametrize("name", sorted(_raw_sql()))
def test_no_sql_file_writes_a_ratio_or_a_count_itself(name: str) -> None:
    text = _raw_sql()[name]
    assert "/ nullif(" not in text, f"{name}: a ratio written by hand; declare it in contactlake.metrics"
    assert "CASE :sl_variant" not in text, f"{name}: service level by hand"
    assert "'answered_only'" not in text, f"{name}: service level by hand"
    for count in metrics.COUNTS:
        assert count.detail not in text, f"{name}: {count.name} measured by hand; use -- @include kpi_counts"
    listed = {word for word in re.findall(r"\b[a-z_]+\b", text) if word in COUNT_NAMES}
    assert listed != set(COUNT_NAMES), f"{name}: the count columns listed by hand; use an @include"


@pytest.mark.parametrize("module", sorted(_python_modules()))
def test_no_python_module_computes_a_declared_measure_itself(module: str) -> None:
    text = _python_modules()[module]
    assert "/ nullif(" not in text, f"{module}: SQL ratio text in Python"
    for measure in metrics.MEASURES:
        numerator, denominator = measure.numerator[0], measure.denominator[0].lstrip("-")
        divided = re.compile(rf"[\"']{numerator}[\"'].{{0,60}}/.{{0,60}}[\"']{denominator}[\"']")
        paired = re.compile(rf"[\"']{numerator}[\"']\s*,\s*[\"']{denominator}[\"']")
        assert not divided.search(text), f"{module}: {measure.key} computed by hand; use metrics.value"
        assert not paired.search(text), f"{module}: {measure.key} spelled out; use metrics.parts"


def test_the_kpi_models_carry_every_declared_count_and_rate() -> None:
    rates = [metrics.measure_sql(name) for name, _ in metrics.KPI_RATES]
    for model in ("kpi_interval", "kpi_agent_interval", "test_contact_kpis"):
        text = sqlfiles.load_sql(model)
        for count in metrics.COUNTS:
            assert f"{count.detail} AS {count.name}" in text, (model, count.name)
        for rate in rates:
            assert "\n".join("    " + line for line in rate.splitlines()) in text, (model, rate)
    rollup = sqlfiles.load_sql("kpi_rollup")
    for count in metrics.COUNTS:
        rolled = f"{count.rollup}({count.name})"
        if count.rollup == "sum" and count.type == "int64":
            rolled = f"CAST({rolled} AS BIGINT)"  # DuckDB would sum into a 128-bit integer
        assert f"{rolled} AS {count.name}" in rollup, count.name
    assert "@include" not in rollup
    assert "@measure" not in rollup


def test_measures_outside_the_kpi_tables_are_rendered_from_the_declarations() -> None:
    for model, names in {
        "agent_kpis": ("aht_seconds", "hold_rate", "fcr_rate", "occupancy", "utilisation", "shrinkage"),
        "workforce": ("occupancy", "utilisation", "shrinkage", "cost_per_contact"),
        "v_cost_daily": ("cost_per_contact",),
    }.items():
        text = sqlfiles.load_sql(model)
        for name in names:
            assert metrics.measure_sql(name) in text, (model, name)
    view = sqlfiles.load_sql("v_kpi_daily")
    assert metrics.measure_sql("service_level", variant_from="sl_variant").splitlines()[1] in view
    assert "CASE sl_variant" in view


def test_the_aggregate_schemas_are_the_declared_counts_then_the_stored_rates() -> None:
    names = [f.name for f in MEASURE_FIELDS]
    assert names == [*COUNT_NAMES, *(name for name, _ in metrics.KPI_RATES)]
    for table in (KPI_INTERVAL, KPI_DAILY):
        assert table.schema.names[-len(names) :] == names


def test_python_callers_take_the_declared_parts() -> None:
    row = {
        "answered_within_sl": 70, "abandoned_within_sl": 10, "offered": 100, "answered": 90,
        "abandoned": 8, "short_abandoned": 2, "fcr_resolved": 30, "fcr_eligible": 40, "held": 9,
        "transferred": 5, "escalated": 1, "self_served": 12, "ivr_entered": 60, "callback_requested": 3,
    }  # fmt: skip
    expected_sl = {
        "answered_only": (70, 90), "abandons_ignored": (70, 90), "abandons_negative": (70, 100),
        "short_abandons_positive": (80, 100),
    }  # fmt: skip
    assert set(expected_sl) == set(metrics.SL_VARIANTS)
    assert get_args(config.SlVariant) == metrics.SL_VARIANTS == config.SL_VARIANTS
    for variant, parts in expected_sl.items():
        assert trends.rate_parts(row, "service_level", variant) == parts
    assert trends.rate_parts(row, "abandon_rate", "answered_only") == (8, 98)
    assert trends.rate_parts(row, "fcr_rate", "answered_only") == (30, 40)
    assert metrics.value({"answered_wait_seconds": 90.0, "answered": 0}, "asa_seconds") is None
    declared = {m.name for m in metrics.MEASURES} | set(COUNT_NAMES)
    assert set(trends.RATE_MEASURES) <= declared
    assert set(queries.KPI_COLUMNS) <= declared


def test_an_unknown_measure_is_named() -> None:
    with pytest.raises(KeyError, match="no measure 'nope'"):
        metrics.measure_sql("nope")


def test_docs_formula_table_is_generated_from_the_declarations() -> None:
    generator = runpy.run_path(str(REPO / "infra" / "gen_metrics_doc.py"))
    doc = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert generator["replace_block"](doc, metrics.markdown_table()) == doc, (
        "docs/metrics.md is stale: python infra/gen_metrics_doc.py --write"
    )
    for measure in metrics.MEASURES:
        assert f"| `{measure.name}` |" in doc
