"""Trend, week-over-week change and anomalies on six hand-made weeks with a known rise and one spike.

Weekdays of week k (k = 0 .. 5, from Monday 2026-01-05) get 50 + 2k contacts, weekends 20; Wednesday
2026-02-11 gets 150 (the spike). Every contact is answered within the SL threshold.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import queries, run_analysis, trends
from contactlake.config import Settings
from tests.functional.analyse.handmade import CENTRE, contact, hand_config, write_contacts

START, SPIKE, END = date(2026, 1, 5), date(2026, 2, 11), date(2026, 2, 15)


def _volume(day: date) -> int:
    if day == SPIKE:
        return 150
    return 20 if day.weekday() >= 5 else 50 + 2 * ((day - START).days // 7)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> queries.TrendReport:
    ports = build_local_ports(Settings(home=tmp_path_factory.mktemp("trends") / "lake"))
    rows = []
    day = START
    while day <= END:
        for n in range(_volume(day)):
            at = datetime(day.year, day.month, day.day, 9) + timedelta(minutes=n)
            rows.append(
                contact(f"{day}-{n}", at.isoformat(" "), "answered", queue_seconds=5.0, talk_seconds=100.0)
            )
        day += timedelta(days=1)
    write_contacts(ports, rows)
    config = hand_config()
    run_analysis(ports, config, [CENTRE], START, END)
    return trends.trends(ports, config.centre(CENTRE), date(2026, 1, 19), END)


def test_rising_volume_is_a_significant_upward_trend(report: queries.TrendReport) -> None:
    offered = next(t for t in report.trends if t.measure == "offered")
    # Weekends (20 contacts) are below the 30-contact minimum and left out: 4 weeks x 5 weekdays.
    # Each weekday rises every week: S = 6 per weekday, Var = 4*3*13/18 per weekday.
    variance = 5 * (4 * 3 * 13 / 18)
    assert offered.days == 20
    assert offered.p_value == pytest.approx(math.erfc(((30 - 1) / math.sqrt(variance)) / math.sqrt(2)))
    assert (offered.direction, offered.slope_per_week) == ("up", 2.0)
    flat = next(t for t in report.trends if t.measure == "aht_seconds")
    assert flat.direction == "none"


def test_week_over_week(report: queries.TrendReport) -> None:
    offered = next(c for c in report.week_over_week if c.measure == "offered")
    assert (offered.current, offered.previous) == (4 * 60 + 150 + 2 * 20, 5 * 58 + 2 * 20)
    assert offered.change_pct == pytest.approx(100 / 330)
    assert offered.significant is True
    assert report.year_over_year is None


def test_only_the_spike_is_an_anomaly(report: queries.TrendReport) -> None:
    assert [(a.date, a.measure, a.value, a.baseline) for a in report.anomalies] == [
        (SPIKE, "offered", 150.0, 54.0)
    ]
    # Baseline: the five previous Wednesdays 50, 52, 54, 56, 58 -> median 54, MAD 2.
    assert report.anomalies[0].z == pytest.approx((150 - 54) / (1.4826 * 2))
    assert "Iglewicz-Hoaglin" in report.anomalies[0].method
