"""Shared machinery of record-oriented adapters: pick canonical values in Python, check them in Arrow.

A JSON record is a tree and a Cisco call is several TCD rows, so picking their fields is per-record Python
(these sources are Firehose flushes, API pages or per-call leg sets, not the multi-GB flat exports the
generic CSV path streams). Everything after the pick — timestamp
parsing, zone handling, pseudonymisation, every validation rule — is the same vectorised code the CSV
adapters use, so a rule means the same thing whatever the source.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from contactlake import schema
from contactlake.contract import ParsedBatch, Reject, Upload
from contactlake.ingest.canonical import RowChecks, build_contacts, parse_timestamps, pathway_table
from contactlake.ingest.jsonrecords import JsonRecord
from contactlake.ingest.rules import check_contacts
from contactlake.ingest.sources.base import AdapterContext

__all__ = ["BATCH_RECORDS", "ContactRows", "Measures", "RecordProblem", "Step", "dig", "number", "text"]

#: Records per batch of a JSON source: a record is wide (its JSON is kept for the quarantine, its
#: values and pathway steps are Python objects until the batch is built), so fewer than a CSV batch.
#: 20k keeps a Genesys Cloud batch near 120 MB (a 150k-conversation export peaked over the 600 MB bound
#: with 50k: `make bench --only hostile`).
BATCH_RECORDS = 20_000

_TIMESTAMPS = (
    "initiated_utc", "ivr_entered_utc", "enqueued_utc", "answered_utc", "disconnected_utc",
    "source_updated_utc",
)  # fmt: skip
_NUMBERS = ("ivr_seconds", "queue_seconds", "talk_seconds", "hold_seconds", "acw_seconds")
_COUNTS = ("transfer_count", "escalation_count", "hold_count")
_TEXTS = (
    "contact_id", "channel", "direction", "queue", "agent_id", "outcome", "disposition",
    "initial_contact_id", "previous_contact_id",
)  # fmt: skip


class RecordProblem(ValueError):
    """A record that cannot become a contact; the adapter raises it with a rule id and a message."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(message)
        self.rule_id = rule_id

    def __reduce__(self) -> tuple[type[RecordProblem], tuple[str, str]]:
        """Both arguments: Amazon Connect's reader pickles problems to its scratch file and back."""
        return RecordProblem, (self.rule_id, str(self))


def dig(record: Mapping[str, Any], *path: str) -> Any:
    """``record[a][b]…`` or None when any level is missing or not an object."""
    node: Any = record
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def text(value: Any, name: str) -> str | None:
    """A string field (numbers become their text); objects and lists are a record problem."""
    if value is None or value == "":
        return None
    if isinstance(value, bool | dict | list):
        raise RecordProblem("field.invalid", f"{name} must be a string, not {type(value).__name__}")
    return str(value)


def number(value: Any, name: str) -> float | None:
    """A numeric field; numeric strings are accepted, anything else is ``number.invalid``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordProblem("number.invalid", f"{name} is not a number")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        raise RecordProblem("number.invalid", f"{name} is not a number") from None


@dataclass
class Measures:
    """One record's measures (durations, counts, times other than the start) read without rejecting it.

    A measure that is not a number or not a time neither identifies the contact nor places it in time, so
    the contact is stored with the flag ``number.invalid`` / ``timestamp.invalid`` and every canonical
    value computed from it null (docs/validation.md, "Flags"), as the CSV sources do. The picker reads
    such fields through :meth:`number` (or notes a bad time with :meth:`unreadable`) naming the values
    they feed (canonical names, or the picker's own for what it checks with :meth:`readable`);
    :meth:`finish` nulls the canonical ones and hands the flags to :meth:`ContactRows.add` in the
    values (key ``quality_flags``: rule id → message, the message used when a centre raises the flag).
    """

    found: dict[str, list[str]] = field(default_factory=dict)
    nulled: set[str] = field(default_factory=set)

    def number(self, value: Any, name: str, *feeds: str) -> float | None:
        """:func:`number`, or None (noted) when ``value`` is not a number; ``feeds``: canonical values
        computed from it, nulled by :meth:`finish`."""
        try:
            return number(value, name)
        except RecordProblem as problem:
            self.unreadable(problem.rule_id, f"{name} {value!r}", *feeds)
            return None

    def unreadable(self, rule_id: str, what: str, *feeds: str) -> None:
        """Note a field that is not a number (``number.invalid``) or a time (``timestamp.invalid``)."""
        whats = self.found.setdefault(rule_id, [])
        if what not in whats:
            whats.append(what)
        self.nulled.update(feeds)

    def readable(self, *feeds: str) -> bool:
        """True when none of ``feeds`` was computed from an unreadable field."""
        return not self.nulled.intersection(feeds)

    def finish(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with what unreadable fields fed nulled and the flags added (``quality_flags``)."""
        if not self.found:
            return values
        for name in self.nulled.intersection(values):
            values[name] = None
        kind = {"number.invalid": "a number", "timestamp.invalid": "an ISO 8601 time"}
        values["quality_flags"] = {
            rule_id: f"{', '.join(whats)}: not {kind.get(rule_id, 'readable')}; stored as null (unknown)"
            for rule_id, whats in self.found.items()
        }
        return values


@dataclass
class Step:
    """One pathway step as picked from a record (times as the source's ISO strings)."""

    step_type: str
    name: str | None = None
    started: str | None = None
    ended: str | None = None
    duration: float | None = None
    outcome: str | None = None


@dataclass
class ContactRows:
    """Accumulates picked records and turns them into a :class:`ParsedBatch` with the shared rules."""

    upload: Upload
    ctx: AdapterContext
    values: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    lines: list[int] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    callers: list[str | None] = field(default_factory=list)
    #: The caller's keyed hash where the adapter already has it instead of the number (a carried record).
    keys: list[str | None] = field(default_factory=list)
    problems: list[tuple[str, str] | None] = field(default_factory=list)
    #: Per record, the flags its picker found (rule id → message): :class:`Measures`.
    flags: list[Mapping[str, str] | None] = field(default_factory=list)
    steps: list[list[Step]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    excluded: Counter[str] = field(default_factory=Counter)
    rows_read: int = 0
    #: ``callers`` already hold the callers' keyed hashes (records spooled to scratch space are hashed
    #: before they are written: no caller number on disk).
    callers_hashed: bool = False

    def __len__(self) -> int:
        return len(self.lines)

    def reject_record(self, record: JsonRecord) -> None:
        """A record the JSON reader could not parse."""
        assert record.reject is not None
        self.rows_read += 1
        self.rejects.append(record.reject)

    def exclude(self, rule_id: str) -> None:
        self.rows_read += 1
        self.excluded[rule_id] += 1

    def add(
        self,
        number_: int,
        raw: Mapping[str, Any] | str,
        values: Mapping[str, Any] | None,
        caller: str | None = None,
        steps: list[Step] | None = None,
        problem: RecordProblem | None = None,
        customer_key: str | None = None,
    ) -> None:
        """One record picked into canonical ``values`` (or a ``problem`` that rejects it); ``customer_key``
        is the caller's keyed hash when the adapter has that instead of the ``caller`` number."""
        self.rows_read += 1
        self.lines.append(number_)
        self.raws.append(raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, default=str))
        self.callers.append(caller if problem is None else None)
        self.keys.append(customer_key if problem is None else None)
        self.problems.append((problem.rule_id, str(problem)) if problem is not None else None)
        self.flags.append(values.get("quality_flags") if values is not None and problem is None else None)
        self.steps.append(steps or [])
        for name in (*_TEXTS, *_TIMESTAMPS, *_NUMBERS, *_COUNTS):
            self.values[name].append(None if values is None else values.get(name))

    def build(self) -> ParsedBatch:
        """Check every picked record with the canonical rules; rejects keep the record's JSON."""
        n = len(self.lines)
        checks = RowChecks(n, self.upload.centre.reject_flags)
        problem_rules = [p[0] if p else None for p in self.problems]
        for rule_id in sorted({r for r in problem_rules if r}):
            mask = pa.array([r == rule_id for r in problem_rules], pa.bool_())
            messages = pa.array([p[1] if p and p[0] == rule_id else None for p in self.problems], pa.string())
            checks.fail_rows(mask, rule_id, messages)
        for rule_id in sorted({r for flags in self.flags if flags for r in flags}):
            messages = pa.array([f.get(rule_id) if f else None for f in self.flags], pa.string())
            checks.flag(pc.is_valid(messages), rule_id, messages)
        zone = self.upload.centre.timezone
        columns: dict[str, pa.Array] = {}
        for name in _TIMESTAMPS:
            raw = pa.array(self.values[name], pa.string())
            label = name.removesuffix("_utc")
            columns[name] = parse_timestamps(raw, checks, label, zone, measure=name != "initiated_utc")
        for name in _NUMBERS:
            columns[name] = pa.array(self.values[name], pa.float64())
        for name in _COUNTS:
            counts = pa.array(self.values[name], pa.float64())
            checks.fail(pc.not_equal(counts, pc.floor(counts)), "number.not_integer", f"{name} must be whole")
            columns[name] = pc.cast(pc.floor(counts), pa.int32())
        for name in _TEXTS:
            columns[name] = pa.array(self.values[name], pa.string())
        for required in ("contact_id", "initiated_utc", "outcome"):
            checks.fail(
                pc.is_null(columns[required]),
                "required.missing",
                f"{required.removesuffix('_utc')} is missing",
            )
        lines = pa.array(self.lines, pa.int64())
        table = build_contacts(
            columns,
            n,
            source_system=self.upload.adapter,
            upload_id=self.upload.upload_id,
            zone=zone,
            pii_key=self.ctx.pii_key,
            caller=None if self.callers_hashed else pa.array(self.callers, pa.string()),
            customer_key=pa.array(self.callers, pa.string()) if self.callers_hashed else None,
            source_line=lines,
        )
        if any(self.keys):
            index = table.schema.get_field_index("customer_key")
            keys = pc.coalesce(pa.array(self.keys, pa.string()), table.column(index))
            table = table.set_column(index, table.field(index), keys)
        self._check_step_times(checks, zone)  # before check_contacts, which writes quality_flags
        table = check_contacts(table, checks)
        ok = checks.ok
        parsed = ParsedBatch(
            rows_read=self.rows_read, rejects=list(self.rejects), excluded=Counter(self.excluded)
        )
        parsed.contacts = table.filter(ok)
        parsed.pathway_steps = self._steps(table.column("contact_id"), ok.to_pylist(), zone)
        rejected = pc.indices_nonzero(pc.invert(ok))
        rules, messages = checks.first_failures(rejected)
        for index, rule_id, message in zip(rejected.to_pylist(), rules, messages, strict=True):
            parsed.rejects.append(Reject(self.lines[index], self.raws[index], rule_id, message))
        return parsed

    def _check_step_times(self, checks: RowChecks, zone: str) -> None:
        """A pathway step time that is not a real time flags its contact ``timestamp.invalid`` (and the
        step itself, with the time null: :meth:`_steps`); a centre that raises the flag rejects it."""
        owners, times = [], []
        for row, steps in enumerate(self.steps):
            for step in steps:
                for value in (step.started, step.ended):
                    if value is not None:
                        owners.append(row)
                        times.append(value)
        if not times:
            return
        scratch = RowChecks(len(times))
        parse_timestamps(pa.array(times, pa.string()), scratch, "step time", zone)
        failed = pc.invert(scratch.ok).to_numpy(zero_copy_only=False)
        if not failed.any():
            return
        bad = [False] * len(self.lines)
        for owner, is_bad in zip(owners, failed.tolist(), strict=True):
            bad[owner] = bad[owner] or is_bad
        checks.flag(
            pa.array(bad, pa.bool_()),
            "timestamp.invalid",
            "a pathway step time (queue, agent or after-contact-work timestamp) is not a real ISO 8601 time",
        )

    def _steps(self, contact_ids: pa.ChunkedArray, keep: list[bool], zone: str) -> pa.Table:
        ids, index, types, names, starts, ends, durations, outcomes = ([] for _ in range(8))
        for contact_id, kept, steps in zip(contact_ids.to_pylist(), keep, self.steps, strict=True):
            if not kept:
                continue
            for position, step in enumerate(steps):
                ids.append(contact_id)
                index.append(position)
                types.append(step.step_type)
                names.append(step.name)
                starts.append(step.started)
                ends.append(step.ended)
                durations.append(step.duration)
                outcomes.append(step.outcome)
        scratch = RowChecks(len(ids))
        started = parse_timestamps(pa.array(starts, pa.string()), scratch, "step start", zone, measure=True)
        ended = parse_timestamps(pa.array(ends, pa.string()), scratch, "step end", zone, measure=True)
        return pathway_table(
            contact_id=pa.array(ids, pa.string()),
            step_index=pa.array(index, pa.int32()),
            step_type=pa.array(types, pa.string()),
            step_name=pa.array(names, pa.string()),
            started_utc=started,
            ended_utc=ended,
            duration_seconds=pa.array(durations, pa.float64()),
            step_outcome=pa.array(outcomes, pa.string()),
            source_system=self.upload.adapter,
            upload_id=self.upload.upload_id,
            quality_flags=scratch.quality_flags,
        ).cast(schema.PATHWAY_STEPS.remove_metadata())
