"""The one registry of lake tables: every table the pipeline writes and the query engines read.

Curated tables (their columns in :mod:`contactlake.schema`) and the materialised aggregates (their
measure columns from :mod:`contactlake.metrics`) are declared here, each with its storage area, key
prefix, Arrow schema and partition columns. Writers (:mod:`contactlake.lake`), both engines, the Glue and
Athena DDL (:mod:`contactlake.analyse.ddl`, ``infra/gen_glue_tables.py``) all read this one registry.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from contactlake import schema
from contactlake.metrics import COUNTS, KPI_RATES
from contactlake.ports import Area

__all__ = [
    "AGENT_STATE_INTERVAL",
    "AGGREGATE_TABLES",
    "CENTRE_PLAN",
    "DAY_CLOSED",
    "FORECAST_INTERVAL",
    "KPI_AGENT_DAILY",
    "KPI_DAILY",
    "KPI_INTERVAL",
    "LAKE_TABLES",
    "MEASURE_FIELDS",
    "PATHWAY_DAILY",
    "STAFFING_INTERVAL",
    "TEST_CONTACT_RESULTS",
    "LakeTable",
    "all_tables",
]


@dataclass(frozen=True)
class LakeTable:
    """A table the query engines can see: its area, key prefix, file schema and partition columns."""

    name: str
    area: Area
    prefix: str
    schema: pa.Schema
    partitions: tuple[tuple[str, str], ...]  # (column, SQL type), in path order
    #: Columns were added since schema version 1, so files written earlier lack them: Athena reads them as
    #: NULL by itself; the local engine upgrades such files once (``adapters.local.upgrade_files``).
    evolved: bool = False
    #: The order rows are written in (an aggregate's files are sorted, so a read of a few days or one
    #: queue skips row groups by their statistics); empty for tables written as they come.
    sort_by: tuple[str, ...] = ()

    @property
    def by_month(self) -> bool:
        """Files hold a centre's whole local month (``contact_month``), rows keyed by ``contact_date``."""
        return "contact_month" in self.partition_names

    @property
    def partition_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.partitions)


_CENTRE_DATE = (("centre_id", "VARCHAR"), ("contact_date", "DATE"))
#: The KPI aggregates: one file per centre and local month (the first day of the month), read by month
#: ranges; a file per centre-day made every year-long read open 365 small files per centre.
_CENTRE_MONTH = (("centre_id", "VARCHAR"), ("contact_month", "DATE"))

CURATED_TABLES: dict[str, LakeTable] = {
    # source_updated_utc was added in schema version 2, quality_flags in 3.
    "contacts": LakeTable(
        "contacts", "lake", "curated/contacts", schema.CONTACTS, _CENTRE_DATE, evolved=True
    ),
    # quality_flags was added to pathway_steps and agent_activity in schema version 4.
    "pathway_steps": LakeTable(
        "pathway_steps", "lake", "curated/pathway_steps", schema.PATHWAY_STEPS, _CENTRE_DATE, evolved=True
    ),
    "agent_activity": LakeTable(
        "agent_activity",
        "lake",
        "curated/agent_activity",
        schema.AGENT_ACTIVITY,
        (("centre_id", "VARCHAR"), ("activity_date", "DATE")),
        evolved=True,
    ),
    "quarantine": LakeTable(
        "quarantine",
        "quarantine",
        "rows",
        schema.QUARANTINE,
        (("centre_id", "VARCHAR"), ("ingest_date", "DATE")),
    ),
    "ingest_log": LakeTable(
        "ingest_log",
        "lake",
        "curated/ingest_log",
        schema.INGEST_LOG,
        (("centre_id", "VARCHAR"), ("ingest_date", "DATE")),
        evolved=True,  # rows_flagged, flagged_by_rule: version 3; carried counts, arrived_utc: version 4.
    ),
    # Written by the report stage (contactlake.report.issues) each time a report version is issued.
    "report_issues": LakeTable(
        "report_issues",
        "lake",
        "curated/report_issues",
        schema.REPORT_ISSUES,
        (("centre_id", "VARCHAR"), ("period_start", "DATE")),
    ),
}


_I64, _F64, _STR, _I32 = pa.int64(), pa.float64(), pa.string(), pa.int32()
_TS = pa.timestamp("ms")


def _f(name: str, type_: pa.DataType, doc: str) -> pa.Field:
    return pa.field(name, type_, metadata={"doc": doc})


#: The KPI aggregates' measure columns: the counts and stored rates of :mod:`contactlake.metrics`.
MEASURE_FIELDS = [
    *(_f(count.name, pa.type_for_alias(count.type), count.doc) for count in COUNTS),
    *(_f(name, _F64, doc) for name, doc in KPI_RATES),
]

_INTERVAL = _f("interval_start", _TS, "Start of the local-time interval.")
_GRAIN = _f("grain_minutes", _I32, "Interval length in minutes.")
_QUEUE = _f("queue", _STR, "Queue ('(none)' if the contact never queued).")
_CHANNEL = _f("channel", _STR, "Channel.")


_DATE = _f("contact_date", pa.date32(), "Local business day of the centre (sorted on it within a month).")


def _table(name: str, prefix: str, fields: list[pa.Field], doc: str) -> LakeTable:
    schema = pa.schema(fields, metadata={"contactlake.table": name, "doc": doc})
    return LakeTable(name, "lake", f"aggregates/{prefix}", schema, _CENTRE_DATE)


def _monthly(name: str, fields: list[pa.Field], doc: str, sort_by: tuple[str, ...]) -> LakeTable:
    """An aggregate kept as one sorted file per centre and local month (``contact_date`` a column)."""
    schema = pa.schema([_DATE, *fields], metadata={"contactlake.table": name, "doc": doc})
    return LakeTable(
        name, "lake", f"aggregates/{name}", schema, _CENTRE_MONTH, sort_by=("contact_date", *sort_by)
    )


KPI_INTERVAL = _monthly(
    "kpi_interval",
    [_INTERVAL, _GRAIN, _QUEUE, _CHANNEL, _f("agent_id", _STR, "Always '(all)' here."), *MEASURE_FIELDS],
    "KPI counts and rates per 15-minute local interval, queue and channel.",
    ("interval_start", "queue", "channel"),
)
KPI_AGENT_DAILY = _monthly(
    "kpi_agent_daily",
    [_QUEUE, _CHANNEL, _f("agent_id", _STR, "Answering agent; '(none)' if unanswered."), *MEASURE_FIELDS],
    "KPI counts and rates per local day, agent, queue and channel.",
    ("queue", "channel", "agent_id"),
)
KPI_DAILY = _monthly(
    "kpi_daily",
    [_QUEUE, _CHANNEL, *MEASURE_FIELDS],
    "KPI counts and rates per local day, queue and channel (the sum of the day's intervals).",
    ("queue", "channel"),
)
AGENT_STATE_INTERVAL = _monthly(
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
    ("interval_start", "agent_id"),
)
STAFFING_INTERVAL = _monthly(
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
    ("interval_start",),
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
DAY_CLOSED = _table(
    "day_closed",
    "day_closed",
    [
        _f("source", _STR, "The centre's configured source (export)."),
        _f("received", pa.bool_(), "A stored upload's rows fall on the day."),
        _f("uploads", _I32, "Stored uploads whose rows fall on the day."),
        _f("rows_on_day", _I64, "Curated rows those uploads stored on the day."),
        _f("deadline_local", _TS, "When the source's rows of the day are due (its schedule), local time."),
        _f("arrived_local", _TS, "First arrival of the last upload that delivered rows of the day, local."),
        _f("late", pa.bool_(), "Some upload of the day arrived after its deadline."),
        _f("day_closed", pa.bool_(), "Received and final: its deadline passed or a later day arrived."),
    ],
    "Per centre, source and business day: received, late, and closed (its figures final) — the marker "
    "the data-quality view, the API and the reports' banners and holds use.",
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
AGGREGATE_TABLES: tuple[LakeTable, ...] = (
    KPI_INTERVAL,
    KPI_AGENT_DAILY,
    KPI_DAILY,
    AGENT_STATE_INTERVAL,
    STAFFING_INTERVAL,
    PATHWAY_DAILY,
    FORECAST_INTERVAL,
    TEST_CONTACT_RESULTS,
    DAY_CLOSED,
    CENTRE_PLAN,
)


#: Every table, curated ones first, in the order the Glue catalogue and the DDL list them.
LAKE_TABLES: dict[str, LakeTable] = {**CURATED_TABLES, **{t.name: t for t in AGGREGATE_TABLES}}


def all_tables() -> dict[str, LakeTable]:
    """Every lake table by name (curated, then aggregates)."""
    return LAKE_TABLES
