"""The nightly (and per-upload) analysis: every aggregate the reports, the API and BI tools read.

Each materialised table is a :class:`Model`: the table, the SQL files it runs and how it is built. What a
model reads is not written by hand: it is the lake tables its SQL files read (parsed with sqlglot), and
:func:`run_order` sorts the models so each runs after the ones it reads (ties keep declaration order).
The 15-minute KPI and agent-state aggregates come from the detail; everything else (daily KPIs,
staffing, forecast) is derived from them, so it reads kilobytes. Days before ``date_from`` whose
first-contact-resolution window reaches into the range are recomputed too, because a repeat contact
that arrives today changes yesterday's FCR.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa

from contactlake.analyse.aggregates import (
    MaterialiseResult,
    materialise_agent_state_interval,
    materialise_contact_kpis,
)
from contactlake.analyse.common import check_range, fcr_lookahead_days
from contactlake.analyse.forecast import materialise_forecast
from contactlake.analyse.pathways import materialise_pathways
from contactlake.analyse.quality import materialise_day_closed, materialise_test_results
from contactlake.analyse.staffing import materialise_staffing
from contactlake.config import AppConfig, CentreConfig
from contactlake.lake import parquet_bytes, partition_prefix
from contactlake.ports import Ports
from contactlake.tables import (
    AGENT_STATE_INTERVAL,
    CENTRE_PLAN,
    DAY_CLOSED,
    FORECAST_INTERVAL,
    KPI_AGENT_DAILY,
    KPI_DAILY,
    KPI_INTERVAL,
    LAKE_TABLES,
    PATHWAY_DAILY,
    STAFFING_INTERVAL,
    TEST_CONTACT_RESULTS,
    LakeTable,
)

__all__ = ["MODELS", "Model", "Window", "materialise_kpis", "run_analysis", "run_order", "write_centre_plan"]


@dataclass(frozen=True)
class Window:
    """The local days of one analysis: ``kpi_from`` reaches back over the FCR window (see the module)."""

    kpi_from: date
    date_from: date
    date_to: date


Build = Callable[[Ports, CentreConfig, Window], "MaterialiseResult | list[MaterialiseResult]"]


@dataclass(frozen=True)
class Model:
    """A materialised table: the SQL files it runs (what it reads follows from them) and its builder.

    ``also`` names the tables the same query writes besides ``table`` (grouping sets over one scan,
    marts/kpi_interval.sql); the builder then returns one result per table.
    """

    table: LakeTable
    sql: tuple[str, ...]
    build: Build
    also: tuple[LakeTable, ...] = ()

    @property
    def writes(self) -> set[str]:
        return {self.table.name, *(t.name for t in self.also)}

    def reads(self) -> set[str]:
        """The other lake tables this model's SQL reads."""
        from contactlake.sqlfiles import load_sql, referenced_tables

        found = set().union(*(referenced_tables(load_sql(name)) for name in self.sql))
        return {name for name in found if name in LAKE_TABLES and name not in self.writes}


def run_order(models: Sequence[Model]) -> list[Model]:
    """The models in an order where each runs after every model whose table it reads.

    Kahn's algorithm over the declared reads; among the models ready at a step the first declared runs
    first, so the order is deterministic. A cycle is an error that names the models in it.
    """
    written = set().union(*(m.writes for m in models))
    waiting = {m.table.name: m.reads() & written for m in models}
    ordered: list[Model] = []
    while waiting:
        ready = [m for m in models if m.table.name in waiting and not waiting[m.table.name]]
        if not ready:
            raise ValueError(f"the models read each other in a cycle: {', '.join(sorted(waiting))}")
        ordered.append(ready[0])
        del waiting[ready[0].table.name]
        for needs in waiting.values():
            needs -= ready[0].writes
    return ordered


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


#: Every materialised table of the analysis, with what it runs and the days it covers.
MODELS: tuple[Model, ...] = (
    Model(KPI_INTERVAL, ("kpi_interval",),
          lambda p, c, w: materialise_contact_kpis(p, c, w.kpi_from, w.date_to),
          also=(KPI_DAILY, KPI_AGENT_DAILY)),
    Model(AGENT_STATE_INTERVAL, ("agent_state_interval",),
          lambda p, c, w: materialise_agent_state_interval(p, c, w.kpi_from, w.date_to)),
    Model(STAFFING_INTERVAL, ("kpi_rollup", "staffed_interval"),
          lambda p, c, w: materialise_staffing(p, c, w.kpi_from, w.date_to)),
    Model(PATHWAY_DAILY, ("pathway_daily",),
          lambda p, c, w: materialise_pathways(p, c, w.date_from, w.date_to)),
    Model(TEST_CONTACT_RESULTS, ("test_contact_kpis",),
          lambda p, c, w: materialise_test_results(p, c, w.date_from, w.date_to)),
    Model(FORECAST_INTERVAL, ("kpi_rollup",), lambda p, c, w: materialise_forecast(p, c, w.date_to)),
    Model(CENTRE_PLAN, (), lambda p, c, w: write_centre_plan(p, c)),
    Model(DAY_CLOSED, ("ingest_log_since",),
          lambda p, c, w: materialise_day_closed(p, c, w.kpi_from, w.date_to)),
)  # fmt: skip
#: The models measured from the detail, and kpi_daily rolled up from them.
_KPI_TABLES = frozenset({"kpi_interval", "agent_state_interval"})


def _run(
    ports: Ports,
    centre: CentreConfig,
    window: Window,
    models: Sequence[Model],
    on_step: Callable[[str], None] | None,
) -> list[MaterialiseResult]:
    results = []
    for model in run_order(models):
        built = model.build(ports, centre, window)
        for result in built if isinstance(built, list) else [built]:
            results.append(result)
            if on_step:
                on_step(f"{result.centre_id}: {result.table} {result.rows} rows")
    return results


def materialise_kpis(
    ports: Ports,
    centre: CentreConfig,
    date_from: date,
    date_to: date,
    on_step: Callable[[str], None] | None = None,
) -> list[MaterialiseResult]:
    """Recompute the contact and agent-time aggregates of one centre for the given local days.

    Writes kpi_interval (15 minutes), kpi_daily and kpi_agent_daily from one query over the detail
    (grouping sets: a day is the sum of its intervals), and agent_state_interval from the agents' time.
    """
    models = [m for m in MODELS if m.table.name in _KPI_TABLES]
    return _run(ports, centre, Window(date_from, date_from, date_to), models, on_step)


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
    for the seven days after ``date_to``, the centre_plan snapshot and the day_closed markers (from
    ``date_from`` less the FCR window). Idempotent.
    """
    check_range(date_from, date_to)
    results: list[MaterialiseResult] = []
    for centre_id in centres:
        centre = config.centre(centre_id)
        kpi_from = date_from - timedelta(days=fcr_lookahead_days(centre))
        results += _run(ports, centre, Window(kpi_from, date_from, date_to), MODELS, on_step)
    return results
