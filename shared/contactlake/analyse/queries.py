"""The read side for reports and the API: every figure a stakeholder sees, by one function each.

All read the materialised aggregates written by :func:`contactlake.analyse.run.run_analysis` (kilobytes
per centre-day), never the contact detail — except :func:`test_contact_results` and
:func:`reconciliation`, which are about the detail. Each takes ``ports`` and the centre first and
returns an Arrow table (columns documented in docs/metrics.md) or a frozen dataclass.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from contactlake.analyse import forecast as _forecast
from contactlake.analyse import plan as _plan
from contactlake.analyse import quality as _quality
from contactlake.analyse import trends as _trends
from contactlake.analyse.aggregates import detail_kpis
from contactlake.analyse.common import (
    DIMENSIONS,
    GRAIN_MINUTES,
    GRAINS,
    check_choice,
    check_range,
    range_params,
    rollup,
    run_sql,
)
from contactlake.analyse.pathways import PathwayReport
from contactlake.analyse.pathways import pathways as _pathways
from contactlake.analyse.trends import TrendReport
from contactlake.config import CentreConfig
from contactlake.ports import Ports

__all__ = [
    "KPI_COLUMNS",
    "PathwayReport",
    "TrendReport",
    "agent_kpis",
    "cost_per_contact",
    "data_quality",
    "forecast",
    "forecast_accuracy",
    "kpis",
    "pathways",
    "plan_vs_actual",
    "profiles",
    "reconciliation",
    "staffing",
    "test_contact_results",
    "trends",
    "workforce",
]

#: The measure columns :func:`kpis` returns, after period_start and the dimension column.
KPI_COLUMNS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "service_level",
    "asa_seconds",
    "longest_wait_seconds",
    "avg_time_to_abandon_seconds",
    "aht_seconds",
    "abandon_rate",
    "hold_rate",
    "transfer_rate",
    "escalation_rate",
    "ivr_containment",
    "callback_rate",
    "fcr_rate",
    "contacts",
    "answered_within_sl",
    "abandoned_within_sl",
    "callback_requested",
    "self_served",
    "ivr_abandoned",
)
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
        table = rollup(ports, centre, date_from, date_to, grain, dimension, queue, channel)
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
    method = table.column("method")[0].as_py() if table.num_rows else ""
    return table.replace_schema_metadata({"method": method})


def trends(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> TrendReport:
    return _trends.trends(ports, centre, date_from, date_to)


def profiles(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    return _trends.profiles(ports, centre, date_from, date_to)


def pathways(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, top: int = 10
) -> PathwayReport:
    return _pathways(ports, centre, date_from, date_to, top)


def forecast(ports: Ports, centre: CentreConfig, week_start: date) -> pa.Table:
    """interval_start, forecast_offered, actual_offered (null until known), method, made_through."""
    return _forecast.forecast_week(ports, centre, week_start)


def forecast_accuracy(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    """Per day: WAPE, MAPE and bias of the interval forecast (stored, else back-tested)."""
    return _forecast.forecast_accuracy(ports, centre, date_from, date_to)


def plan_vs_actual(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, grain: str = "all"
) -> pa.Table:
    """kpi, actual, target, variance, variance_pct, on_target (per period with grain day/week/month)."""
    return _plan.plan_vs_actual(ports, centre, date_from, date_to, grain)


def cost_per_contact(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, grain: str = "day"
) -> pa.Table:
    return _plan.cost_per_contact(ports, centre, date_from, date_to, grain)


def workforce(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, grain: str = "day"
) -> pa.Table:
    """Occupancy, utilisation, shrinkage, staffed hours and staff cost per period."""
    check_range(date_from, date_to)
    return _plan.workforce(ports, centre, date_from, date_to, grain)


def reconciliation(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    """scope, subject, check, expected, actual, passed."""
    return _quality.reconciliation(ports, centre, date_from, date_to)


def test_contact_results(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    """test_case_id, contact_id, check, expected, actual, passed (and contact_date)."""
    return _quality.check_test_contacts(ports, centre, date_from, date_to)


test_contact_results.__test__ = False  # type: ignore[attr-defined]  # a report, not a pytest test


def data_quality(ports: Ports, centre: CentreConfig, date_from: date, date_to: date) -> pa.Table:
    return _quality.data_quality(ports, centre, date_from, date_to)
