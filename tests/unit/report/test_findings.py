"""The executive's three findings: misses first, significant effects only, at most two per centre."""

from __future__ import annotations

from datetime import date

from contactlake.analyse.trends import Anomaly, MeasureTrend, PeriodChange
from contactlake.report.findings import from_anomaly, from_change, from_plan, from_trend, top_findings


def plan_row(kpi: str, actual: float, target: float, on_target: bool | None) -> dict[str, object]:
    return {
        "kpi": kpi,
        "actual": actual,
        "target": target,
        "variance": actual - target,
        "variance_pct": (actual - target) / target,
        "on_target": on_target,
    }


def test_a_missed_target_reads_plainly() -> None:
    fact = from_plan("South", plan_row("abandon_rate", 0.099, 0.06, False))
    assert fact is not None
    assert fact.text == "South missed its abandon rate target: 9.9% against 6.0%, 3.9 points over."
    short = from_plan("North", plan_row("service_level", 0.72, 0.80, False))
    assert short is not None
    assert short.text.endswith("72.0% against 80.0%, 8.0 points short.")


def test_planning_band_misses_and_comfortable_successes() -> None:
    band = from_plan("North", plan_row("offered_per_day", 871.0, 1200.0, False))
    assert band is not None
    assert band.text.startswith(
        "At North, contacts offered per day averaged 871, 27% below the plan of 1,200"
    )
    good = from_plan("North", plan_row("cost_per_contact", 3.5, 4.2, True))
    assert good is not None
    assert good.text == "North is on plan for cost per contact: £3.50 against £4.20 (17% better than plan)."
    assert (
        from_plan("North", plan_row("cost_per_contact", 4.19, 4.2, True)) is None
    )  # too close to say anything
    assert (
        from_plan("North", plan_row("service_level", 0.9, 0.8, None)) is None
    )  # no verdict: too few contacts


def test_trends_need_significance() -> None:
    method = "seasonal Mann-Kendall test (Hirsch; season = day of week); alpha 0.05"
    rising = from_trend("North", MeasureTrend("offered", "up", 0.004, 12.0, 84, method))
    assert rising is not None
    assert rising.text == (
        "At North, contacts offered has been rising over 84 days; seasonal Mann-Kendall test, p = 0.004."
    )
    assert from_trend("North", MeasureTrend("offered", "up", 0.2, 12.0, 84, method)) is None
    assert from_trend("North", MeasureTrend("offered", "insufficient data", None, None, 3, method)) is None
    worse = from_trend("North", MeasureTrend("abandon_rate", "up", 0.01, 0.001, 84, method))
    assert worse is not None
    assert "(a worsening)" in worse.text


def test_week_over_week_change_and_anomaly() -> None:
    change = PeriodChange(
        "service_level",
        0.81,
        0.88,
        -0.07,
        -0.0795,
        0.0001,
        True,
        "last 7 days vs the 7 before: two-proportion z-test (pooled), needs >= 30 contacts",
    )
    fact = from_change("South", change)
    assert fact is not None
    assert fact.text == (
        "At South, service level fell 7.0 points in the last 7 days compared with the 7 before "
        "(88.0% → 81.0%; two-proportion z-test, p = 0.000)."
    )
    assert from_change("South", PeriodChange("offered", 10, 9, 1, 0.11, 0.5, False, "x")) is None
    day = from_anomaly("North", Anomaly(date(2026, 11, 9), "offered", 1840.0, 1420.0, 4.2, "robust z"))
    assert day.text == (
        "Monday 09 November at North was unusual: contacts offered 1,840, well above the usual "
        "1,420 for that weekday (robust z = 4.2)."
    )


def test_top_findings_rank_and_spread() -> None:
    facts = [
        from_plan("North", plan_row("service_level", 0.70, 0.80, False)),
        from_plan("North", plan_row("abandon_rate", 0.09, 0.05, False)),
        from_plan("North", plan_row("asa_seconds", 60.0, 30.0, False)),
        from_plan("South", plan_row("cost_per_contact", 3.0, 4.6, True)),
        None,
    ]
    chosen = top_findings(facts, 3)
    assert len(chosen) == 3
    assert [c.split(" ")[0] for c in chosen] == ["North", "North", "South"]  # two per centre at most
    assert "abandon rate" in chosen[0]  # the largest relative miss (80 %) comes first
    assert top_findings([], 3) == []
