"""Every KPI declared once: the additive counts, and each measure as a ratio of them.

The 15-minute aggregates store counts and sums only; every rate at every grain is a ratio of summed
counts, never an average of averages. This module is the one place a formula is written:

* :data:`COUNTS` — each additive count or sum: its type, how it is measured from one classified contact
  (the ``classified`` rows of ``sql/intermediate/int_contacts_classified.sql``) and how it rolls up.
* :data:`MEASURES` — each derived measure: numerator and denominator (sums of counts, a ``-`` term is
  subtracted), unit and, for service level, the variant it belongs to.

The SQL files use them through directives that :mod:`contactlake.sqlfiles` expands (``-- @include
kpi_counts`` and the like for whole lists, ``-- @measure occupancy`` for one measure); Python takes
:func:`parts` and :func:`value`; docs/metrics.md's formula table is :func:`markdown_table`. A test
(``tests/unit/core/test_metrics_declared_once.py``) fails if formula text appears anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "COUNTS",
    "KPI_PUBLISHED",
    "KPI_RATES",
    "MEASURES",
    "SL_VARIANTS",
    "Count",
    "Measure",
    "fragment",
    "fragment_names",
    "markdown_table",
    "measure_sql",
    "parts",
    "value",
]

ArrowType = Literal["int64", "float64"]
_I64: ArrowType = "int64"
_F64: ArrowType = "float64"


@dataclass(frozen=True)
class Count:
    """An additive count or sum per row of a KPI aggregate."""

    name: str
    #: Arrow type name of the column (``int64`` counts, ``float64`` sums of seconds).
    type: ArrowType
    #: SQL aggregate over classified contacts (one KPI model's ``counted`` step).
    detail: str
    doc: str
    #: How rows combine at a coarser grain: ``sum``, or ``max`` for the longest wait.
    rollup: Literal["sum", "max"] = "sum"
    #: Measured with the customer's later contacts (``no_repeat``, first-contact resolution), not from the
    #: contact alone: the materialising query counts it over the first legs with their look-ahead
    #: (``sql/intermediate/int_contact_repeats.sql``) and joins it to the other counts.
    look_ahead: bool = False


@dataclass(frozen=True)
class Measure:
    """A ratio: ``sum(numerator) / sum(denominator)``; null when the denominator is zero.

    Terms are column names; a term written ``-name`` is subtracted. ``variant`` names the service-level
    variant the formula belongs to (several measures share one output name, chosen by the centre).
    """

    name: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    unit: Literal["share", "seconds", "currency"]
    doc: str
    variant: str | None = None

    @property
    def key(self) -> str:
        return f"{self.name}:{self.variant}" if self.variant else self.name


def _inbound(condition: str) -> str:
    return f"is_inbound AND {condition}"


_ANSWERED = "outcome = 'answered'"
_ABANDONED = "outcome = 'abandoned' AND NOT is_short_abandon"


def _count_if(condition: str) -> str:
    return f"count_if({condition})"


def _sum_if(condition: str, column: str) -> str:
    return f"sum(CASE WHEN {condition} THEN {column} ELSE 0 END)"


#: The additive counts and sums every KPI is computed from, in the aggregate tables' column order.
COUNTS: tuple[Count, ...] = (
    Count("contacts", _I64, _count_if("is_inbound"),
          "Inbound contacts (every outcome), test contacts excluded."),
    Count("offered", _I64, _count_if(_inbound("is_offered")),
          "Reached the agent queue: answered + abandoned (all) + callback requested + transferred."),
    Count("answered", _I64, _count_if(_inbound(_ANSWERED)), "Answered by an agent."),
    Count("abandoned", _I64, _count_if(_inbound(_ABANDONED)),
          "Abandoned in queue after the short-abandon threshold."),
    Count("short_abandoned", _I64, _count_if(_inbound("is_short_abandon")),
          "Abandoned in queue before the short-abandon threshold."),
    Count("callback_requested", _I64, _count_if(_inbound("outcome = 'callback_requested'")),
          "Left the queue with a callback booked."),
    Count("queue_transferred", _I64, _count_if(_inbound("outcome = 'transferred'")),
          "Left the queue by a transfer before an agent answered (outcome transferred)."),
    Count("self_served", _I64, _count_if(_inbound("outcome = 'self_served'")),
          "Served in the IVR (contained)."),
    Count("ivr_abandoned", _I64, _count_if(_inbound("outcome = 'ivr_abandoned'")),
          "Hung up in the IVR without being served."),
    Count("ivr_entered", _I64, _count_if(_inbound("entered_ivr")), "Contacts that entered the IVR."),
    Count("answered_within_sl", _I64, _count_if(_inbound(f"{_ANSWERED} AND within_threshold")),
          "Answered with queue time <= the SL threshold."),
    Count("abandoned_within_sl", _I64, _count_if(_inbound("outcome = 'abandoned' AND within_threshold")),
          "Abandoned (short or not) with queue time <= the SL threshold."),
    Count("answered_wait_seconds", _F64, _sum_if(_inbound(_ANSWERED), "queue_seconds"),
          "Sum of queue time of answered contacts."),
    Count("abandoned_wait_seconds", _F64, _sum_if(_inbound(_ABANDONED), "queue_seconds"),
          "Sum of queue time of (non-short) abandoned contacts."),
    Count("queued_wait_seconds", _F64, _sum_if(_inbound("is_offered"), "queue_seconds"),
          "Sum of queue time of all offered contacts."),
    Count("longest_wait_seconds", _F64, "max(CASE WHEN is_inbound AND is_offered THEN queue_seconds END)",
          "Longest queue time of an offered contact.", rollup="max"),
    Count("talk_seconds", _F64, _sum_if(_inbound(_ANSWERED), "talk_seconds"),
          "Sum of talk time of answered contacts."),
    Count("hold_seconds", _F64, _sum_if(_inbound(_ANSWERED), "hold_seconds"),
          "Sum of hold time of answered contacts."),
    Count("acw_seconds", _F64, _sum_if(_inbound(_ANSWERED), "acw_seconds"),
          "Sum of after-call work of answered contacts."),
    Count("other_handle_seconds", _F64, _sum_if("NOT is_inbound", "handle_seconds"),
          "Handle time of outbound / internal / transfer legs (occupancy only)."),
    Count("held", _I64, _count_if(_inbound(f"{_ANSWERED} AND was_held")),
          "Answered contacts put on hold at least once."),
    Count("transferred", _I64, _count_if(_inbound(f"{_ANSWERED} AND transfer_count > 0")),
          "Answered contacts transferred at least once."),
    Count("transfers", _I64, _sum_if(_inbound(_ANSWERED), "transfer_count"),
          "Transfers of answered contacts."),
    Count("escalated", _I64, _count_if(_inbound(f"{_ANSWERED} AND escalation_count > 0")),
          "Answered contacts escalated at least once."),
    Count("fcr_eligible", _I64, _count_if(_inbound("fcr_eligible")),
          "Answered first legs with a customer key (first-contact resolution base)."),
    Count("fcr_resolved", _I64, _count_if(_inbound("fcr_eligible AND no_repeat")),
          "Eligible contacts with no repeat by the same customer within the FCR window.", look_ahead=True),
)  # fmt: skip
_COUNT = {c.name: c for c in COUNTS}

_SL = "Share of contacts answered within the centre's threshold"
_HANDLE = ("talk_seconds", "hold_seconds", "acw_seconds")

#: Every derived measure. The ``KPI_RATES`` subset is stored beside the counts in each KPI aggregate.
MEASURES: tuple[Measure, ...] = (
    Measure("service_level", ("answered_within_sl",), ("answered",), "share",
            f"{_SL}, of answered contacts.", variant="answered_only"),
    Measure("service_level", ("answered_within_sl",), ("offered", "-abandoned_within_sl"), "share",
            f"{_SL}; abandons within the threshold left out (the default).", variant="abandons_ignored"),
    Measure("service_level", ("answered_within_sl",), ("offered",), "share",
            f"{_SL}; every abandon counts against it.", variant="abandons_negative"),
    Measure("service_level", ("answered_within_sl", "abandoned_within_sl"), ("offered",), "share",
            f"{_SL}; abandons within the threshold count for it.", variant="short_abandons_positive"),
    Measure("asa_seconds", ("answered_wait_seconds",), ("answered",), "seconds", "Average speed of answer."),
    Measure("avg_time_to_abandon_seconds", ("abandoned_wait_seconds",), ("abandoned",), "seconds",
            "Average queue time of (non-short) abandons."),
    Measure("aht_seconds", _HANDLE, ("answered",), "seconds",
            "Average handle time: (talk + hold + ACW) / answered."),
    Measure("abandon_rate", ("abandoned",), ("offered", "-short_abandoned"), "share",
            "abandoned / (offered - short_abandoned)."),
    Measure("hold_rate", ("held",), ("answered",), "share", "held / answered."),
    Measure("transfer_rate", ("transferred",), ("answered",), "share", "transferred / answered."),
    Measure("escalation_rate", ("escalated",), ("answered",), "share", "escalated / answered."),
    Measure("ivr_containment", ("self_served",), ("ivr_entered",), "share", "self_served / ivr_entered."),
    Measure("callback_rate", ("callback_requested",), ("offered",), "share", "callback_requested / offered."),
    Measure("fcr_rate", ("fcr_resolved",), ("fcr_eligible",), "share", "fcr_resolved / fcr_eligible."),
    # Per answered contact, for the agent view.
    Measure("avg_talk_seconds", ("talk_seconds",), ("answered",), "seconds",
            "Talk time per answered contact."),
    Measure("avg_hold_seconds", ("hold_seconds",), ("answered",), "seconds",
            "Hold time per answered contact."),
    Measure("avg_acw_seconds", ("acw_seconds",), ("answered",), "seconds",
            "After-call work per answered contact."),
    # Workforce: agent time from agent_state_interval, handle time from the contacts.
    Measure("occupancy", ("handle_seconds",), ("net_staffed_seconds",), "share",
            "Handle time (inbound answered + other legs) / net staffed time."),
    Measure("utilisation", ("handle_seconds",), ("logged_in_seconds",), "share",
            "Handle time / logged-in time."),
    Measure("shrinkage", ("aux_seconds",), ("logged_in_seconds",), "share",
            "Break + training + other time / logged-in time."),
    Measure("cost_per_contact", ("staff_cost",), ("answered",), "currency",
            "Staff cost (logged-in hours x cost per agent hour) per answered contact."),
)  # fmt: skip
_MEASURES: dict[str, Measure] = {m.key: m for m in MEASURES}
#: The service-level variants a centre may choose, in declaration order.
SL_VARIANTS: tuple[str, ...] = tuple(m.variant for m in MEASURES if m.variant)

#: The rates stored in every KPI aggregate, in column order, with their docs.
KPI_RATES: tuple[tuple[str, str], ...] = (
    ("service_level", "Service level by the centre's variant."),
    ("asa_seconds", "Average speed of answer."),
    ("avg_time_to_abandon_seconds", "Average queue time of (non-short) abandons."),
    ("aht_seconds", "Average handle time: (talk + hold + ACW) / answered."),
    ("abandon_rate", "abandoned / (offered - short_abandoned)."),
    ("hold_rate", "held / answered."),
    ("transfer_rate", "transferred / answered."),
    ("escalation_rate", "escalated / answered."),
    ("ivr_containment", "self_served / ivr_entered."),
    ("callback_rate", "callback_requested / offered."),
    ("fcr_rate", "fcr_resolved / fcr_eligible."),
)

#: The measure columns the KPI read publishes (the API's and the reports' KPI tables, after the period and
#: the dimension): the headline counts and every rate. api/kpi_series.sql selects them (fragment
#: ``kpi_published_columns``), so the widest read carries only these out of the engine.
KPI_PUBLISHED: tuple[str, ...] = (
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


def _measure(name: str, variant: str | None = None) -> Measure:
    key = f"{name}:{variant}" if variant else name
    if key not in _MEASURES:
        raise KeyError(f"no measure {key!r} in contactlake.metrics; declared: {', '.join(_MEASURES)}")
    return _MEASURES[key]


def _variants(name: str) -> list[Measure]:
    return [m for m in MEASURES if m.name == name and m.variant]


def _is_integer(column: str) -> bool:
    count = _COUNT.get(column)
    return count is not None and count.type == _I64


def _terms_sql(terms: tuple[str, ...]) -> str:
    text = terms[0]
    for term in terms[1:]:
        text += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
    return text


def _ratio_sql(measure: Measure) -> str:
    numerator = _terms_sql(measure.numerator)
    if all(_is_integer(t) for t in measure.numerator):
        numerator = f"CAST({numerator} AS DOUBLE)"  # integer / integer would truncate
    elif len(measure.numerator) > 1:
        numerator = f"({numerator})"
    return f"{numerator} / nullif({_terms_sql(measure.denominator)}, 0)"


def measure_sql(name: str, alias: str | None = None, variant_from: str = ":sl_variant") -> str:
    """``<formula> AS <alias>`` for a select list; a measure with variants becomes a ``CASE`` on
    ``variant_from`` (the bound parameter, or a column such as the plan's ``sl_variant``)."""
    alias = alias or name
    variants = _variants(name)
    if not variants:
        return f"{_ratio_sql(_measure(name))} AS {alias}"
    lines = [f"CASE {variant_from}"]
    for m in variants:
        formula = _ratio_sql(m)
        when = f"    WHEN '{m.variant}' THEN {formula}"
        if len(when) > 112:  # the longest variant is wrapped
            when = f"    WHEN '{m.variant}'\n        THEN {formula}"
        lines.append(when)
    lines.append(f"END AS {alias}")
    return "\n".join(lines)


def _indent(text: str, indent: str) -> str:
    return "\n".join(indent + line for line in text.splitlines())


def _fragments() -> dict[str, list[str]]:
    """Generated select-list fragments, one item per entry (joined with commas by :func:`fragment`)."""
    return {
        # The counts measured from classified contacts (a KPI model's GROUP BY step).
        "kpi_counts": [f"{c.detail} AS {c.name}" for c in COUNTS],
        # The counts the service-level variants are measured from (api/sl_presets.sql, per threshold).
        "sl_counts": [f"{c.detail} AS {c.name}" for c in COUNTS if c.name in _service_level_terms()],
        # The same split in two (marts/kpi_interval.sql): the counts measured from each contact alone,
        # and those that need the customer's later contacts (counted over int_contact_repeats).
        "kpi_contact_counts": [f"{c.detail} AS {c.name}" for c in COUNTS if not c.look_ahead],
        "kpi_look_ahead_counts": [f"{c.detail} AS {c.name}" for c in COUNTS if c.look_ahead],
        # Every count, in order, from the two halves joined: ``counted AS c LEFT JOIN repeats AS r`` (a
        # group without an eligible contact has no ``r`` row: its look-ahead counts are 0).
        "kpi_count_columns_joined": [
            f"coalesce(r.{c.name}, 0) AS {c.name}" if c.look_ahead else f"c.{c.name}" for c in COUNTS
        ],
        # The counts rolled up from stored rows to a coarser grain. A sum of integer counts is cast back
        # to BIGINT: DuckDB sums a BIGINT into a 128-bit HUGEINT (slower to aggregate, and returned as a
        # decimal), while Athena's sum of a bigint is a bigint already. A year of one centre's 15-minute
        # rows rolled up by queue: 0.197 -> 0.162 s on DuckDB (docs/benchmarks.md, "fourth pass").
        "kpi_count_rollup": [_rollup_sql(c) for c in COUNTS],
        # The counts as plain columns.
        "kpi_count_columns": [c.name for c in COUNTS],
        # The stored rates, from a row's counts.
        "kpi_rates": [measure_sql(name) for name, _ in KPI_RATES],
        # The columns the KPI read publishes (api/kpi_series.sql).
        "kpi_published_columns": list(KPI_PUBLISHED),
    }


def _rollup_sql(count: Count) -> str:
    rolled = f"{count.rollup}({count.name})"
    if count.rollup == "sum" and count.type == _I64:
        rolled = f"CAST({rolled} AS BIGINT)"
    return f"{rolled} AS {count.name}"


def _service_level_terms() -> set[str]:
    """The counts any service-level variant's numerator or denominator names."""
    return {t.lstrip("-") for m in _variants("service_level") for t in (*m.numerator, *m.denominator)}


def fragment_names() -> list[str]:
    return sorted(_fragments())


def fragment(name: str, indent: str = "    ", trailing_comma: bool = False) -> str:
    """A generated fragment's SQL: its items one a line, comma-separated (plus a trailing comma if asked)."""
    items = _fragments()[name]
    text = ",\n".join(_indent(item, indent) for item in items)
    return text + ("," if trailing_comma else "") + "\n"


def _row_sum(row: Mapping[str, Any], terms: tuple[str, ...]) -> float:
    total: float = 0
    for term in terms:
        total += -row[term[1:]] if term.startswith("-") else row[term]
    return total


def parts(row: Mapping[str, Any], name: str, sl_variant: str | None = None) -> tuple[float, float]:
    """(numerator, denominator) of a measure from a row of counts (``sl_variant`` for service level)."""
    measure = _measure(name, sl_variant if _variants(name) else None)
    return _row_sum(row, measure.numerator), _row_sum(row, measure.denominator)


def value(row: Mapping[str, Any], name: str, sl_variant: str | None = None) -> float | None:
    """A measure from a row of counts; None when its denominator is zero (as SQL's ``nullif``)."""
    numerator, denominator = parts(row, name, sl_variant)
    return numerator / denominator if denominator else None


def _plain(terms: tuple[str, ...]) -> str:
    text = _terms_sql(terms)
    return f"({text})" if len(terms) > 1 else text


def markdown_table() -> str:
    """docs/metrics.md's formula table, rendered from :data:`MEASURES` (a test keeps the doc current)."""
    lines = ["| Measure | Variant | Formula | Unit | Meaning |", "|---|---|---|---|---|"]
    for m in MEASURES:
        formula = f"`{_plain(m.numerator)} / {_plain(m.denominator)}`"
        lines.append(f"| `{m.name}` | {m.variant or ''} | {formula} | {m.unit} | {m.doc} |")
    return "\n".join(lines) + "\n"
