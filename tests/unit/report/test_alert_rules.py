"""Exception alert rules: thresholds, direction, minimum volume and consecutive intervals (issue 16)."""

from __future__ import annotations

from datetime import datetime, timedelta

from contactlake.config import AlertRule, CentreConfig
from contactlake.report.alerts import find_breaches

CENTRE = CentreConfig("south", "South (Bristol)", "Europe/London")
RULE = AlertRule("abandons", "abandon_rate", 0.10, "above", min_offered=20, consecutive=2)


def hours(*values: tuple[float | None, int]) -> list[dict[str, object]]:
    start = datetime(2026, 11, 9, 8)
    return [
        {"period_start": start + timedelta(hours=n), "abandon_rate": rate, "offered": offered}
        for n, (rate, offered) in enumerate(values)
    ]


def test_a_run_of_consecutive_intervals_fires_once_with_its_worst_value() -> None:
    rows = hours((0.12, 51), (0.16, 79), (0.15, 74), (0.05, 60), (0.30, 40))
    [breach] = find_breaches(RULE, CENTRE, rows)
    assert (breach.start.hour, breach.end.hour, breach.intervals) == (8, 10, 3)
    assert breach.worst == 0.16
    assert breach.offered == 51 + 79 + 74
    assert (
        "South (Bristol) 08:00–11:00: abandon rate up to 16.0% (above 10.0% for 3 interval(s), 204 contacts)"
        in breach.text
    )


def test_low_volume_and_missing_values_break_a_run() -> None:
    assert find_breaches(RULE, CENTRE, hours((0.12, 51), (0.50, 5), (0.16, 79))) == []
    assert find_breaches(RULE, CENTRE, hours((0.12, 51), (None, 0), (0.16, 79))) == []
    below = AlertRule("sl", "abandon_rate", 0.02, "below", min_offered=1)
    assert [b.worst for b in find_breaches(below, CENTRE, hours((0.01, 5), (0.03, 5), (0.0, 5)))] == [
        0.01,
        0.0,
    ]
