"""Materialised aggregates: computed nightly and after each upload, read by reports, the API and BI tools.

Reports and dashboards read these (kilobytes a day) instead of scanning the contact lake. Every table is
declared in :mod:`contactlake.tables` with an explicit schema and partitioned by centre and local day;
this module writes the ones measured from the detail (the SQL models in ``sql/marts/``), and
:mod:`contactlake.analyse.run` runs every model in the order their reads require. Each partition is
recomputed whole and overwritten under a fixed name, and nothing time-dependent is written, so
re-running an analysis writes identical bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from contactlake.analyse.common import (
    DAY_MINUTES,
    INTERVAL_MINUTES,
    check_choice,
    days_between,
    fcr_lookahead_days,
    range_params,
    rollup,
    run_sql,
)
from contactlake.config import CentreConfig
from contactlake.lake import parquet_bytes, partition_prefix
from contactlake.ports import Ports, SqlParam
from contactlake.tables import (
    AGENT_STATE_INTERVAL,
    KPI_AGENT_DAILY,
    KPI_DAILY,
    KPI_INTERVAL,
    LakeTable,
)

__all__ = [
    "DETAIL_MODELS",
    "MaterialiseResult",
    "detail_kpis",
    "materialise_agent_state_interval",
    "materialise_kpi_agent_daily",
    "materialise_kpi_daily",
    "materialise_kpi_interval",
    "write_days",
]

#: The SQL models that measure KPIs from the contact detail (all built on int_contacts_classified.sql).
DETAIL_MODELS = ("kpi_interval", "kpi_agent_daily", "kpi_agent_interval", "test_contact_kpis")


@dataclass(frozen=True)
class MaterialiseResult:
    centre_id: str
    table: str
    days: int
    rows: int


def write_days(
    ports: Ports, table: LakeTable, centre_id: str, result: pa.Table, days: Iterable[date]
) -> MaterialiseResult:
    """Overwrite each day's partition from ``result`` (rows keyed by its ``contact_date`` column).

    A day with no rows has its partition removed, so a re-analysis never leaves stale aggregates.
    """
    dates = pc.cast(result.column("contact_date"), pa.date32())
    body = result.select(table.schema.names).cast(table.schema)
    written, partitions, count = 0, [], 0
    for day in days:
        count += 1
        key = f"{partition_prefix(table, {'centre_id': centre_id, 'contact_date': day})}/part-0.parquet"
        rows = body.filter(pc.equal(dates, pa.scalar(day, pa.date32())))
        if rows.num_rows:
            ports.store.put("lake", key, parquet_bytes(rows))
            partitions.append({"centre_id": centre_id, "contact_date": str(day)})
            written += rows.num_rows
        else:
            ports.store.delete("lake", [key])
    ports.catalog.add_partitions(table.name, partitions)
    return MaterialiseResult(centre_id, table.name, count, written)


def _classify_params(
    centre: CentreConfig, date_from: date, date_to: date, grain_minutes: int
) -> dict[str, SqlParam]:
    """What intermediate/int_contacts_classified.sql takes, and the centre's SL variant."""
    return {
        **range_params(centre, date_from, date_to),
        "lookahead_to": (date_to + timedelta(days=fcr_lookahead_days(centre))).isoformat(),
        "grain_minutes": grain_minutes,
        "sl_threshold_seconds": centre.service_level.threshold_seconds,
        "short_abandon_seconds": centre.short_abandon_seconds,
        "fcr_window_hours": centre.fcr_window_hours,
    }


def detail_kpis(
    ports: Ports,
    centre: CentreConfig,
    model: str,
    date_from: date,
    date_to: date,
    grain_minutes: int = INTERVAL_MINUTES,
    queue: str | None = None,
    channel: str | None = None,
) -> pa.Table:
    """A KPI model over the contact detail: ``kpi_interval``, ``kpi_agent_daily``, ``kpi_agent_interval``
    (filtered by ``queue`` / ``channel``) or ``test_contact_kpis`` (see each file's header)."""
    check_choice(model, DETAIL_MODELS, "KPI model")
    params = {
        **_classify_params(centre, date_from, date_to, grain_minutes),
        "queue": queue or "",
        "channel": channel or "",
    }
    return run_sql(ports, model, params)


def materialise_kpi_interval(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date
) -> MaterialiseResult:
    measured = detail_kpis(ports, centre, "kpi_interval", date_from, date_to)
    return write_days(ports, KPI_INTERVAL, centre.centre_id, measured, days_between(date_from, date_to))


def materialise_kpi_agent_daily(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date
) -> MaterialiseResult:
    measured = detail_kpis(ports, centre, "kpi_agent_daily", date_from, date_to, grain_minutes=DAY_MINUTES)
    return write_days(ports, KPI_AGENT_DAILY, centre.centre_id, measured, days_between(date_from, date_to))


def materialise_agent_state_interval(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date
) -> MaterialiseResult:
    params = {
        **range_params(centre, date_from, date_to),
        "activity_from": (date_from - timedelta(days=1)).isoformat(),
        "grain_minutes": INTERVAL_MINUTES,
    }
    states = run_sql(ports, "agent_state_interval", params)
    return write_days(ports, AGENT_STATE_INTERVAL, centre.centre_id, states, days_between(date_from, date_to))


def materialise_kpi_daily(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date
) -> MaterialiseResult:
    """kpi_daily as the roll-up of kpi_interval, so a day is always the sum of its intervals."""
    daily = rollup(ports, centre, date_from, date_to, "day", "queue_channel")
    daily = daily.append_column("contact_date", pc.cast(daily.column("period_start"), pa.date32()))
    return write_days(ports, KPI_DAILY, centre.centre_id, daily, days_between(date_from, date_to))
