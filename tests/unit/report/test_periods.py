"""Report windows: the period containing as_of, cut at as_of; schedules pass yesterday."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contactlake.report.periods import scheduled_as_of, window_for


@pytest.mark.parametrize(
    ("period", "as_of", "start", "end", "period_end"),
    [
        ("daily", date(2026, 11, 15), date(2026, 11, 15), date(2026, 11, 15), date(2026, 11, 15)),
        # 15 Nov 2026 is a Sunday: the whole ISO week Monday 9 - Sunday 15.
        ("weekly", date(2026, 11, 15), date(2026, 11, 9), date(2026, 11, 15), date(2026, 11, 15)),
        # A Wednesday: week to date.
        ("weekly", date(2026, 11, 11), date(2026, 11, 9), date(2026, 11, 11), date(2026, 11, 15)),
        ("monthly", date(2026, 11, 30), date(2026, 11, 1), date(2026, 11, 30), date(2026, 11, 30)),
        ("monthly", date(2026, 2, 10), date(2026, 2, 1), date(2026, 2, 10), date(2026, 2, 28)),
        ("quarterly", date(2026, 12, 31), date(2026, 10, 1), date(2026, 12, 31), date(2026, 12, 31)),
        ("quarterly", date(2026, 11, 15), date(2026, 10, 1), date(2026, 11, 15), date(2026, 12, 31)),
    ],
)
def test_window_for(period: str, as_of: date, start: date, end: date, period_end: date) -> None:
    window = window_for(period, as_of)
    assert (window.start, window.end, window.period_end) == (start, end, period_end)
    assert window.complete is (end == period_end)
    assert window.days[0] == start
    assert window.days[-1] == end
    assert len(window.days) == (end - start).days + 1


def test_labels_say_when_a_period_is_only_to_date() -> None:
    assert window_for("daily", date(2026, 11, 15)).label == "Sunday 15 November 2026"
    assert window_for("weekly", date(2026, 11, 15)).label == "week of 9 Nov 2026"
    assert window_for("monthly", date(2026, 11, 30)).label == "November 2026"
    assert window_for("monthly", date(2026, 11, 15)).label == "November 2026 to date (1 Nov – 15 Nov)"
    assert window_for("quarterly", date(2026, 12, 31)).label == "Q4 2026"


def test_previous_period_is_whole() -> None:
    previous = window_for("monthly", date(2026, 3, 10)).previous()
    assert (previous.start, previous.end) == (date(2026, 2, 1), date(2026, 2, 28))
    week = window_for("weekly", date(2026, 11, 11)).previous()
    assert (week.start, week.end) == (date(2026, 11, 2), date(2026, 11, 8))
    assert window_for("quarterly", date(2026, 1, 5)).previous().start == date(2025, 10, 1)


def test_scheduled_as_of_is_yesterday_in_the_zone() -> None:
    # 23:30 UTC on 15 Nov is already 16 Nov in Tokyo: yesterday there is the 15th.
    now = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)
    assert scheduled_as_of(now) == date(2026, 11, 14)
    assert scheduled_as_of(now, "Asia/Tokyo") == date(2026, 11, 15)


def test_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="use one of daily, weekly"):
        window_for("hourly", date(2026, 11, 15))
