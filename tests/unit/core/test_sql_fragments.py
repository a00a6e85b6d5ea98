"""SQL files share fragments (the KPI rate formulas) by inclusion, so each formula is written once."""

from __future__ import annotations

import pytest

from contactlake import sqlfiles


def test_both_kpi_results_carry_the_same_rate_formulas_from_one_fragment() -> None:
    interval, rollup = sqlfiles.load_sql("kpi_interval"), sqlfiles.load_sql("kpi_rollup")
    for text in (interval, rollup):
        assert "@include" not in text
        assert "AS fcr_rate" in text
    start = interval.index("CASE :sl_variant")
    block = interval[start : interval.index("AS fcr_rate", start)]
    # The same text, indented as deep as each file includes it.
    assert " ".join(block.split()) in " ".join(rollup.split())
    assert sqlfiles.parameter_names(rollup).count("sl_variant") >= 1


def test_an_unknown_fragment_is_named() -> None:
    with pytest.raises(KeyError, match="no SQL fragment named 'nope'"):
        sqlfiles._INCLUDE.sub(lambda m: sqlfiles._fragment(m.group(1)), "SELECT\n    -- @include nope\n1")
