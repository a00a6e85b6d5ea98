"""Patterns and trends: week shape, trend direction with a significance test, period-over-period change,
anomalies against the seasonal baseline, and rates with confidence intervals.

Every output carries the method that produced it, and no claim (a trend, a significant change, an
anomaly in a rate) is made from fewer than :data:`~contactlake.analyse.stats.MIN_CONTACTS` contacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from contactlake import metrics
from contactlake.analyse.common import check_range, rollup
from contactlake.analyse.stats import (
    MIN_CONTACTS,
    OUTLIER_Z,
    poisson_rate_test,
    robust_z,
    seasonal_mann_kendall,
    two_proportion_test,
    wilson_interval,
)
from contactlake.config import CentreConfig
from contactlake.ports import Ports

__all__ = [
    "BASELINE_WEEKS",
    "PROFILE_SCHEMA",
    "RATE_MEASURES",
    "Anomaly",
    "MeasureTrend",
    "PeriodChange",
    "RateEstimate",
    "TrendReport",
    "profiles",
    "rate_parts",
    "trends",
]

#: Same-weekday history an anomaly is judged against.
BASELINE_WEEKS = 8
#: Fewest same-weekday days needed before a day can be called anomalous.
MIN_BASELINE_DAYS = 4
#: Daily measures the trend test and the anomaly check look at; volume first.
TREND_MEASURES = ("offered", "service_level", "abandon_rate", "asa_seconds", "aht_seconds")
#: Rates reported with a Wilson interval.
RATE_MEASURES = (
    "service_level",
    "abandon_rate",
    "fcr_rate",
    "transfer_rate",
    "hold_rate",
    "escalation_rate",
    "ivr_containment",
    "callback_rate",
)
#: The contacts behind each measure: a claim about it needs at least MIN_CONTACTS of them.
_BASIS = {"offered": "offered", "asa_seconds": "answered", "aht_seconds": "answered"}


def rate_parts(row: Mapping[str, Any], measure: str, sl_variant: str) -> tuple[int, int]:
    """(successes, trials) behind a rate in a KPI row: the numerator and denominator contactlake.metrics
    declares for it."""
    numerator, denominator = metrics.parts(row, measure, sl_variant)
    return int(numerator), int(denominator)


def _basis(row: Mapping[str, Any], measure: str, sl_variant: str) -> int:
    if measure in _BASIS:
        return int(row[_BASIS[measure]])
    return rate_parts(row, measure, sl_variant)[1]


@dataclass(frozen=True)
class MeasureTrend:
    measure: str
    direction: str  # "up" | "down" | "none" | "insufficient data"
    p_value: float | None
    slope_per_week: float | None
    days: int
    method: str


@dataclass(frozen=True)
class PeriodChange:
    measure: str
    current: float | None
    previous: float | None
    change: float | None
    change_pct: float | None
    p_value: float | None
    significant: bool | None
    method: str


@dataclass(frozen=True)
class Anomaly:
    date: date
    measure: str
    value: float
    baseline: float
    z: float
    method: str


@dataclass(frozen=True)
class RateEstimate:
    measure: str
    successes: int
    trials: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    claim_allowed: bool
    method: str


@dataclass(frozen=True)
class TrendReport:
    centre_id: str
    date_from: date
    date_to: date
    trends: tuple[MeasureTrend, ...]
    week_over_week: tuple[PeriodChange, ...]
    year_over_year: tuple[PeriodChange, ...] | None
    anomalies: tuple[Anomaly, ...]
    rates: tuple[RateEstimate, ...]
    method: str


def _daily(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> dict[date, dict[str, Any]]:
    rows = rollup(ports, centre, date_from, date_to, "day").to_pylist()
    return {row["period_start"].date(): row for row in rows}


def _measure_trends(
    days: dict[date, dict[str, Any]], date_from: date, date_to: date, variant: str
) -> tuple[MeasureTrend, ...]:
    result = []
    for measure in TREND_MEASURES:
        seasons: list[list[float]] = [[] for _ in range(7)]
        used = 0
        for day in sorted(days):
            row = days[day]
            in_range = date_from <= day <= date_to and row[measure] is not None
            if in_range and _basis(row, measure, variant) >= MIN_CONTACTS:
                seasons[day.weekday()].append(float(row[measure]))
                used += 1
        trend = seasonal_mann_kendall(seasons)
        method = f"{trend.method}; days with fewer than {MIN_CONTACTS} contacts behind the measure left out"
        result.append(
            MeasureTrend(measure, trend.direction, trend.p_value, trend.slope_per_step, used, method)
        )
    return tuple(result)


def _total(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> dict[str, Any] | None:
    rows = rollup(ports, centre, date_from, date_to, "all").to_pylist()
    return rows[0] if rows and rows[0]["contacts"] else None


def _changes(
    current: dict[str, Any], previous: dict[str, Any], variant: str, label: str
) -> tuple[PeriodChange, ...]:
    changes = []
    for measure in TREND_MEASURES:
        now, before = current[measure], previous[measure]
        change = now - before if now is not None and before is not None else None
        pct = change / before if change is not None and before else None
        if measure == "offered":
            p = poisson_rate_test(float(now), float(before))
            method = f"{label}: conditional (binomial) test of two Poisson counts, normal approximation"
        elif measure in RATE_MEASURES:
            x1, n1 = rate_parts(current, measure, variant)
            x2, n2 = rate_parts(previous, measure, variant)
            p = two_proportion_test(x1, n1, x2, n2) if min(n1, n2) >= MIN_CONTACTS else None
            method = f"{label}: two-proportion z-test (pooled), needs >= {MIN_CONTACTS} contacts each side"
        else:
            p = None
            method = f"{label}: difference of means (no test: per-contact times are not stored in aggregates)"
        changes.append(
            PeriodChange(measure, now, before, change, pct, p, None if p is None else p < 0.05, method)
        )
    return tuple(changes)


def _anomalies(
    days: dict[date, dict[str, Any]], date_from: date, date_to: date, variant: str
) -> tuple[Anomaly, ...]:
    found = []
    method = (
        f"modified z-score (Iglewicz-Hoaglin) against the same weekday over the previous {BASELINE_WEEKS} "
        f"weeks: (x - median) / (1.4826 x MAD); |z| > {OUTLIER_Z}; needs >= {MIN_BASELINE_DAYS} baseline "
        f"days and >= {MIN_CONTACTS} contacts behind a rate"
    )
    for day in sorted(d for d in days if date_from <= d <= date_to):
        for measure in ("offered", "service_level", "abandon_rate", "aht_seconds"):
            value = days[day][measure]
            if value is None or (_basis(days[day], measure, variant) < MIN_CONTACTS and measure != "offered"):
                continue
            baseline = []
            for k in range(1, BASELINE_WEEKS + 1):
                past = days.get(day - timedelta(days=7 * k))
                if (
                    past
                    and past[measure] is not None
                    and (measure == "offered" or _basis(past, measure, variant) >= MIN_CONTACTS)
                ):
                    baseline.append(float(past[measure]))
            scored = robust_z(float(value), baseline) if len(baseline) >= MIN_BASELINE_DAYS else None
            if scored and abs(scored[2]) > OUTLIER_Z:
                found.append(Anomaly(day, measure, float(value), scored[0], scored[2], method))
    return tuple(found)


def _rates(total: dict[str, Any] | None, variant: str) -> tuple[RateEstimate, ...]:
    method = f"Wilson score interval, 95 %; no claim below {MIN_CONTACTS} contacts"
    estimates = []
    for measure in RATE_MEASURES:
        successes, trials = rate_parts(total, measure, variant) if total else (0, 0)
        interval = wilson_interval(successes, trials)
        estimates.append(
            RateEstimate(
                measure,
                successes,
                trials,
                successes / trials if trials else None,
                interval[0] if interval else None,
                interval[1] if interval else None,
                trials >= MIN_CONTACTS,
                method,
            )
        )
    return tuple(estimates)


def trends(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> TrendReport:
    """Trend, week-over-week and year-over-year change, anomalies and rate intervals for the range."""
    check_range(date_from, date_to)
    variant = centre.service_level.variant
    days = _daily(ports, centre, date_from - timedelta(days=7 * BASELINE_WEEKS), date_to)
    week_start = date_to - timedelta(days=6)
    this_week = _total(ports, centre, week_start, date_to)
    last_week = _total(ports, centre, week_start - timedelta(days=7), date_to - timedelta(days=7))
    wow = (
        _changes(this_week, last_week, variant, "last 7 days vs the 7 before")
        if this_week and last_week
        else ()
    )
    period = _total(ports, centre, date_from, date_to)
    # 364 days = 52 weeks: the same weekdays a year earlier.
    year_ago = _total(ports, centre, date_from - timedelta(days=364), date_to - timedelta(days=364))
    yoy = (
        _changes(period, year_ago, variant, "range vs the same weekdays 52 weeks earlier")
        if period and year_ago
        else None
    )
    return TrendReport(
        centre_id=centre.centre_id,
        date_from=date_from,
        date_to=date_to,
        trends=_measure_trends(days, date_from, date_to, variant),
        week_over_week=wow,
        year_over_year=yoy,
        anomalies=_anomalies(days, date_from, date_to, variant),
        rates=_rates(period, variant),
        method=(
            "daily KPIs rolled up from the 15-minute aggregates (test contacts excluded); each part states "
            "its own test"
        ),
    )


PROFILE_SCHEMA = pa.schema(
    [
        ("day_of_week", pa.int32()),
        ("hour", pa.int32()),
        ("days", pa.int64()),
        ("offered", pa.int64()),
        ("offered_avg", pa.float64()),
        ("answered", pa.int64()),
        ("service_level", pa.float64()),
        ("service_level_ci_low", pa.float64()),
        ("service_level_ci_high", pa.float64()),
        ("abandon_rate", pa.float64()),
        ("asa_seconds", pa.float64()),
    ],
    metadata={
        "method": (
            "arrival and service-level profile by local day of week (1 = Monday) and hour: offered summed "
            "over the range and divided by the number of days of that weekday with any data (quiet hours "
            "count as zero); service level from summed counts, with a 95 % Wilson interval; no interval "
            f"below {MIN_CONTACTS} contacts"
        )
    },
)


def profiles(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    """Time-of-day x day-of-week profile of arrivals and service level."""
    check_range(date_from, date_to)
    variant = centre.service_level.variant
    weekday_days: dict[int, int] = {}
    for row in rollup(ports, centre, date_from, date_to, "day").to_pylist():
        dow = row["period_start"].isoweekday()
        weekday_days[dow] = weekday_days.get(dow, 0) + 1
    rows = []
    for row in rollup(ports, centre, date_from, date_to, "week_hour").to_pylist():
        start: datetime = row["period_start"]
        dow = start.isoweekday()
        x, n = rate_parts(row, "service_level", variant)
        interval = wilson_interval(x, n) if n >= MIN_CONTACTS else None
        rows.append(
            {
                "day_of_week": dow,
                "hour": start.hour,
                "days": weekday_days.get(dow, 0),
                "offered": row["offered"],
                "offered_avg": row["offered"] / weekday_days[dow] if weekday_days.get(dow) else None,
                "answered": row["answered"],
                "service_level": row["service_level"],
                "service_level_ci_low": interval[0] if interval else None,
                "service_level_ci_high": interval[1] if interval else None,
                "abandon_rate": row["abandon_rate"],
                "asa_seconds": row["asa_seconds"],
            }
        )
    return pa.Table.from_pylist(rows, schema=PROFILE_SCHEMA)
