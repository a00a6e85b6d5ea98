"""Plan and budget: actual against the centre's business-plan targets, per KPI and period.

Targets come from the centre's configuration (``[centres.<id>.plan]``; the service-level target falls
back to ``[centres.<id>.service_level] target``). Each KPI has a direction: higher is better (service
level), lower is better (abandon rate, ASA, cost) or within a band (volume and AHT are planning
assumptions: ±10 % is on plan). A KPI resting on fewer than MIN_CONTACTS contacts gets no verdict.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from contactlake.analyse.common import check_choice, check_range, range_params, rollup, run_sql
from contactlake.analyse.stats import MIN_CONTACTS
from contactlake.config import CentreConfig
from contactlake.ports import Ports

__all__ = [
    "BAND",
    "COST_SCHEMA",
    "PLAN_GRAINS",
    "PLAN_SCHEMA",
    "Coverage",
    "cost_per_contact",
    "coverage",
    "plan_vs_actual",
    "workforce",
]

PLAN_GRAINS = ("day", "week", "month", "all")
#: A planning assumption within ±10 % of plan is on plan.
BAND = 0.10

PLAN_SCHEMA = pa.schema(
    [
        ("period_start", pa.date32()),
        ("kpi", pa.string()),
        ("actual", pa.float64()),
        ("target", pa.float64()),
        ("variance", pa.float64()),
        ("variance_pct", pa.float64()),
        ("on_target", pa.bool_()),
        ("direction", pa.string()),
        ("basis_contacts", pa.int64()),
        ("days_covered", pa.int64()),
        ("first_day", pa.date32()),
        ("last_day", pa.date32()),
    ],
    metadata={
        "method": (
            "variance = actual - target; variance_pct = variance / target; on_target by direction "
            f"(higher / lower is better, or within ±{BAND:.0%}); no verdict below {MIN_CONTACTS} contacts; "
            "budgets pro-rated to the days the staff cost covers (days with agent-state data), volume per "
            "day over the days with contacts; days_covered / first_day / last_day say which"
        )
    },
)
COST_SCHEMA = pa.schema(
    [
        ("period_start", pa.date32()),
        ("answered", pa.int64()),
        ("staffed_hours", pa.float64()),
        ("staff_cost", pa.float64()),
        ("cost_per_contact", pa.float64()),
        ("budget_per_contact", pa.float64()),
        ("variance", pa.float64()),
        ("variance_pct", pa.float64()),
        ("budget", pa.float64()),
        ("budget_variance", pa.float64()),
    ],
    metadata={
        "method": (
            "staff cost = staffed (logged-in) hours x cost_per_agent_hour; cost per contact = staff cost / "
            "answered; budget = monthly_budget pro-rated to the days with agent-state data (the days the "
            "staff cost covers)"
        )
    },
)


@dataclass(frozen=True)
class _Kpi:
    name: str
    direction: str  # "higher" | "lower" | "band"
    actual: Callable[[dict[str, Any], dict[str, Any] | None, int], float | None]
    target: Callable[[CentreConfig, int, float], float | None]
    basis: str


def _per_day(row: dict[str, Any], _work: dict[str, Any] | None, days: int) -> float | None:
    return row["offered"] / days if days else None


def _cost(_row: dict[str, Any], work: dict[str, Any] | None, _days: int) -> float | None:
    return work["cost_per_contact"] if work else None


def _spend(_row: dict[str, Any], work: dict[str, Any] | None, _days: int) -> float | None:
    return work["staff_cost"] if work else None


_KPIS = (
    _Kpi("offered_per_day", "band", _per_day, lambda c, d, b: c.plan.offered_per_day, "offered"),
    _Kpi(
        "service_level",
        "higher",
        lambda r, w, d: r["service_level"],
        lambda c, d, b: c.plan.service_level if c.plan.service_level is not None else c.service_level.target,
        "offered",
    ),
    _Kpi(
        "abandon_rate",
        "lower",
        lambda r, w, d: r["abandon_rate"],
        lambda c, d, b: c.plan.abandon_rate,
        "offered",
    ),
    _Kpi(
        "asa_seconds",
        "lower",
        lambda r, w, d: r["asa_seconds"],
        lambda c, d, b: c.plan.asa_seconds,
        "answered",
    ),
    _Kpi(
        "aht_seconds",
        "band",
        lambda r, w, d: r["aht_seconds"],
        lambda c, d, b: c.plan.aht_seconds,
        "answered",
    ),
    _Kpi("cost_per_contact", "lower", _cost, lambda c, d, b: c.plan.budget_per_contact, "answered"),
    _Kpi(
        "staff_cost",
        "lower",
        _spend,
        lambda c, d, b: b if c.plan.monthly_budget is not None else None,
        "answered",
    ),
)


@dataclass(frozen=True)
class Coverage:
    """Which days of a range have data: contacts, and agent-state (staffed time, what staff cost rests on).

    A plan or budget compared with actuals is pro-rated to the days the actuals cover, so a period with
    days missing never compares a part of the period's cost with the whole period's budget.
    """

    date_from: date
    date_to: date
    contact_days: tuple[date, ...]
    staffed_days: tuple[date, ...]

    @property
    def calendar_days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def missing(self, days: tuple[date, ...]) -> list[date]:
        have = set(days)
        return [
            date.fromordinal(n)
            for n in range(self.date_from.toordinal(), self.date_to.toordinal() + 1)
            if date.fromordinal(n) not in have
        ]

    @property
    def equal_spans(self) -> bool:
        """True when contacts and staff cost cover the same days (cost per contact is like with like)."""
        return self.contact_days == self.staffed_days


def coverage(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> Coverage:
    """The days from ``date_from`` to ``date_to`` with contacts and with agent-state data (one query)."""
    check_range(date_from, date_to)
    rows = workforce(ports, centre, date_from, date_to, "day").to_pylist()
    return Coverage(
        date_from,
        date_to,
        tuple(sorted(_as_date(r["period_start"]) for r in rows if r["offered"])),
        tuple(sorted(_as_date(r["period_start"]) for r in rows if r["staffed_hours"])),
    )


#: KPIs that rest on staff cost, so on the days with agent-state data.
_COST_KPIS = frozenset({"cost_per_contact", "staff_cost"})


def _budget(centre: CentreConfig, days: list[date] | tuple[date, ...]) -> float:
    """The monthly budget pro-rated over ``days`` (each day is its month's 1/days-in-month share)."""
    monthly = centre.plan.monthly_budget or 0.0
    return sum(monthly / calendar.monthrange(day.year, day.month)[1] for day in days)


def _period_end(start: date, grain: str, date_to: date) -> date:
    if grain == "day":
        end = start
    elif grain == "week":
        end = date.fromordinal(start.toordinal() + 6)
    elif grain == "month":
        end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    else:
        end = date_to
    return min(end, date_to)


def _verdict(direction: str, actual: float, target: float) -> bool:
    if direction == "higher":
        return actual >= target
    if direction == "lower":
        return actual <= target
    return abs(actual - target) <= BAND * abs(target)


def workforce(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, grain: str = "day"
) -> pa.Table:
    """Occupancy, utilisation, shrinkage and staff cost per period (workforce.sql)."""
    check_choice(grain, PLAN_GRAINS, "grain")
    params = {
        **range_params(centre, date_from, date_to),
        "grain": grain,
        "cost_per_agent_hour": centre.cost_per_agent_hour,
    }
    return run_sql(ports, "workforce", params)


def _as_date(value: object) -> date:
    return value.date() if isinstance(value, datetime) else value  # type: ignore[return-value]


def plan_vs_actual(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, grain: str = "all"
) -> pa.Table:
    """One row per KPI (and period, for grain day / week / month) with a target in the plan."""
    check_range(date_from, date_to)
    check_choice(grain, PLAN_GRAINS, "grain")
    kpi_rows = {
        _as_date(r["period_start"]): r for r in rollup(ports, centre, date_from, date_to, grain).to_pylist()
    }
    work_rows = {
        _as_date(r["period_start"]): r
        for r in workforce(ports, centre, date_from, date_to, grain).to_pylist()
    }
    covered = coverage(ports, centre, date_from, date_to)
    rows = []
    for start in sorted(kpi_rows):
        row = kpi_rows[start]
        end = _period_end(start, grain, date_to)
        contact_days = [d for d in covered.contact_days if start <= d <= end]
        staffed_days = [d for d in covered.staffed_days if start <= d <= end]
        budget = _budget(centre, staffed_days)
        for kpi in _KPIS:
            costed = kpi.name in _COST_KPIS
            span = staffed_days if costed else contact_days
            target = kpi.target(centre, len(contact_days), budget)
            # Without agent-state data there is no staff cost: no actual (and no verdict), never a zero.
            actual = kpi.actual(row, work_rows.get(start), len(contact_days)) if span else None
            if target is None:
                continue
            basis = int(row[kpi.basis])
            variance = actual - target if actual is not None else None
            rows.append(
                {
                    "period_start": start,
                    "kpi": kpi.name,
                    "actual": actual,
                    "target": target,
                    "variance": variance,
                    "variance_pct": variance / target if variance is not None and target else None,
                    "on_target": _verdict(kpi.direction, actual, target)
                    if actual is not None and basis >= MIN_CONTACTS
                    else None,
                    "direction": kpi.direction,
                    "basis_contacts": basis,
                    "days_covered": len(span),
                    "first_day": span[0] if span else None,
                    "last_day": span[-1] if span else None,
                }
            )
    return pa.Table.from_pylist(rows, schema=PLAN_SCHEMA)


def cost_per_contact(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, grain: str = "day"
) -> pa.Table:
    """Staff cost per answered contact per period against the budget per contact and the monthly budget."""
    check_range(date_from, date_to)
    budget_per_contact = centre.plan.budget_per_contact
    covered = coverage(ports, centre, date_from, date_to)
    rows = []
    for row in workforce(ports, centre, date_from, date_to, grain).to_pylist():
        start = _as_date(row["period_start"])
        actual = row["cost_per_contact"]
        variance = (
            actual - budget_per_contact if actual is not None and budget_per_contact is not None else None
        )
        end = _period_end(start, grain, date_to)
        budget = _budget(centre, [d for d in covered.staffed_days if start <= d <= end])
        has_budget = centre.plan.monthly_budget is not None
        rows.append(
            {
                "period_start": start,
                "answered": row["answered"],
                "staffed_hours": row["staffed_hours"],
                "staff_cost": row["staff_cost"],
                "cost_per_contact": actual,
                "budget_per_contact": budget_per_contact,
                "variance": variance,
                "variance_pct": variance / budget_per_contact
                if variance is not None and budget_per_contact
                else None,
                "budget": budget if has_budget else None,
                "budget_variance": row["staff_cost"] - budget if has_budget else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=COST_SCHEMA)
