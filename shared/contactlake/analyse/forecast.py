"""Interval volume forecast and its accuracy.

Method (docs/adr/0006): a weighted average of the same weekday and 15-minute interval over the last
``HISTORY_WEEKS`` weeks that have data, recent weeks weighted more (weights N, N-1, ..., 1). Contact
arrivals are dominated by the weekly and intraday cycle, which this captures directly; it needs only
a week of history, degrades gracefully when weeks are missing, and a one-off spike moves it by at most
its weight. Accuracy is WAPE (sum |F - A| / sum A, the headline), MAPE over intervals with arrivals
(volatile at 15 minutes, shown for completeness) and bias (sum (F - A) / sum A).

The nightly run stores the forecast for the seven days after the last analysed day (days that already
have actuals are left alone), so each stored day is the forecast made with the data up to the night
before at most a week ahead. Days with no stored forecast are back-tested on request the same way
(made with the data up to the day before) and marked so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import pyarrow as pa

from contactlake.analyse.aggregates import MaterialiseResult, write_days
from contactlake.analyse.common import (
    INTERVAL_MINUTES,
    check_range,
    days_between,
    range_params,
    rollup,
    run_sql,
)
from contactlake.config import CentreConfig
from contactlake.ports import Ports
from contactlake.tables import FORECAST_INTERVAL

__all__ = [
    "ACCURACY_SCHEMA",
    "FORECAST_SCHEMA",
    "HISTORY_WEEKS",
    "METHOD",
    "History",
    "forecast_accuracy",
    "forecast_days",
    "forecast_week",
    "materialise_forecast",
]

HISTORY_WEEKS = 6
HORIZON_DAYS = 7
METHOD = (
    f"weighted average of the same weekday and {INTERVAL_MINUTES}-minute interval over the last "
    f"{HISTORY_WEEKS} weeks with data (weights {HISTORY_WEEKS}..1, most recent first)"
)
_SLOTS = 24 * 60 // INTERVAL_MINUTES

FORECAST_SCHEMA = pa.schema(
    [
        ("interval_start", pa.timestamp("ms")),
        ("forecast_offered", pa.float64()),
        ("actual_offered", pa.int64()),
        ("method", pa.string()),
        ("made_through", pa.date32()),
    ]
)
ACCURACY_SCHEMA = pa.schema(
    [
        ("contact_date", pa.date32()),
        ("source", pa.string()),
        ("forecast_offered", pa.float64()),
        ("actual_offered", pa.int64()),
        ("wape", pa.float64()),
        ("mape", pa.float64()),
        ("bias", pa.float64()),
        ("intervals", pa.int64()),
        ("method", pa.string()),
    ]
)


class History:
    """Offered contacts per (local day, slot), and which days have any data at all."""

    def __init__(self, rows: Iterable[dict[str, object]]) -> None:
        self.offered: dict[tuple[date, int], int] = {}
        self.days: set[date] = set()
        for row in rows:
            start = row["period_start"]
            assert isinstance(start, datetime)
            slot = (start.hour * 60 + start.minute) // INTERVAL_MINUTES
            self.offered[(start.date(), slot)] = int(row["offered"])  # type: ignore[call-overload]
            self.days.add(start.date())

    @classmethod
    def load(cls, ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> History:
        return cls(rollup(ports, centre, date_from, date_to, "15min").to_pylist())

    def actual(self, day: date, slot: int) -> int | None:
        return self.offered.get((day, slot), 0) if day in self.days else None


def _slot_start(day: date, slot: int) -> datetime:
    return datetime(day.year, day.month, day.day) + timedelta(minutes=slot * INTERVAL_MINUTES)


def forecast_days(history: History, days: Iterable[date], made_through: date) -> list[dict[str, object]]:
    """Forecast rows (FORECAST_INTERVAL columns + contact_date) using only history up to ``made_through``."""
    rows: list[dict[str, object]] = []
    for day in days:
        weeks = []
        for k in range(1, HISTORY_WEEKS + 1):
            source = day - timedelta(days=7 * k)
            if source <= made_through and source in history.days:
                weeks.append((HISTORY_WEEKS + 1 - k, source))
        if not weeks:
            continue
        total_weight = sum(weight for weight, _ in weeks)
        for slot in range(_SLOTS):
            value = sum(weight * history.offered.get((source, slot), 0) for weight, source in weeks)
            rows.append(
                {
                    "contact_date": day,
                    "interval_start": _slot_start(day, slot),
                    "forecast_offered": value / total_weight,
                    "method": METHOD,
                    "made_through": made_through,
                    "history_weeks": len(weeks),
                }
            )
    return rows


def materialise_forecast(ports: Ports, centre: CentreConfig, date_to: date) -> MaterialiseResult:
    """Store the forecast for the seven days after ``date_to`` that have no actuals yet."""
    history = History.load(
        ports, centre, date_to - timedelta(days=7 * HISTORY_WEEKS), date_to + timedelta(HORIZON_DAYS)
    )
    targets = days_between(date_to + timedelta(days=1), date_to + timedelta(HORIZON_DAYS))
    pending = [d for d in targets if d not in history.days]
    rows = forecast_days(history, pending, date_to)
    schema = FORECAST_INTERVAL.schema.append(pa.field("contact_date", pa.date32()))
    return write_days(
        ports, FORECAST_INTERVAL, centre.centre_id, pa.Table.from_pylist(rows, schema=schema), pending
    )


def forecast_week(ports: Ports, centre: CentreConfig, week_start: date) -> pa.Table:
    """The week's interval forecast with actuals where known: stored if it was, else made now."""
    week_end = week_start + timedelta(days=6)
    stored = run_sql(ports, "forecast_read", range_params(centre, week_start, week_end))
    if stored.num_rows:
        return stored.select(FORECAST_SCHEMA.names).cast(FORECAST_SCHEMA)
    made_through = week_start - timedelta(days=1)
    history = History.load(ports, centre, week_start - timedelta(days=7 * HISTORY_WEEKS), week_end)
    rows = forecast_days(history, days_between(week_start, week_end), made_through)
    for row in rows:
        start = row["interval_start"]
        assert isinstance(start, datetime)
        row["actual_offered"] = history.actual(
            start.date(), (start.hour * 60 + start.minute) // INTERVAL_MINUTES
        )
    return pa.Table.from_pylist(rows, schema=FORECAST_SCHEMA)


def _accuracy(day: date, source: str, pairs: list[tuple[float, int]], method: str) -> dict[str, object]:
    forecast_total = sum(f for f, _ in pairs)
    actual_total = sum(a for _, a in pairs)
    with_arrivals = [(f, a) for f, a in pairs if a > 0]
    return {
        "contact_date": day,
        "source": source,
        "forecast_offered": forecast_total,
        "actual_offered": actual_total,
        "wape": sum(abs(f - a) for f, a in pairs) / actual_total if actual_total else None,
        "mape": sum(abs(f - a) / a for f, a in with_arrivals) / len(with_arrivals) if with_arrivals else None,
        "bias": (forecast_total - actual_total) / actual_total if actual_total else None,
        "intervals": len(pairs),
        "method": method,
    }


def forecast_accuracy(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    """WAPE, MAPE and bias per day with actuals: stored forecasts where present, else a back-test."""
    check_range(date_from, date_to)
    history = History.load(ports, centre, date_from - timedelta(days=7 * HISTORY_WEEKS), date_to)
    stored: dict[date, list[tuple[float, int]]] = {}
    stored_method: dict[date, str] = {}
    for row in run_sql(ports, "forecast_read", range_params(centre, date_from, date_to)).to_pylist():
        if row["actual_offered"] is not None:
            stored.setdefault(row["contact_date"], []).append(
                (row["forecast_offered"], row["actual_offered"])
            )
            stored_method[row["contact_date"]] = row["method"]
    rows = []
    for day in days_between(date_from, date_to):
        if day in stored:
            rows.append(_accuracy(day, "stored", stored[day], stored_method[day]))
        elif day in history.days:
            made = forecast_days(history, [day], day - timedelta(days=1))
            pairs = [
                (float(r["forecast_offered"]), history.actual(day, i) or 0)  # type: ignore[arg-type]
                for i, r in enumerate(made)
            ]
            if pairs:
                rows.append(
                    _accuracy(day, "backtest", pairs, f"{METHOD}; back-test made with data to the day before")
                )
    return pa.Table.from_pylist(rows, schema=ACCURACY_SCHEMA)
