"""Materialised aggregates: computed nightly and after each upload, read by reports, the API and BI tools.

Reports and dashboards read these (kilobytes a day) instead of scanning the contact lake. Every table is
declared here with an explicit schema (Glue DDL is rendered from it, see :mod:`contactlake.analyse.ddl`)
and partitioned by centre and local day. Each partition is recomputed whole and overwritten under a
fixed name, and nothing time-dependent is written, so re-running an analysis writes identical bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from contactlake.analyse.common import (
    DAY_MINUTES,
    INTERVAL_MINUTES,
    days_between,
    fcr_lookahead_days,
    range_params,
    rollup,
    run_sql,
)
from contactlake.config import CentreConfig
from contactlake.lake import LakeTable, parquet_bytes, partition_prefix, register_table
from contactlake.ports import Ports, SqlParam

__all__ = [
    "AGENT_STATE_INTERVAL",
    "AGGREGATE_TABLES",
    "CENTRE_PLAN",
    "FORECAST_INTERVAL",
    "KPI_AGENT_DAILY",
    "KPI_DAILY",
    "KPI_INTERVAL",
    "MEASURE_FIELDS",
    "PATHWAY_DAILY",
    "STAFFING_INTERVAL",
    "TEST_CONTACT_RESULTS",
    "MaterialiseResult",
    "materialise_kpis",
    "write_days",
]

_I64, _F64, _STR, _I32 = pa.int64(), pa.float64(), pa.string(), pa.int32()
_TS = pa.timestamp("ms")


def _f(name: str, type_: pa.DataType, doc: str) -> pa.Field:
    return pa.field(name, type_, metadata={"doc": doc})


#: The additive counts and sums every KPI is computed from (docs/metrics.md gives each formula).
COUNT_FIELDS = [
    _f("contacts", _I64, "Inbound contacts (every outcome), test contacts excluded."),
    _f("offered", _I64, "Reached the agent queue: answered + abandoned (all) + callback requested."),
    _f("answered", _I64, "Answered by an agent."),
    _f("abandoned", _I64, "Abandoned in queue after the short-abandon threshold."),
    _f("short_abandoned", _I64, "Abandoned in queue before the short-abandon threshold."),
    _f("callback_requested", _I64, "Left the queue with a callback booked."),
    _f("self_served", _I64, "Served in the IVR (contained)."),
    _f("ivr_abandoned", _I64, "Hung up in the IVR without being served."),
    _f("ivr_entered", _I64, "Contacts that entered the IVR."),
    _f("answered_within_sl", _I64, "Answered with queue time <= the SL threshold."),
    _f("abandoned_within_sl", _I64, "Abandoned (short or not) with queue time <= the SL threshold."),
    _f("answered_wait_seconds", _F64, "Sum of queue time of answered contacts."),
    _f("abandoned_wait_seconds", _F64, "Sum of queue time of (non-short) abandoned contacts."),
    _f("queued_wait_seconds", _F64, "Sum of queue time of all offered contacts."),
    _f("longest_wait_seconds", _F64, "Longest queue time of an offered contact."),
    _f("talk_seconds", _F64, "Sum of talk time of answered contacts."),
    _f("hold_seconds", _F64, "Sum of hold time of answered contacts."),
    _f("acw_seconds", _F64, "Sum of after-call work of answered contacts."),
    _f("other_handle_seconds", _F64, "Handle time of outbound / internal / transfer legs (occupancy only)."),
    _f("held", _I64, "Answered contacts put on hold at least once."),
    _f("transferred", _I64, "Answered contacts transferred at least once."),
    _f("transfers", _I64, "Transfers of answered contacts."),
    _f("escalated", _I64, "Answered contacts escalated at least once."),
    _f("fcr_eligible", _I64, "Answered first legs with a customer key (first-contact resolution base)."),
    _f("fcr_resolved", _I64, "Eligible contacts with no repeat by the same customer within the FCR window."),
]
#: The rates derived from the counts (null when the denominator is zero).
RATE_FIELDS = [
    _f("service_level", _F64, "Service level by the centre's variant."),
    _f("asa_seconds", _F64, "Average speed of answer."),
    _f("avg_time_to_abandon_seconds", _F64, "Average queue time of (non-short) abandons."),
    _f("aht_seconds", _F64, "Average handle time: (talk + hold + ACW) / answered."),
    _f("abandon_rate", _F64, "abandoned / (offered - short_abandoned)."),
    _f("hold_rate", _F64, "held / answered."),
    _f("transfer_rate", _F64, "transferred / answered."),
    _f("escalation_rate", _F64, "escalated / answered."),
    _f("ivr_containment", _F64, "self_served / ivr_entered."),
    _f("callback_rate", _F64, "callback_requested / offered."),
    _f("fcr_rate", _F64, "fcr_resolved / fcr_eligible."),
]
MEASURE_FIELDS = [*COUNT_FIELDS, *RATE_FIELDS]

_CENTRE_DAY = (("centre_id", "VARCHAR"), ("contact_date", "DATE"))
_INTERVAL = _f("interval_start", _TS, "Start of the local-time interval.")
_GRAIN = _f("grain_minutes", _I32, "Interval length in minutes.")
_QUEUE = _f("queue", _STR, "Queue ('(none)' if the contact never queued).")
_CHANNEL = _f("channel", _STR, "Channel.")


def _table(name: str, prefix: str, fields: list[pa.Field], doc: str) -> LakeTable:
    schema = pa.schema(fields, metadata={"contactlake.table": name, "doc": doc})
    table = LakeTable(name, "lake", f"aggregates/{prefix}", schema, _CENTRE_DAY)
    register_table(table)
    return table


KPI_INTERVAL = _table(
    "kpi_interval",
    "kpi_interval",
    [_INTERVAL, _GRAIN, _QUEUE, _CHANNEL, _f("agent_id", _STR, "Always '(all)' here."), *MEASURE_FIELDS],
    "KPI counts and rates per 15-minute local interval, queue and channel.",
)
KPI_AGENT_DAILY = _table(
    "kpi_agent_daily",
    "kpi_agent_daily",
    [_QUEUE, _CHANNEL, _f("agent_id", _STR, "Answering agent; '(none)' if unanswered."), *MEASURE_FIELDS],
    "KPI counts and rates per local day, agent, queue and channel.",
)
KPI_DAILY = _table(
    "kpi_daily",
    "kpi_daily",
    [_QUEUE, _CHANNEL, *MEASURE_FIELDS],
    "KPI counts and rates per local day, queue and channel (the sum of the day's intervals).",
)
AGENT_STATE_INTERVAL = _table(
    "agent_state_interval",
    "agent_state_interval",
    [
        _INTERVAL,
        _GRAIN,
        _f("agent_id", _STR, "Agent."),
        _f("team", _STR, "Team."),
        _f(
            "logged_in_seconds", _F64, "Staffed time (or the sum of all states if the export has no staffed)."
        ),
        _f("staffed_seconds", _F64, "Time in the staffed state."),
        _f("ready_seconds", _F64, "Time in the available (idle, ready) state."),
        _f("on_contact_seconds", _F64, "Time in the on_contact state."),
        _f("after_call_work_seconds", _F64, "Time in the after_call_work state."),
        _f("break_seconds", _F64, "Time on break."),
        _f("training_seconds", _F64, "Time in training."),
        _f("other_seconds", _F64, "Time in other auxiliary states."),
        _f("net_staffed_seconds", _F64, "logged_in - break - training - other: time available for contacts."),
    ],
    "Agent time per 15-minute local interval and state, cut from agent_activity spans.",
)
STAFFING_INTERVAL = _table(
    "staffing_interval",
    "staffing_interval",
    [
        _INTERVAL,
        _f("offered", _I64, "Contacts offered in the interval."),
        _f("answered", _I64, "Contacts answered."),
        _f("aht_seconds", _F64, "AHT used for the requirement (the interval's, else the day's)."),
        _f("traffic_erlangs", _F64, "offered x AHT / interval length."),
        _f("service_level", _F64, "Observed service level (centre's variant)."),
        _f("required_erlang_c", _I64, "Agents needed on the phones, Erlang C, SL target and occupancy cap."),
        _f("erlang_c_service_level", _F64, "Service level Erlang C predicts with required_erlang_c agents."),
        _f("required_erlang_a", _I64, "Agents needed, Erlang A (abandonment with the estimated patience)."),
        _f("erlang_a_abandon_probability", _F64, "P(abandon) Erlang A predicts with required_erlang_a."),
        _f("patience_seconds", _F64, "Mean patience used for Erlang A (estimated from the data)."),
        _f("required_positions", _I64, "Scheduled positions: ceil(required_erlang_c / (1 - shrinkage))."),
        _f("staffed_agents", _F64, "Agents actually available for contacts: net staffed seconds / interval."),
        _f("agents_logged_in", _I64, "Agents logged in at any time during the interval."),
        _f("gap", _F64, "staffed_agents - required_erlang_c (negative = under-staffed)."),
        _f("occupancy", _F64, "Handle time / net staffed time."),
        _f("method", _STR, "How the requirement was computed."),
    ],
    "Agents required (Erlang C and A) against agents staffed, per 15-minute local interval.",
)
PATHWAY_DAILY = _table(
    "pathway_daily",
    "pathway_daily",
    [
        _f("path", _STR, "Steps in order, ' > '-separated, ending in 'outcome:<outcome>'."),
        _f("path_source", _STR, "'steps' (from pathway_steps) or 'derived' (from contact columns)."),
        _f("contacts", _I64, "Contacts that took the path."),
        _f("answered", _I64, "Of which answered."),
        _f("abandoned", _I64, "Of which abandoned in queue."),
        _f("self_served", _I64, "Of which self-served in the IVR."),
        _f("ivr_abandoned", _I64, "Of which abandoned in the IVR."),
        _f("queue_seconds", _F64, "Sum of queue time."),
        _f("handle_seconds", _F64, "Sum of handle time (answered)."),
        _f("transfers", _I64, "Sum of transfers."),
        _f("escalations", _I64, "Sum of escalations."),
    ],
    "Contact paths (IVR > queue > agent > transfer > outcome) per local day.",
)
FORECAST_INTERVAL = _table(
    "forecast_interval",
    "forecast_interval",
    [
        _INTERVAL,
        _f("forecast_offered", _F64, "Forecast contacts offered in the interval."),
        _f("method", _STR, "Forecasting method."),
        _f("made_through", pa.date32(), "Last local day of actuals the forecast used."),
        _f("history_weeks", _I32, "Weeks of history that went into it."),
    ],
    "Forecast offered contacts per 15-minute local interval (partition = the forecast day).",
)
TEST_CONTACT_RESULTS = _table(
    "test_contact_results",
    "test_contact_results",
    [
        _f("test_case_id", _STR, "The synthetic test case."),
        _f("contact_id", _STR, "The test contact."),
        _f("check", _STR, "Measure checked."),
        _f("expected", _F64, "Value the test case expects."),
        _f("actual", _F64, "Value the KPI SQL measured."),
        _f("passed", pa.bool_(), "actual == expected."),
    ],
    "Each synthetic test contact measured by the KPI SQL, checked against its expected outcome.",
)
CENTRE_PLAN = LakeTable(
    "centre_plan",
    "lake",
    "aggregates/centre_plan",
    pa.schema(
        [
            _f("name", _STR, "Centre name."),
            _f("timezone", _STR, "IANA time zone of the centre's local times."),
            _f("sl_threshold_seconds", _I64, "Service-level answer threshold."),
            _f("sl_target", _F64, "Service-level target."),
            _f("sl_variant", _STR, "Service-level formula."),
            _f("short_abandon_seconds", _I64, "Abandons quicker than this are short abandons."),
            _f("fcr_window_hours", _I64, "Repeat window for first-contact resolution."),
            _f("max_occupancy", _F64, "Occupancy cap for staffing."),
            _f("shrinkage", _F64, "Planned shrinkage for staffing."),
            _f("cost_per_agent_hour", _F64, "Loaded cost of a staffed agent hour."),
            _f("plan_offered_per_day", _F64, "Plan: contacts offered per day."),
            _f("plan_service_level", _F64, "Plan: service level."),
            _f("plan_abandon_rate", _F64, "Plan: abandon rate."),
            _f("plan_asa_seconds", _F64, "Plan: ASA."),
            _f("plan_aht_seconds", _F64, "Plan: AHT."),
            _f("plan_budget_per_contact", _F64, "Budget: cost per answered contact."),
            _f("plan_monthly_budget", _F64, "Budget: staff cost per month."),
        ],
        metadata={"contactlake.table": "centre_plan", "doc": "Each centre's targets, plan and budget."},
    ),
    (("centre_id", "VARCHAR"),),
)
register_table(CENTRE_PLAN)

AGGREGATE_TABLES: tuple[LakeTable, ...] = (
    KPI_INTERVAL,
    KPI_AGENT_DAILY,
    KPI_DAILY,
    AGENT_STATE_INTERVAL,
    STAFFING_INTERVAL,
    PATHWAY_DAILY,
    FORECAST_INTERVAL,
    TEST_CONTACT_RESULTS,
    CENTRE_PLAN,
)


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


def _interval_params(
    centre: CentreConfig, date_from: date, date_to: date, breakdown: str, grain_minutes: int
) -> dict[str, SqlParam]:
    policy = centre.service_level
    return {
        **range_params(centre, date_from, date_to),
        "lookahead_to": (date_to + timedelta(days=fcr_lookahead_days(centre))).isoformat(),
        "grain_minutes": grain_minutes,
        "breakdown": breakdown,
        "test_contacts": False,
        "queue": "",
        "channel": "",
        "sl_threshold_seconds": policy.threshold_seconds,
        "short_abandon_seconds": centre.short_abandon_seconds,
        "fcr_window_hours": centre.fcr_window_hours,
    }


def interval_measures(
    ports: Ports,
    centre: CentreConfig,
    date_from: date,
    date_to: date,
    breakdown: str,
    test_contacts: bool = False,
    grain_minutes: int = INTERVAL_MINUTES,
    queue: str | None = None,
    channel: str | None = None,
) -> pa.Table:
    """kpi_interval.sql over the contact detail for one breakdown (see the file's header)."""
    params = {
        **_interval_params(centre, date_from, date_to, breakdown, grain_minutes),
        "test_contacts": test_contacts,
        "queue": queue or "",
        "channel": channel or "",
    }
    return run_sql(ports, "kpi_interval", params)


def materialise_kpis(
    ports: Ports,
    centre: CentreConfig,
    date_from: date,
    date_to: date,
    on_step: Callable[[str], None] | None = None,
) -> list[MaterialiseResult]:
    """Recompute the contact and agent-time aggregates of one centre for the given local days.

    Writes kpi_interval (15 minutes), kpi_agent_daily and agent_state_interval from the detail, then
    kpi_daily as the roll-up of kpi_interval (so a day is always the sum of its intervals).
    """
    days = days_between(date_from, date_to)
    results = []

    def done(result: MaterialiseResult) -> None:
        results.append(result)
        if on_step:
            on_step(f"{centre.centre_id}: {result.table} {result.rows} rows")

    for table, breakdown, minutes in ((KPI_INTERVAL, "queue_channel", INTERVAL_MINUTES),
                                      (KPI_AGENT_DAILY, "agent", DAY_MINUTES)):  # fmt: skip
        measured = interval_measures(ports, centre, date_from, date_to, breakdown, grain_minutes=minutes)
        done(write_days(ports, table, centre.centre_id, measured, days))
    states = run_sql(
        ports,
        "agent_state_interval",
        {
            **range_params(centre, date_from, date_to),
            "activity_from": (date_from - timedelta(days=1)).isoformat(),
            "grain_minutes": INTERVAL_MINUTES,
        },
    )
    done(write_days(ports, AGENT_STATE_INTERVAL, centre.centre_id, states, days))
    daily = rollup(ports, centre, date_from, date_to, "day", "queue_channel")
    daily = daily.append_column("contact_date", pc.cast(daily.column("period_start"), pa.date32()))
    done(write_days(ports, KPI_DAILY, centre.centre_id, daily, days))
    return results
