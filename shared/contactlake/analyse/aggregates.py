"""Materialised KPI aggregates: computed nightly and after each upload, read by reports and dashboards.

Reports and BI tools read these (kilobytes a day) instead of scanning the contact lake. Each partition
(centre, local day) is recomputed whole and overwritten under a fixed name, so re-running is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from contactlake.config import CentreConfig
from contactlake.lake import LakeTable, parquet_bytes, partition_prefix, register_table
from contactlake.ports import Ports
from contactlake.sqlfiles import load_sql

__all__ = ["KPI_DAILY", "KPI_INTERVAL", "MaterialiseResult", "materialise_kpis"]

_MEASURES = [
    ("offered", pa.int64()),
    ("answered", pa.int64()),
    ("abandoned", pa.int64()),
    ("short_abandoned", pa.int64()),
    ("answered_within_sl", pa.int64()),
    ("abandoned_within_sl", pa.int64()),
    ("service_level", pa.float64()),
    ("asa_seconds", pa.float64()),
    ("longest_wait_seconds", pa.float64()),
    ("avg_time_to_abandon_seconds", pa.float64()),
    ("aht_seconds", pa.float64()),
    ("abandon_rate", pa.float64()),
    ("answered_wait_seconds", pa.float64()),
    ("talk_seconds", pa.float64()),
    ("hold_seconds", pa.float64()),
    ("acw_seconds", pa.float64()),
]
_PARTITIONS = (("centre_id", "VARCHAR"), ("contact_date", "DATE"))

KPI_INTERVAL = LakeTable(
    "kpi_interval",
    "lake",
    "aggregates/kpi_interval",
    pa.schema(
        [("interval_start", pa.timestamp("ms")), ("grain_minutes", pa.int32()), ("queue", pa.string()),
         ("channel", pa.string()), *_MEASURES]  # fmt: skip
    ),
    _PARTITIONS,
)
KPI_DAILY = LakeTable(
    "kpi_daily",
    "lake",
    "aggregates/kpi_daily",
    pa.schema([("queue", pa.string()), ("channel", pa.string()), *_MEASURES]),
    _PARTITIONS,
)
register_table(KPI_INTERVAL)
register_table(KPI_DAILY)


@dataclass(frozen=True)
class MaterialiseResult:
    centre_id: str
    table: str
    days: int
    rows: int


def _days(date_from: date, date_to: date) -> list[date]:
    return [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]


def _write_days(ports: Ports, table: LakeTable, centre_id: str, result: pa.Table, days: Iterable[date]) -> int:
    """Overwrite each day's partition (an empty day removes stale aggregates)."""
    dates = pc.cast(result.column("contact_date"), pa.date32())
    body = result.drop(["contact_date"])
    body = body.select(table.schema.names).cast(table.schema)
    partitions = []
    for day in days:
        key = f"{partition_prefix(table, {'centre_id': centre_id, 'contact_date': day})}/part-0.parquet"
        rows = body.filter(pc.equal(dates, pa.scalar(day, pa.date32())))
        if rows.num_rows:
            ports.store.put("lake", key, parquet_bytes(rows))
            partitions.append({"centre_id": centre_id, "contact_date": str(day)})
        else:
            ports.store.delete("lake", [key])
    ports.catalog.add_partitions(table.name, partitions)
    return body.num_rows


def materialise_kpis(
    ports: Ports,
    centre: CentreConfig,
    date_from: date,
    date_to: date,
    on_step: Callable[[str], None] | None = None,
) -> list[MaterialiseResult]:
    """Recompute the 15-minute and daily KPI aggregates of one centre for the given local days."""
    policy = centre.service_level
    common = {
        "centre_id": centre.centre_id,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "sl_variant": policy.variant,
    }
    days = _days(date_from, date_to)
    results = []
    interval = ports.engine.query(
        load_sql("kpi_interval"),
        {
            **common,
            "grain_minutes": 15,
            "sl_threshold_seconds": policy.threshold_seconds,
            "short_abandon_seconds": centre.short_abandon_seconds,
        },
    )
    rows = _write_days(ports, KPI_INTERVAL, centre.centre_id, interval, days)
    results.append(MaterialiseResult(centre.centre_id, KPI_INTERVAL.name, len(days), rows))
    if on_step:
        on_step(f"{centre.centre_id}: kpi_interval {rows} rows")
    daily = ports.engine.query(load_sql("kpi_daily"), common)
    rows = _write_days(ports, KPI_DAILY, centre.centre_id, daily, days)
    results.append(MaterialiseResult(centre.centre_id, KPI_DAILY.name, len(days), rows))
    if on_step:
        on_step(f"{centre.centre_id}: kpi_daily {rows} rows")
    return results
