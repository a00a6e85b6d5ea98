"""Named validation rules over canonical contacts, vectorised.

Each rule has an id (``family.name``) that appears in quarantine, manifests and the data-quality report,
and a message that says what is wrong and what the centre should change. docs/validation.md lists them.
Adapters apply these while the source text is still at hand, so every rejected row keeps its raw text.

The in-file duplicate-id rule is here too (:func:`first_of_each_id`), written once: delimited sources
apply it while they still have the row's text (:mod:`contactlake.ingest.delimited`); the commit stage
applies it to whatever arrives unchecked, and across an upload's batches with the same rule id and message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from contactlake import schema
from contactlake.ingest.canonical import RowChecks
from contactlake.kernels.idhash import U64, first_occurrences, hash_ids, recall_unique

__all__ = [
    "DURATION_TOLERANCE_SECONDS",
    "EARLIEST_VALID",
    "FUTURE_SLACK",
    "IN_FILE_MESSAGE",
    "IN_FILE_RULE",
    "check_contacts",
    "first_of_each_id",
]

#: Real ACD clocks skew: a duration may disagree with its timestamps by this much before it is an error.
DURATION_TOLERANCE_SECONDS = 2.0
#: Nothing before this is a real contact (it catches epoch-0 and 1900 defaults).
EARLIEST_VALID = datetime(1990, 1, 1)
#: Exports may run slightly ahead of UTC midnight; anything later than this is a clock or parsing fault.
FUTURE_SLACK = timedelta(days=1)

#: A contact id repeated within one upload keeps its first occurrence; the later rows are quarantined.
IN_FILE_RULE = "duplicate.contact_id_in_file"
IN_FILE_MESSAGE = "contact_id appears earlier in this upload; the first one is kept"

_DURATIONS = ("ivr_seconds", "queue_seconds", "talk_seconds", "hold_seconds", "acw_seconds")
_COUNTS = ("transfer_count", "escalation_count", "hold_count")


def _seconds_between(later: pa.ChunkedArray, earlier: pa.ChunkedArray) -> pa.Array:
    return pc.divide(pc.cast(pc.subtract(later, earlier), pa.int64()), 1000.0)


def _domain(table: pa.Table, checks: RowChecks, column: str, allowed: tuple[str, ...]) -> None:
    values = table.column(column)
    bad = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, pa.array(allowed))))
    checks.fail(bad, f"{column}.invalid", f"{column} must be one of {', '.join(allowed)}")


def check_contacts(table: pa.Table, checks: RowChecks, now: datetime | None = None) -> pa.Table:
    """Check ``table`` (canonical contacts): rejections go to ``checks``, flags too; returns the table as
    stored — each flag's measure handled as ``schema.QUALITY_FLAGS`` says, and ``quality_flags`` set.

    A row is rejected only when it cannot be placed in time (``time.too_old``, ``time.future``) or holds a
    value outside the canonical lists; disagreements real clocks produce are flags.
    """
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    initiated = table.column("initiated_utc")
    checks.fail(
        pc.less(initiated, pa.scalar(EARLIEST_VALID, pa.timestamp("ms"))),
        "time.too_old",
        "initiated is before 1990-01-01 (a zero or default date such as 1970-01-01); export the real time",
    )
    checks.fail(
        pc.greater(initiated, pa.scalar(now + FUTURE_SLACK, pa.timestamp("ms"))),
        "time.future",
        "initiated is more than a day in the future; check the export's clock and time zone",
    )
    handled: dict[str, pa.Array] = {}
    for column in (*_DURATIONS, *_COUNTS):
        values = table.column(column)
        negative = pc.fill_null(pc.less(values, 0), False)
        rule = "duration.negative" if column in _DURATIONS else "count.negative"
        checks.flag(negative, rule, f"{column} is negative")
        if pc.any(negative).as_py() and rule not in checks.rejecting:
            handled[column] = pc.if_else(negative, pa.scalar(None, values.type), values)
    ends = {
        "disconnected_utc": "disconnected",
        "answered_utc": "answered",
        "enqueued_utc": "enqueued",
        "ivr_entered_utc": "ivr_entered",
    }
    for column, label in ends.items():
        before = pc.less(_seconds_between(table.column(column), initiated), -DURATION_TOLERANCE_SECONDS)
        checks.flag(before, "time.end_before_start", f"{label} is before initiated")
    answered, enqueued = table.column("answered_utc"), table.column("enqueued_utc")
    disconnected = table.column("disconnected_utc")
    checks.flag(
        pc.less(_seconds_between(disconnected, answered), -DURATION_TOLERANCE_SECONDS),
        "time.end_before_start",
        "disconnected is before answered",
    )
    checks.flag(
        pc.less(_seconds_between(answered, enqueued), -DURATION_TOLERANCE_SECONDS),
        "time.end_before_start",
        "answered is before enqueued",
    )
    waited = _seconds_between(answered, enqueued)
    mismatch = pc.greater(
        pc.abs(pc.subtract(table.column("queue_seconds"), waited)), DURATION_TOLERANCE_SECONDS
    )
    checks.flag(
        mismatch,
        "time.duration_mismatch",
        "queue_seconds disagrees with answered - enqueued by more than "
        f"{DURATION_TOLERANCE_SECONDS:g} s; fix the export's durations or timestamps",
    )
    talk_hold = pc.add(
        pc.fill_null(table.column("talk_seconds"), 0), pc.fill_null(table.column("hold_seconds"), 0)
    )
    connected = _seconds_between(disconnected, answered)
    too_long = pc.greater(pc.subtract(talk_hold, connected), DURATION_TOLERANCE_SECONDS)
    checks.flag(
        too_long,
        "time.duration_mismatch",
        "talk + hold is longer than answered → disconnected; fix the export's durations or timestamps",
    )
    _domain(table, checks, "outcome", schema.OUTCOMES)
    _domain(table, checks, "channel", schema.CHANNELS)
    _domain(table, checks, "direction", schema.DIRECTIONS)
    outcome = table.column("outcome")
    no_answer = pc.and_(pc.is_null(answered), pc.is_null(table.column("talk_seconds")))
    checks.flag(
        pc.and_(pc.equal(outcome, "answered"), no_answer),
        "outcome.inconsistent",
        "outcome is answered but there is no answer time or talk time",
    )
    unanswered = pc.is_in(outcome, pa.array(["abandoned", "ivr_abandoned", "self_served"]))
    answer_time_on_unanswered = pc.fill_null(pc.and_(unanswered, pc.is_valid(answered)), False)
    checks.flag(
        answer_time_on_unanswered,
        "outcome.inconsistent",
        "outcome says no agent answered but the contact has an answer time",
    )
    if pc.any(answer_time_on_unanswered).as_py() and "outcome.inconsistent" not in checks.rejecting:
        handled["answered_utc"] = pc.if_else(
            answer_time_on_unanswered, pa.scalar(None, answered.type), answered
        )
    handled["quality_flags"] = checks.quality_flags
    for column, values in handled.items():
        table = table.set_column(table.schema.get_field_index(column), table.field(column), values)
    return table


def first_of_each_id(contacts: pa.Table) -> tuple[U64, npt.NDArray[np.bool_] | None]:
    """The in-file duplicate-id rule over one batch's ``contact_id`` column.

    Returns the ids' hashes, row for row, and the mask of rows to keep (the first row of each id), or
    None when no id repeats. A table whose ids a stage already found distinct (noted with
    :func:`~contactlake.kernels.idhash.remember_unique`) is not hashed or checked again.
    """
    hashes = recall_unique(contacts)
    if hashes is not None:
        return hashes, None
    hashes = hash_ids(contacts.column("contact_id"))
    return hashes, first_occurrences(hashes)
