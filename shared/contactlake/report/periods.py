"""Report periods: which local days a daily, weekly, monthly or quarterly report covers.

A report covers the calendar period that contains ``as_of`` (a centre-local date), up to and including
``as_of``. The schedules run the morning after a period ends with ``as_of`` = yesterday, so scheduled
reports always cover whole periods (a whole week on Monday, a whole month on the 1st); a run in the middle
of a period (the CLI, the API's generate-on-demand) gives a period-to-date report, labelled as such.
Weeks start on Monday (ISO 8601), like Trino's ``date_trunc('week', …)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["GRAIN_OF_PERIOD", "PERIODS", "Window", "scheduled_as_of", "window_for"]

PERIODS = ("daily", "weekly", "monthly", "quarterly")

#: The KPI grain whose single row is the period's total (quarters are read as their months).
GRAIN_OF_PERIOD = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "month"}


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Window:
    """The local days a report covers: ``start``..``end`` inclusive, in the period ending ``period_end``."""

    period: str
    start: date
    end: date
    period_end: date

    @property
    def complete(self) -> bool:
        """False for a period-to-date report (run before the period ended)."""
        return self.end == self.period_end

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def label(self) -> str:
        """How the period is named in titles and subjects, e.g. ``week of 12 Oct 2026`` or ``Q4 2026``."""
        if self.period == "daily":
            return f"{self.start:%A} {self.start.day} {self.start:%B %Y}"
        if self.period == "weekly":
            text = f"week of {self.start.day} {self.start:%b %Y}"
        elif self.period == "monthly":
            text = f"{self.start:%B %Y}"
        else:
            text = f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        if not self.complete:
            text += f" to date ({self.start.day} {self.start:%b} – {self.end.day} {self.end:%b})"
        return text

    def previous(self) -> Window:
        """The whole period before this one (the comparison base)."""
        return window_for(self.period, self.start - timedelta(days=1))


def window_for(period: str, as_of: date) -> Window:
    """The window of ``period`` that contains ``as_of``, cut at ``as_of``."""
    if period == "daily":
        return Window(period, as_of, as_of, as_of)
    if period == "weekly":
        start = as_of - timedelta(days=as_of.weekday())
        return Window(period, start, as_of, start + timedelta(days=6))
    if period == "monthly":
        start = _month_start(as_of)
        return Window(period, start, as_of, _add_months(start, 1) - timedelta(days=1))
    if period == "quarterly":
        start = date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
        return Window(period, start, as_of, _add_months(start, 3) - timedelta(days=1))
    raise ValueError(f"unknown report period {period!r}; use one of {', '.join(PERIODS)}")


def scheduled_as_of(now: datetime, timezone: str = "UTC") -> date:
    """What a schedule firing at ``now`` reports on: yesterday, in the given zone."""
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)
