"""The nightly (and per-upload) analysis: every aggregate the reports, the API and BI tools read.

Order matters: the 15-minute KPI and agent-state aggregates come from the detail; everything else
(daily KPIs, staffing, forecast) is derived from them, so it reads kilobytes. Days before ``date_from``
whose first-contact-resolution window reaches into the range are recomputed too, because a repeat
contact that arrives today changes yesterday's FCR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

import pyarrow as pa

from contactlake.analyse.aggregates import CENTRE_PLAN, MaterialiseResult, materialise_kpis
from contactlake.analyse.common import check_range, fcr_lookahead_days
from contactlake.analyse.forecast import materialise_forecast
from contactlake.analyse.pathways import materialise_pathways
from contactlake.analyse.quality import materialise_test_results
from contactlake.analyse.staffing import materialise_staffing
from contactlake.config import AppConfig, CentreConfig
from contactlake.lake import parquet_bytes, partition_prefix
from contactlake.ports import Ports

__all__ = ["run_analysis", "write_centre_plan"]


def write_centre_plan(ports: Ports, centre: CentreConfig) -> MaterialiseResult:
    """Snapshot the centre's targets and budget into the lake, so BI views can join actuals to plan."""
    plan, policy = centre.plan, centre.service_level
    row = {
        "name": centre.name,
        "timezone": centre.timezone,
        "sl_threshold_seconds": policy.threshold_seconds,
        "sl_target": policy.target,
        "sl_variant": policy.variant,
        "short_abandon_seconds": centre.short_abandon_seconds,
        "fcr_window_hours": centre.fcr_window_hours,
        "max_occupancy": centre.max_occupancy,
        "shrinkage": centre.shrinkage,
        "cost_per_agent_hour": centre.cost_per_agent_hour,
        "plan_offered_per_day": plan.offered_per_day,
        "plan_service_level": plan.service_level,
        "plan_abandon_rate": plan.abandon_rate,
        "plan_asa_seconds": plan.asa_seconds,
        "plan_aht_seconds": plan.aht_seconds,
        "plan_budget_per_contact": plan.budget_per_contact,
        "plan_monthly_budget": plan.monthly_budget,
    }
    table = pa.Table.from_pylist([row], schema=CENTRE_PLAN.schema)
    prefix = partition_prefix(CENTRE_PLAN, {"centre_id": centre.centre_id})
    ports.store.put("lake", f"{prefix}/part-0.parquet", parquet_bytes(table))
    ports.catalog.add_partitions(CENTRE_PLAN.name, [{"centre_id": centre.centre_id}])
    return MaterialiseResult(centre.centre_id, CENTRE_PLAN.name, 0, 1)


def run_analysis(
    ports: Ports,
    config: AppConfig,
    centres: Sequence[str],
    date_from: date,
    date_to: date,
    on_step: Callable[[str], None] | None = None,
) -> list[MaterialiseResult]:
    """Recompute every aggregate of the given centres for the local days ``date_from``..``date_to``.

    Writes kpi_interval, kpi_agent_daily, agent_state_interval, kpi_daily, staffing_interval (from
    ``date_from`` less the FCR window), pathway_daily and test_contact_results (the range), the forecast
    for the seven days after ``date_to`` and the centre_plan snapshot. Idempotent.
    """
    check_range(date_from, date_to)
    results: list[MaterialiseResult] = []

    def done(result: MaterialiseResult) -> None:
        results.append(result)
        if on_step:
            on_step(f"{result.centre_id}: {result.table} {result.rows} rows")

    for centre_id in centres:
        centre = config.centre(centre_id)
        kpi_from = date_from - timedelta(days=fcr_lookahead_days(centre))
        results += materialise_kpis(ports, centre, kpi_from, date_to, on_step=on_step)
        done(materialise_staffing(ports, centre, kpi_from, date_to))
        done(materialise_pathways(ports, centre, date_from, date_to))
        done(materialise_test_results(ports, centre, date_from, date_to))
        done(materialise_forecast(ports, centre, date_to))
        done(write_centre_plan(ports, centre))
    return results
