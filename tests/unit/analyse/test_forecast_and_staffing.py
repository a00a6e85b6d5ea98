"""The forecast's weighting, the staffing rows and the test-case file, on hand-made inputs (no lake)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from contactlake.analyse.erlang import erlang_a, erlang_c
from contactlake.analyse.forecast import History, forecast_days
from contactlake.analyse.quality import load_test_cases
from contactlake.analyse.staffing import DEFAULT_PATIENCE_SECONDS, compute_staffing, estimate_patience
from contactlake.config import ConfigError, parse_app_config

MONDAY = date(2026, 3, 30)


def _history(values: dict[date, int]) -> History:
    return History(
        [{"period_start": datetime(d.year, d.month, d.day, 9), "offered": v} for d, v in values.items()]
    )


def test_forecast_weights_recent_weeks_more() -> None:
    history = _history(
        {MONDAY - timedelta(days=7): 30, MONDAY - timedelta(days=14): 20, MONDAY - timedelta(days=21): 10}
    )
    rows = forecast_days(history, [MONDAY], made_through=MONDAY - timedelta(days=1))
    nine = next(r for r in rows if r["interval_start"] == datetime(2026, 3, 30, 9))
    # weights 6, 5, 4 for one, two, three weeks back
    assert nine["forecast_offered"] == pytest.approx((6 * 30 + 5 * 20 + 4 * 10) / 15)
    assert nine["history_weeks"] == 3
    assert len(rows) == 96
    assert next(r for r in rows if r["interval_start"] == datetime(2026, 3, 30, 10))["forecast_offered"] == 0


def test_forecast_skips_missing_weeks_and_never_uses_the_future() -> None:
    history = _history({MONDAY - timedelta(days=14): 20, MONDAY: 99})
    rows = forecast_days(history, [MONDAY], made_through=MONDAY - timedelta(days=1))
    nine = next(r for r in rows if r["interval_start"] == datetime(2026, 3, 30, 9))
    assert (nine["forecast_offered"], nine["history_weeks"]) == (20.0, 1)
    assert forecast_days(_history({}), [MONDAY], MONDAY) == []
    assert history.actual(MONDAY, 36) == 99
    assert history.actual(MONDAY, 37) == 0
    assert history.actual(MONDAY + timedelta(days=1), 36) is None


def test_patience_estimate() -> None:
    assert estimate_patience(1200.0, 12).seconds == pytest.approx(100.0)
    few = estimate_patience(1200.0, 3)
    assert few.seconds == DEFAULT_PATIENCE_SECONDS
    assert "defaulted" in few.method


def _work(start: datetime, offered: int, answered: int, handle: float, **extra: float) -> dict[str, object]:
    return {"period_start": start, "offered": offered, "answered": answered, "talk_seconds": handle,
            "hold_seconds": 0.0, "acw_seconds": 0.0, "queued_wait_seconds": extra.get("queued", 0.0),
            "abandoned": int(extra.get("abandoned", 0)), "short_abandoned": 0, "other_handle_seconds": 0.0,
            "service_level": extra.get("sl", 1.0)}  # fmt: skip


def test_staffing_rows_follow_erlang_for_the_centre_policy() -> None:
    centre = parse_app_config({"centres": {"c1": {"service_level": {"threshold_seconds": 20, "target": 0.8},
                                                  "max_occupancy": 0.85, "shrinkage": 0.3}}}).centre("c1")  # fmt: skip
    nine = datetime(2026, 3, 30, 9)
    workload = [_work(nine, 50, 50, 50 * 180.0, queued=3000.0, abandoned=12)]
    staffed = [{"interval_start": nine, "agents_logged_in": 13, "net_staffed_seconds": 10 * 900.0}]
    row = compute_staffing(centre, workload, staffed).to_pylist()[0]
    need = erlang_c(50, 180.0, 900, 20, 0.8, 0.85, 0.3)
    need_a = erlang_a(50, 180.0, 900, 20, 0.8, 3000.0 / 12, 0.85, 0.05, 0.3)
    assert (row["traffic_erlangs"], row["required_erlang_c"], row["required_positions"]) == (
        10.0, need.raw_positions, need.positions)  # fmt: skip
    assert (row["required_erlang_a"], row["patience_seconds"]) == (need_a.raw_positions, 250.0)
    assert row["staffed_agents"] == 10.0
    assert row["gap"] == 10.0 - need.raw_positions
    assert row["occupancy"] == pytest.approx(9000 / 9000)
    assert "Erlang C" in row["method"]
    assert "patience estimated from 12 abandons" in row["method"]


def test_packaged_test_cases_and_a_bad_file(tmp_path: object) -> None:
    cases = load_test_cases()
    assert set(cases) == {"answered_within_sl", "abandoned_after_40s"}
    assert cases["answered_within_sl"].expected["aht_seconds"] == 150.0
    bad = tmp_path / "cases.toml"  # type: ignore[operator]
    bad.write_text("[x.expected]\nwait_seconds = 3\n")
    with pytest.raises(ConfigError, match=r"unknown measures \['wait_seconds'\]"):
        load_test_cases(bad)
