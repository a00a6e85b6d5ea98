"""Staffing per 15-minute interval: agents required (Erlang C and Erlang A) against agents actually staffed.

The requirement is computed from what was *observed* in the interval — arrivals and handle time — for
the centre's service-level target, with its occupancy cap and shrinkage (docs/adr/0006). Erlang A needs
the callers' mean patience, estimated from the same data as total queue time of offered contacts divided
by the number of abandons (the maximum-likelihood estimate for exponential patience with censoring).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from contactlake import metrics
from contactlake.analyse.aggregates import MaterialiseResult, write_days
from contactlake.analyse.common import INTERVAL_MINUTES, days_between, range_params, rollup, run_sql
from contactlake.analyse.erlang import erlang_a, erlang_a_metrics, erlang_c
from contactlake.config import CentreConfig
from contactlake.ports import Ports
from contactlake.tables import STAFFING_INTERVAL

__all__ = [
    "DEFAULT_AHT_SECONDS",
    "DEFAULT_MAX_ABANDONMENT",
    "DEFAULT_PATIENCE_SECONDS",
    "MIN_ABANDONS_FOR_PATIENCE",
    "ErlangAExcess",
    "Patience",
    "compute_staffing",
    "erlang_a_excess",
    "estimate_patience",
    "materialise_staffing",
]

#: Below this many abandons the patience estimate is too noisy; the default is used (and said so).
MIN_ABANDONS_FOR_PATIENCE = 10
DEFAULT_PATIENCE_SECONDS = 300.0
DEFAULT_AHT_SECONDS = 300.0
#: Abandonment cap for Erlang A when the centre's plan sets no abandon-rate target.
DEFAULT_MAX_ABANDONMENT = 0.05


@dataclass(frozen=True)
class Patience:
    seconds: float
    abandons: int
    method: str


def estimate_patience(queued_wait_seconds: float, abandons: int) -> Patience:
    """Mean patience = total queue time of offered contacts / abandons (exponential MLE, censored)."""
    if abandons >= MIN_ABANDONS_FOR_PATIENCE and queued_wait_seconds > 0:
        return Patience(
            queued_wait_seconds / abandons,
            abandons,
            f"patience estimated from {abandons} abandons (total queue time / abandons)",
        )
    return Patience(
        DEFAULT_PATIENCE_SECONDS,
        abandons,
        f"patience defaulted to {DEFAULT_PATIENCE_SECONDS:g} s (only {abandons} abandons, "
        f"< {MIN_ABANDONS_FOR_PATIENCE})",
    )


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def compute_staffing(
    centre: CentreConfig, workload: list[dict[str, Any]], staffed: list[dict[str, Any]]
) -> pa.Table:
    """Rows of STAFFING_INTERVAL (plus contact_date) from 15-minute KPI rows and staffed-interval rows."""
    interval = INTERVAL_MINUTES * 60.0
    policy = centre.service_level
    max_abandonment = centre.plan.abandon_rate or DEFAULT_MAX_ABANDONMENT
    by_start: dict[datetime, dict[str, Any]] = {}
    for row in workload:
        by_start.setdefault(row["period_start"], {}).update(work=row)
    for row in staffed:
        by_start.setdefault(row["interval_start"], {}).update(staff=row)
    day_totals_by_day: dict[date, dict[str, float]] = {}
    for row in workload:
        totals = day_totals_by_day.setdefault(
            row["period_start"].date(), dict.fromkeys(("handle", "answered", "queued", "abandons"), 0.0)
        )
        totals["handle"] += row["talk_seconds"] + row["hold_seconds"] + row["acw_seconds"]
        totals["answered"] += row["answered"]
        totals["queued"] += row["queued_wait_seconds"]
        totals["abandons"] += row["abandoned"] + row["short_abandoned"]
    # Patience per day, so a day's staffing never depends on which other days were analysed with it.
    patience_by_day = {
        day: estimate_patience(totals["queued"], int(totals["abandons"]))
        for day, totals in day_totals_by_day.items()
    }
    default_patience = estimate_patience(0.0, 0)
    method = (
        f"Erlang C and Erlang A (M/M/c+M) per {INTERVAL_MINUTES}-minute interval from observed arrivals and "
        f"AHT (the interval's, else the day's); target {policy.target:.0%} within "
        f"{policy.threshold_seconds} s, occupancy cap {centre.max_occupancy:.0%}, abandonment cap "
        f"{max_abandonment:.0%}, positions = ceil(required / (1 - shrinkage {centre.shrinkage:.0%})); "
    )
    rows = []
    for start in sorted(by_start):
        work = by_start[start].get("work")
        staff = by_start[start].get("staff") or {}
        offered = int(work["offered"]) if work else 0
        answered = int(work["answered"]) if work else 0
        handle = (work["talk_seconds"] + work["hold_seconds"] + work["acw_seconds"]) if work else 0.0
        day_totals = day_totals_by_day.get(start.date(), {"handle": 0.0, "answered": 0.0})
        patience = patience_by_day.get(start.date(), default_patience)
        aht = (
            (metrics.value(work, "aht_seconds") if work else None)
            or _ratio(day_totals["handle"], day_totals["answered"])
            or centre.plan.aht_seconds
            or DEFAULT_AHT_SECONDS
        )
        need_c = erlang_c(
            offered,
            aht,
            interval,
            policy.threshold_seconds,
            policy.target,
            centre.max_occupancy,
            centre.shrinkage,
        )
        need_a = erlang_a(
            offered,
            aht,
            interval,
            policy.threshold_seconds,
            policy.target,
            patience.seconds,
            centre.max_occupancy,
            max_abandonment,
            centre.shrinkage,
        )
        net_staffed = float(staff.get("net_staffed_seconds") or 0.0)
        workload_seconds = handle + (work["other_handle_seconds"] if work else 0.0)
        staffed_agents = net_staffed / interval
        rows.append(
            {
                "contact_date": start.date(),
                "interval_start": start,
                "offered": offered,
                "answered": answered,
                "aht_seconds": aht if offered else None,
                "traffic_erlangs": need_c.traffic,
                "service_level": work["service_level"] if work else None,
                "required_erlang_c": need_c.raw_positions,
                "erlang_c_service_level": need_c.service_level if offered else None,
                "required_erlang_a": need_a.raw_positions,
                "erlang_a_abandon_probability": need_a.abandon_probability if offered else None,
                "patience_seconds": patience.seconds,
                "required_positions": need_c.positions,
                "staffed_agents": staffed_agents,
                "agents_logged_in": int(staff.get("agents_logged_in") or 0),
                "gap": staffed_agents - need_c.raw_positions,
                "occupancy": metrics.value(
                    {"handle_seconds": workload_seconds, "net_staffed_seconds": net_staffed}, "occupancy"
                ),
                "method": method + patience.method,
            }
        )
    return pa.Table.from_pylist(rows, schema=STAFFING_INTERVAL.schema)


@dataclass(frozen=True)
class ErlangAExcess:
    """Why Erlang A asks for more agents than Erlang C in one interval: how Erlang C's agents would fare
    once callers may hang up (M/M/c+M), against the caps Erlang A is held to."""

    erlang_c_agents: int
    erlang_a_agents: int
    abandon_probability: float
    abandonment_cap: float
    service_level: float
    service_level_target: float
    occupancy: float
    occupancy_cap: float

    @property
    def reasons(self) -> tuple[str, ...]:
        """The Erlang A constraints that Erlang C's agent count fails."""
        found = []
        if self.abandon_probability > self.abandonment_cap:
            found.append("abandonment")
        if self.service_level < self.service_level_target:
            found.append("service level")
        if self.occupancy > self.occupancy_cap:
            found.append("occupancy")
        return tuple(found)


def erlang_a_excess(centre: CentreConfig, row: dict[str, Any]) -> ErlangAExcess | None:
    """For a staffing_interval row where Erlang A needs more agents than Erlang C, what Erlang C's count
    would give under Erlang A; None where it does not. Abandonment usually *lowers* the requirement at
    the same service target, so the excess comes from a cap Erlang C cannot see (it has no abandonment):
    the plan's abandon rate (or DEFAULT_MAX_ABANDONMENT), or abandons before the threshold counting
    as not answered in time."""
    need_a, need_c = row.get("required_erlang_a") or 0, row.get("required_erlang_c") or 0
    if not row.get("offered") or need_c <= 0 or need_a <= need_c:
        return None
    policy = centre.service_level
    at_c = erlang_a_metrics(
        float(row["offered"]),
        float(row["aht_seconds"]),
        INTERVAL_MINUTES * 60.0,
        float(row["patience_seconds"]),
        int(need_c),
        policy.threshold_seconds,
    )
    return ErlangAExcess(
        erlang_c_agents=int(need_c),
        erlang_a_agents=int(need_a),
        abandon_probability=at_c.abandon_probability,
        abandonment_cap=centre.plan.abandon_rate or DEFAULT_MAX_ABANDONMENT,
        service_level=at_c.service_level,
        service_level_target=policy.target,
        occupancy=at_c.occupancy,
        occupancy_cap=centre.max_occupancy,
    )


def _inputs(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    workload = rollup(ports, centre, date_from, date_to, "15min").to_pylist()
    staffed = run_sql(ports, "staffed_interval", range_params(centre, date_from, date_to)).to_pylist()
    return compute_staffing(centre, workload, staffed)


def materialise_staffing(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date
) -> MaterialiseResult:
    """Write staffing_interval for the days (reads the materialised KPI and agent-state aggregates)."""
    table = _inputs(ports, centre, date_from, date_to)
    return write_days(ports, STAFFING_INTERVAL, centre.centre_id, table, days_between(date_from, date_to))
