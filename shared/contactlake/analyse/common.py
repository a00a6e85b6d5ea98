"""What every analysis module shares: the allow-lists, the centre's SQL parameters and running a SQL file.

Grains and dimensions reach SQL only as bound *values* checked against the allow-lists here, never as
identifiers; the SQL files select on them with ``CASE``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta

import pyarrow as pa

from contactlake.config import CentreConfig
from contactlake.ports import Ports, SqlParam

__all__ = [
    "DAY_MINUTES",
    "DIMENSIONS",
    "GRAINS",
    "GRAIN_MINUTES",
    "INTERVAL_MINUTES",
    "check_choice",
    "check_range",
    "days_between",
    "fcr_lookahead_days",
    "normalise",
    "range_params",
    "rollup",
    "run_sql",
]

#: Grains a caller may ask for (int_kpi_rollup.sql also knows 'all' and 'week_hour', used internally).
GRAINS = ("15min", "30min", "60min", "day", "week", "month")
#: Dimensions a caller may ask for; the value column is named after the dimension (agent -> agent_id).
DIMENSIONS = ("none", "queue", "channel", "agent")
#: The finest grain, the one materialised; every other grain is a roll-up of it.
INTERVAL_MINUTES = 15
#: The KPI models' grain for whole local days (kpi_agent_daily: agents are materialised per day).
DAY_MINUTES = 24 * 60
#: Minutes of each interval grain, for reading one from the detail.
GRAIN_MINUTES = {"15min": 15, "30min": 30, "60min": 60}


def check_choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    """Reject anything not on the allow-list before it gets near a query."""
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


def check_range(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise ValueError(f"date_to {date_to} is before date_from {date_from}; give the earlier date first")


def days_between(date_from: date, date_to: date) -> list[date]:
    """Every local day from ``date_from`` to ``date_to`` inclusive."""
    return [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]


def fcr_lookahead_days(centre: CentreConfig) -> int:
    """Whole days after a contact's day that can still hold its repeat (a repeat may come next day late)."""
    return math.ceil(centre.fcr_window_hours / 24) + 1 if centre.fcr_window_hours > 0 else 0


def range_params(centre: CentreConfig, date_from: date, date_to: date) -> dict[str, SqlParam]:
    """The parameters nearly every SQL file takes: centre (partition), local date range, SL variant."""
    check_range(date_from, date_to)
    return {
        "centre_id": centre.centre_id,
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "sl_variant": centre.service_level.variant,
    }


def normalise(table: pa.Table) -> pa.Table:
    """Whole-number decimals (DuckDB's sum of BIGINT is a 128-bit integer) become int64, others float64.

    Athena returns BIGINT for the same sums, so callers see the same types from both engines.
    """
    fields = []
    for field in table.schema:
        if pa.types.is_decimal(field.type):
            field = field.with_type(pa.int64() if field.type.scale == 0 else pa.float64())
        fields.append(field)
    target = pa.schema(fields, metadata=table.schema.metadata)
    return table if target == table.schema else table.cast(target)


def run_sql(ports: Ports, name: str, params: Mapping[str, SqlParam], *, unload: bool = False) -> pa.Table:
    """Run a shipped SQL file with its parameters bound; results typed the same on every engine.

    ``unload=True`` for rows that go to the lake as they are (``write_days``): the engine's
    :meth:`~contactlake.ports.QueryEngine.unload` (on Athena an UNLOAD to Parquet, in no order — the
    writer sorts); otherwise a query whose rows Python reads.
    """
    # Imported here: sqlglot is only needed to run SQL, not by every Lambda that lists the tables.
    from contactlake.sqlfiles import load_sql

    run = ports.engine.unload if unload else ports.engine.query
    return normalise(run(load_sql(name), params))


def rollup(
    ports: Ports,
    centre: CentreConfig,
    date_from: date,
    date_to: date,
    grain: str,
    dimension: str = "none",
    queue: str | None = None,
    channel: str | None = None,
    *,
    published: bool = False,
) -> pa.Table:
    """KPIs rolled up from the materialised 15-minute aggregates (intermediate/int_kpi_rollup.sql says
    how): every count and rate (api/kpi_rollup.sql), or with ``published`` only the columns the API and
    the reports show (api/kpi_series.sql: :data:`contactlake.metrics.KPI_PUBLISHED`)."""
    check_choice(grain, (*GRAINS, "all", "week_hour"), "grain")
    check_choice(dimension, (*DIMENSIONS, "queue_channel"), "dimension")
    params = {
        **range_params(centre, date_from, date_to),
        "grain": grain,
        "dimension": dimension,
        "queue": queue or "",
        "channel": channel or "",
    }
    return run_sql(ports, "kpi_series" if published else "kpi_rollup", params)
