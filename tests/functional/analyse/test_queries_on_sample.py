"""The read API the reports are built on, over the shipped sample (north, 2026-11-02 .. 2026-11-15).

Checks the documented columns, and that the figures agree with each other and with the lake.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import plan, quality, queries, trends
from contactlake.analyse.forecast import forecast_accuracy, forecast_week
from contactlake.analyse.quality import TestCase, check_test_contacts, load_test_cases
from contactlake.config import Settings
from contactlake.ports import Ports
from tests.functional.analyse.conftest import SampleLake

pytestmark = pytest.mark.slow
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 15)


def test_kpis_columns_for_every_grain_and_dimension(sample_lake: SampleLake) -> None:
    ports, centre = sample_lake.ports, sample_lake.centre
    measures = ["offered", "answered", "abandoned", "short_abandoned", "service_level", "asa_seconds",
                "longest_wait_seconds", "avg_time_to_abandon_seconds", "aht_seconds", "abandon_rate", "hold_rate",
                "transfer_rate", "escalation_rate", "ivr_containment", "callback_rate"]  # fmt: skip
    day_total = queries.kpis(ports, centre, "day", FIRST, FIRST).column("offered").to_pylist()
    combinations = [(grain, "none", None) for grain in ("15min", "30min", "60min", "week", "month")]
    combinations += [("day", "queue", "queue"), ("day", "channel", "channel"), ("60min", "agent", "agent_id")]
    for grain, dimension, column in combinations:
        table = queries.kpis(ports, centre, grain, FIRST, FIRST, dimension)
        expected = ["period_start", *([column] if column else [])]
        assert table.column_names[: len(expected)] == expected
        assert set(measures) <= set(table.column_names)
        assert sum(table.column("offered").to_pylist()) == day_total[0], (grain, dimension)
    with pytest.raises(ValueError, match="grain 'year'"):
        queries.kpis(ports, centre, "year", FIRST, FIRST)
    with pytest.raises(ValueError, match="dimension 'caller'"):
        queries.kpis(ports, centre, "day", FIRST, FIRST, "caller")


def test_daily_kpis_equal_the_detail(sample_lake: SampleLake) -> None:
    detail = sample_lake.ports.engine.query(
        "SELECT count(*) AS answered, avg(queue_seconds) AS asa FROM contacts "
        "WHERE centre_id = 'north' AND contact_date = DATE '2026-11-03' AND outcome = 'answered' "
        "AND test_case_id IS NULL"
    ).to_pylist()[0]
    day = queries.kpis(
        sample_lake.ports, sample_lake.centre, "day", date(2026, 11, 3), date(2026, 11, 3)
    ).to_pylist()
    assert (day[0]["answered"], day[0]["asa_seconds"]) == (detail["answered"], pytest.approx(detail["asa"]))


def test_staffing_and_agent_columns(sample_lake: SampleLake) -> None:
    ports, centre = sample_lake.ports, sample_lake.centre
    staffing = queries.staffing(ports, centre, FIRST, FIRST)
    for column in ("interval_start", "offered", "aht_seconds", "required_erlang_c", "required_erlang_a",
                   "required_positions", "staffed_agents", "gap", "occupancy", "method"):  # fmt: skip
        assert column in staffing.column_names
    assert b"Erlang C" in staffing.schema.metadata[b"method"]
    busy = [r for r in staffing.to_pylist() if r["offered"] >= 20]
    assert busy
    assert all(r["required_positions"] >= r["required_erlang_c"] >= 1 for r in busy)
    agents = queries.agent_kpis(ports, centre, FIRST, LAST)
    assert agents.column_names[:9] == ["agent_id", "team", "answered", "aht_seconds", "talk_seconds", "hold_seconds",
                                       "acw_seconds", "hold_rate", "transfers"]  # fmt: skip
    total = queries.kpis(ports, centre, "month", FIRST, LAST).column("answered").to_pylist()
    assert sum(agents.column("answered").to_pylist()) == sum(total)


def test_profiles_average_over_days_of_that_weekday(sample_lake: SampleLake) -> None:
    ports, centre = sample_lake.ports, sample_lake.centre
    profile = {
        (r["day_of_week"], r["hour"]): r for r in trends.profiles(ports, centre, FIRST, LAST).to_pylist()
    }
    hourly = queries.kpis(ports, centre, "60min", FIRST, LAST).to_pylist()
    mondays_at_ten = [
        r["offered"] for r in hourly if r["period_start"].weekday() == 0 and r["period_start"].hour == 10
    ]
    assert len(mondays_at_ten) == 2
    assert profile[(1, 10)]["offered_avg"] == pytest.approx(sum(mondays_at_ten) / 2)
    assert profile[(1, 10)]["days"] == 2


def test_plan_vs_actual_and_cost(sample_lake: SampleLake) -> None:
    ports, centre = sample_lake.ports, sample_lake.centre
    rows = {r["kpi"]: r for r in plan.plan_vs_actual(ports, centre, FIRST, LAST).to_pylist()}
    assert set(rows) == {"offered_per_day", "service_level", "abandon_rate", "asa_seconds", "aht_seconds",
                         "cost_per_contact", "staff_cost"}  # fmt: skip
    period = queries.kpis(ports, centre, "month", FIRST, LAST).to_pylist()[0]
    sl = rows["service_level"]
    assert (sl["actual"], sl["target"]) == (pytest.approx(period["service_level"]), 0.80)
    assert sl["variance"] == pytest.approx(sl["actual"] - 0.80)
    assert sl["on_target"] is (sl["actual"] >= 0.80)
    assert rows["offered_per_day"]["actual"] == pytest.approx(period["offered"] / 14)
    assert rows["staff_cost"]["target"] == pytest.approx(150_000 * 14 / 30)  # November has 30 days
    cost = plan.cost_per_contact(ports, centre, FIRST, LAST, "all").to_pylist()[0]
    assert rows["cost_per_contact"]["actual"] == pytest.approx(cost["cost_per_contact"])
    assert cost["staff_cost"] == pytest.approx(cost["staffed_hours"] * 24.0)
    weekly = plan.plan_vs_actual(ports, centre, FIRST, LAST, grain="week")
    assert sorted(set(weekly.column("period_start").to_pylist())) == [FIRST, date(2026, 11, 9)]


def test_trend_report_states_its_methods(sample_lake: SampleLake) -> None:
    report = trends.trends(sample_lake.ports, sample_lake.centre, FIRST, LAST)
    assert [t.measure for t in report.trends][:2] == ["offered", "service_level"]
    assert all("Mann-Kendall" in t.method for t in report.trends)
    assert report.year_over_year is None  # no data a year earlier
    wow = {c.measure: c for c in report.week_over_week}
    week = queries.kpis(sample_lake.ports, sample_lake.centre, "week", FIRST, LAST).to_pylist()
    assert (wow["offered"].previous, wow["offered"].current) == (week[0]["offered"], week[1]["offered"])
    sl = next(r for r in report.rates if r.measure == "service_level")
    assert sl.ci_low is not None
    assert sl.ci_low < sl.rate < sl.ci_high


def test_forecast_stored_for_the_next_week_and_back_tested_accuracy(sample_lake: SampleLake) -> None:
    ports, centre = sample_lake.ports, sample_lake.centre
    week = forecast_week(ports, centre, date(2026, 11, 16)).to_pylist()
    assert len(week) == 7 * 96
    assert all(r["actual_offered"] is None and r["made_through"] == LAST for r in week)
    hourly = {
        r["period_start"]: r["offered"] for r in queries.kpis(ports, centre, "15min", FIRST, LAST).to_pylist()
    }
    # Monday 16th 10:00 = (6 x Monday 9th + 5 x Monday 2nd) / 11 (weights 6 and 5 for one and two weeks back).
    at = datetime(2026, 11, 16, 10, 0)
    recent, older = hourly.get(at - timedelta(days=7), 0), hourly.get(at - timedelta(days=14), 0)
    forecast = next(r["forecast_offered"] for r in week if r["interval_start"] == at)
    assert forecast == pytest.approx((6 * recent + 5 * older) / 11)
    accuracy = forecast_accuracy(ports, centre, FIRST, LAST).to_pylist()
    assert [r["contact_date"] for r in accuracy] == [FIRST + timedelta(days=n) for n in range(7, 14)]
    assert all(r["source"] == "backtest" and 0 < r["wape"] < 1 for r in accuracy)


def test_test_contacts_measured_exactly_as_expected(sample_lake: SampleLake) -> None:
    results = quality.check_test_contacts(sample_lake.ports, sample_lake.centre, FIRST, LAST).to_pylist()
    assert len({r["contact_id"] for r in results}) == 28  # two per day
    assert all(r["passed"] for r in results), [r for r in results if not r["passed"]][:3]
    stored = sample_lake.ports.engine.query(
        "SELECT count(*) AS n, count_if(passed) AS ok FROM test_contact_results"
    )
    assert stored.to_pylist() == [{"n": len(results), "ok": len(results)}]


def test_a_wrong_measurement_fails_its_test_case(sample_lake: SampleLake) -> None:
    cases = load_test_cases()
    strict = dict(cases) | {"answered_within_sl": TestCase("answered_within_sl", "", {"asa_seconds": 14.0})}
    results = check_test_contacts(sample_lake.ports, sample_lake.centre, FIRST, FIRST, strict).to_pylist()
    wrong = [r for r in results if not r["passed"]]
    assert [(r["check"], r["expected"], r["actual"]) for r in wrong] == [("asa_seconds", 14.0, 15.0)]


def test_reconciliation_passes_on_the_sample(sample_lake: SampleLake) -> None:
    checks = quality.reconciliation(sample_lake.ports, sample_lake.centre, FIRST, LAST).to_pylist()
    assert all(c["passed"] for c in checks), [c for c in checks if not c["passed"]][:3]
    scopes = {(c["scope"], c["check"]) for c in checks}
    assert ("upload", "rows in the lake = rows stored (manifest)") in scopes
    assert ("day", "offered: detail = 15-minute aggregate") in scopes
    assert len([c for c in checks if c["scope"] == "upload"]) == 2 * 28  # two checks per stored upload


def _copy(sample_lake: SampleLake, tmp_path: Path) -> Ports:
    shutil.copytree(sample_lake.settings.home, tmp_path / "lake")
    return build_local_ports(Settings(home=tmp_path / "lake"))


def test_reconciliation_catches_a_lost_file_and_a_stale_aggregate(
    sample_lake: SampleLake, tmp_path: Path
) -> None:
    ports = _copy(sample_lake, tmp_path)
    day = tmp_path / "lake" / "lake" / "curated" / "contacts" / "centre_id=north" / "contact_date=2026-11-04"
    lost = next(day.glob("*.parquet"))
    lost_rows = pq.read_metadata(lost).num_rows
    lost.unlink()
    failed = [
        c
        for c in quality.reconciliation(ports, sample_lake.centre, FIRST, LAST).to_pylist()
        if not c["passed"]
    ]
    assert ("upload", "rows in the lake = rows stored (manifest)") in {
        (c["scope"], c["check"]) for c in failed
    }
    upload = next(c for c in failed if c["scope"] == "upload")
    assert upload["expected"] - upload["actual"] == lost_rows
    day_checks = {c["check"] for c in failed if c["scope"] == "day" and c["subject"] == "2026-11-04"}
    assert "offered: detail = 15-minute aggregate" in day_checks  # the aggregate is now stale


def test_data_quality_reports_uploads_late_and_missing_days(sample_lake: SampleLake) -> None:
    rows = quality.data_quality(
        sample_lake.ports, sample_lake.centre, LAST, LAST + timedelta(days=1)
    ).to_pylist()
    stored = [r for r in rows if r["status"] == "stored"]
    assert {(r["day"], r["source"]) for r in stored} == {(LAST, "acd"), (LAST, "agents")}
    acd = next(r for r in stored if r["source"] == "acd")
    assert '"outcome.unknown_code": 1' in acd["quarantined_by_rule"]
    assert (acd["rows_flagged"], acd["flagged_by_rule"]) == (1, '{"duration.negative": 1}')
    assert acd["rows_read"] == acd["rows_stored"] + acd["rows_quarantined"] + acd["rows_excluded"]
    assert acd["late"] is True  # ingested long after 06:00 on the 16th
    assert acd["deadline_local"] == datetime(2026, 11, 16, 6, 0)
    missing = [(r["day"], r["source"]) for r in rows if r["missing"]]
    assert missing == [(LAST + timedelta(days=1), "acd"), (LAST + timedelta(days=1), "agents")]
