"""The read side's KPI, agent and staffing tables: the queries reports and the API run on the aggregates.

They read the materialised aggregates written by :func:`contactlake.analyse.run.run_analysis` (kilobytes
per centre-day), never the contact detail, except an agent's intervals, read from the pruned detail.
Each takes ``ports`` and the centre first and returns an Arrow table (columns in docs/metrics.md). The
other analyses are called where they live: ``trends``, ``pathways``, ``forecast``, ``plan`` and ``quality``.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from contactlake.analyse.aggregates import detail_kpis
from contactlake.analyse.common import (
    DIMENSIONS,
    GRAIN_MINUTES,
    GRAINS,
    check_choice,
    range_params,
    rollup,
    run_sql,
)
from contactlake.config import CentreConfig
from contactlake.metrics import KPI_PUBLISHED
from contactlake.ports import Ports
from contactlake.tables import STAFFING_INTERVAL

__all__ = [
    "KPI_COLUMNS",
    "agent_kpis",
    "kpis",
    "staffing",
]

#: The measure columns :func:`kpis` returns, after period_start and the dimension column.
KPI_COLUMNS = KPI_PUBLISHED
_DIMENSION_COLUMN = {"queue": "queue", "channel": "channel", "agent": "agent_id"}


def kpis(
    ports: Ports,
    centre: CentreConfig,
    grain: str,
    date_from: date,
    date_to: date,
    dimension: str = "none",
    queue: str | None = None,
    channel: str | None = None,
) -> pa.Table:
    """KPIs per period (and queue, channel or agent) in the centre's local time.

    ``period_start`` is a timestamp for the interval grains and a date for day, week (ISO, starting
    Monday) and month. Rates come from summed counts of the 15-minute aggregates (agents: the daily
    agent aggregate, or the detail for an agent's intervals). ``queue`` and
    ``channel`` filter every dimension (agent rows are kept per queue and channel too).
    """
    check_choice(grain, GRAINS, "grain")
    check_choice(dimension, DIMENSIONS, "dimension")
    if dimension == "agent" and grain in GRAIN_MINUTES:
        # Agents are materialised per day; an agent's intervals are read from the (pruned) detail.
        table = detail_kpis(
            ports, centre, "kpi_agent_interval", date_from, date_to, GRAIN_MINUTES[grain], queue, channel
        )
        table = table.rename_columns(
            ["period_start" if n == "interval_start" else n for n in table.column_names]
        )
    else:
        table = rollup(ports, centre, date_from, date_to, grain, dimension, queue, channel, published=True)
    columns = ["period_start", *([_DIMENSION_COLUMN[dimension]] if dimension != "none" else []), *KPI_COLUMNS]
    table = table.select(columns)
    if grain in ("day", "week", "month"):
        index = table.schema.get_field_index("period_start")
        table = table.set_column(index, "period_start", pc.cast(table.column("period_start"), pa.date32()))
    return table


def agent_kpis(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    """Per agent: answered, AHT and its parts (per answered contact), hold / transfer rates, occupancy."""
    return run_sql(ports, "agent_kpis", range_params(centre, date_from, date_to))


def staffing(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    """Per 15-minute interval: Erlang C / A requirement vs agents staffed (``method`` column says how)."""
    table = run_sql(ports, "staffing_read", range_params(centre, date_from, date_to))
    # The interval's columns, then the centre and day (the file's partition is the month, not shown).
    columns = [name for name in STAFFING_INTERVAL.schema.names if name != "contact_date"]
    table = table.select([*columns, "centre_id", "contact_date"])
    method = table.column("method")[0].as_py() if table.num_rows else ""
    return table.replace_schema_metadata({"method": method})
