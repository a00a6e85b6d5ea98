"""Verdicts judge every planned KPI and name each miss; charts have distinct ticks, target lines and real
time axes (issue 16)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from contactlake.config import CentreConfig, PlanTargets, ServiceLevelPolicy
from contactlake.report import charts
from contactlake.report.audiences.common import queue_table, verdict

CENTRE = CentreConfig(
    "south",
    "South (Bristol)",
    "Europe/London",
    service_level=ServiceLevelPolicy(20, 0.80),
    plan=PlanTargets(abandon_rate=0.05, asa_seconds=30.0),
)
SUPPORT = {
    "queue": "support",
    "offered": 90,
    "service_level": 0.85,
    "abandon_rate": 0.111,
    "asa_seconds": 12.0,
}


def test_met_only_when_every_planned_kpi_is_within_plan() -> None:
    text, status = verdict(CENTRE, SUPPORT)
    assert (text, status) == ("missed: abandon rate 11.1% vs 5.0%", "bad")
    assert verdict(CENTRE, {**SUPPORT, "abandon_rate": 0.04}) == ("met", "neutral")
    both = verdict(CENTRE, {**SUPPORT, "service_level": 0.70, "asa_seconds": 45.0})[0]
    assert both == "missed: service level 70.0% vs 80.0%; abandon rate 11.1% vs 5.0%; ASA 45 s vs 30 s"


def test_queue_table_names_the_miss_and_says_what_met_means() -> None:
    table = queue_table(CENTRE, [SUPPORT])
    assert table.rows[0][-1] == "missed: abandon rate 11.1% vs 5.0%"
    assert table.row_status == ("bad",)
    assert "every planned KPI is within plan" in table.note


def _labels(axis: object) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]  # type: ignore[attr-defined]


def test_percent_axis_ticks_are_distinct_and_the_target_is_drawn() -> None:
    weeks = [datetime(2026, 10, 5) + timedelta(weeks=n) for n in range(6)]
    figure = charts.time_figure(
        "Service level by week",
        weeks,
        [("North", [0.899, 0.900, 0.901, 0.900, 0.902, 0.899])],
        target=0.925,
        percent=True,
        daily=False,
        interval=timedelta(weeks=1),
    )
    figure.canvas.draw()
    axes = figure.axes[0]
    labels = _labels(axes.yaxis)
    assert len(labels) >= 3, labels
    assert len(set(labels)) == len(labels), labels
    assert any(line.get_label() == "target 92.5%" for line in axes.get_lines())
    assert charts.percent_text(0.925) == "92.5%"


def test_time_axis_gives_each_interval_its_true_width() -> None:
    night = [datetime(2026, 11, 9, 0, 0)]
    day = [datetime(2026, 11, 9, 7, 0) + timedelta(minutes=15 * n) for n in range(6)]
    figure = charts.time_figure("Agents", night + day, [("required", [1.0] + [5.0] * 6)], step=True)
    axes = figure.axes[0]
    from matplotlib.dates import date2num

    xs = [date2num(x) for x in axes.get_lines()[0].get_xdata()]
    midnight, seven, quarter_past_eight = (date2num(t) for t in (night[0], day[0], day[-1]))
    assert midnight in xs
    assert seven in xs
    # 00:00 -> 07:00 is 5.6 times as wide as 07:00 -> 08:15, as the clock says, not one category step.
    assert (seven - midnight) / (quarter_past_eight - seven) == pytest.approx(7 / 1.25)
    assert any(x != x for x in axes.get_lines()[0].get_ydata()), "the line breaks across the night"
