"""Cisco Unified CCE ``Termination_Call_Detail`` (TCD) exports: one row per call leg, one contact per call.

Columns follow the Cisco database schema handbook (docs/sources.md cites it). A call's legs share
``RouterCallKeyDay`` + ``RouterCallKey`` (the 64-bit cradle-to-grave key) and are ordered by
``RouterCallKeySequenceNumber``; a leg without a router key (a non-routed call) is a call of its own.
Per leg, ``DateTime`` is when the leg's record was written (its end, in the centre's local time) and
``Duration = DelayTime + LocalQTime + RingTime + TalkTime + HoldTime + WorkTime``, so the leg started at
``DateTime - Duration``, was answered ``DelayTime + LocalQTime + RingTime`` later, and the customer left
before the agent's ``WorkTime`` (wrap-up).

A call is stored as one contact with one pathway step per VRU/queue/agent leg (and hold, transfer);
its other legs are counted as excluded with ``merged.call_leg``, so ``rows_read`` (legs) still equals
stored + quarantined + excluded. If any leg is broken the whole call is quarantined, one quarantine row
holding every leg's text. ``CallDisposition`` codes are translated by :data:`DISPOSITIONS`; an unknown
code quarantines the call with ``disposition.unknown_code``.

Legs of one call end close together, so calls are assembled with a time horizon: a call whose last leg
ended more than :data:`HORIZON_SECONDS` before the latest leg read so far is complete. Memory stays
bounded by the calls of that window, for files ordered by time (as TCD extracts are).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from contactlake.contract import ParsedBatch, Upload
from contactlake.ingest.reader import open_decoded
from contactlake.ingest.sources.base import AdapterContext
from contactlake.ingest.sources.jsonbase import ContactRows, Measures, RecordProblem, Step
from contactlake.kernels.csvblocks import MAX_FIELD_CHARS, iter_csv_blocks

__all__ = ["DISPOSITIONS", "HORIZON_SECONDS", "REQUIRED", "CiscoUcceAdapter"]

REQUIRED = ["RouterCallKeyDay", "RouterCallKey", "RouterCallKeySequenceNumber", "DateTime", "CallDisposition",
            "Duration"]  # fmt: skip
#: CallDisposition → what it means for the call when it is the call's last leg and no agent talked.
#: From the schema handbook's "Call Disposition" field values (1–13, 15, 19, 52).
DISPOSITIONS: dict[int, str] = {
    1: "abandoned",  # Abandoned in Network
    2: "abandoned",  # Abandoned in Local Queue
    3: "abandoned",  # Abandoned Ring
    4: "abandoned",  # Abandoned Delay
    5: "abandoned",  # Abandoned Interflow
    6: "abandoned",  # Abandoned Agent Terminal (hung up while held)
    7: "abandoned",  # Short (abandoned before the short-call threshold)
    8: "failed",  # Busy
    9: "failed",  # Forced Busy (no answering resources)
    10: "failed",  # Disconnect/drop no answer
    11: "failed",  # Disconnect/drop busy
    12: "failed",  # Disconnect/drop reorder
    13: "handled",  # Disconnect/drop handled primary route (by an agent, or by the VRU on a VRU PG)
    15: "failed",  # Redirected (left to a device the PG cannot follow)
    19: "abandoned",  # Ring No Answer (the agent did not pick up)
    52: "handled",  # Called Party Disconnected
}
HORIZON_SECONDS = 6 * 3600
_NUMBERS = ("Duration", "RingTime", "DelayTime", "HoldTime", "TalkTime", "WorkTime", "LocalQTime")
_WAITS = ("DelayTime", "LocalQTime", "RingTime")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")


@dataclass
class _Leg:
    line: int
    raw: str
    sequence: int = 0
    end: datetime | None = None
    start: datetime | None = None
    numbers: dict[str, float] = field(default_factory=dict)
    disposition: int = 0
    agent: str | None = None
    skill: str | None = None
    call_type: str | None = None
    ani: str | None = None
    wrapup: str | None = None
    problem: RecordProblem | None = None
    #: Fields that are not numbers (or, ``DateTime``, not a time): name → the text exported; counted as 0
    #: in ``numbers``. The call's first leg must have both ``DateTime`` and ``Duration``: they place it.
    unreadable: dict[str, str] = field(default_factory=dict)
    #: Of those, the numbers that were read but are negative (a duration cannot be): ``duration.negative``.
    negative: set[str] = field(default_factory=set)

    def rule(self, name: str) -> str:
        """The flag (or reject) rule of the unusable field ``name``."""
        if name in self.negative:
            return "duration.negative"
        return "timestamp.invalid" if name == "DateTime" else "number.invalid"

    def fault(self, name: str) -> str:
        """What is wrong with the field ``name``, for messages."""
        return "is negative" if name in self.negative else "is not a number"

    def known(self, *names: str) -> bool:
        """True when none of ``names`` was unreadable on this leg."""
        return not any(name in self.unreadable for name in names)

    @property
    def answered(self) -> bool:
        return self.agent is not None and self.numbers.get("TalkTime", 0) > 0

    @property
    def wait(self) -> float:
        n = self.numbers
        return n.get("DelayTime", 0) + n.get("LocalQTime", 0) + n.get("RingTime", 0)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return None if value in ("", "NULL") else value


def _leg(row: dict[str, str], line: int, raw: str) -> _Leg:
    leg = _Leg(line=line, raw=raw)
    try:
        when = _clean(row.get("DateTime"))
        for fmt in _TIME_FORMATS:
            try:
                leg.end = datetime.strptime(when or "", fmt)
                break
            except ValueError:
                continue
        else:
            leg.unreadable["DateTime"] = when or ""
        for name in _NUMBERS:
            value = _clean(row.get(name))
            try:
                leg.numbers[name] = float(value) if value is not None else 0.0
                if not math.isfinite(leg.numbers[name]):
                    raise ValueError(value)  # nan / inf are not numbers (docs/validation.md)
            except ValueError:
                leg.numbers[name] = 0.0
                leg.unreadable[name] = value or ""
            if leg.numbers[name] < 0:
                leg.numbers[name] = 0.0
                leg.unreadable[name] = value or ""
                leg.negative.add(name)
        try:
            leg.sequence = int(_clean(row.get("RouterCallKeySequenceNumber")) or 0)
            leg.disposition = int(_clean(row.get("CallDisposition")) or "")
        except ValueError:
            raise RecordProblem(
                "number.invalid", f"line {line}: CallDisposition and the sequence number must be integers"
            ) from None
        if leg.end is not None and leg.known("Duration"):
            leg.start = leg.end - timedelta(seconds=leg.numbers["Duration"])
        leg.agent = _clean(row.get("AgentSkillTargetID")) or _clean(row.get("AgentPeripheralNumber"))
        leg.skill = _clean(row.get("SkillGroupSkillTargetID"))
        leg.call_type = _clean(row.get("CallTypeID"))
        leg.ani = _clean(row.get("ANI"))
        leg.wrapup = _clean(row.get("WrapupData"))
    except RecordProblem as problem:
        leg.problem = problem
    return leg


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value else None


def _feeds(
    leg: _Leg, name: str, waited: list[_Leg], agent_legs: list[_Leg], first_answer: _Leg | None
) -> tuple[str, ...]:
    """The call's canonical values computed from ``name`` of ``leg``: unknown when it is unreadable."""
    answered = ("answered_utc",) if leg is first_answer else ()
    if name == "DateTime":  # the leg's end (and start): the call's end may be this leg's
        return ("disconnected_utc", *answered)
    if name == "Duration":  # the leg's start
        return answered
    if name == "TalkTime":  # only on legs no agent took (else it decides the outcome): IVR time
        return ("ivr_seconds",)
    if name in ("HoldTime", "WorkTime"):
        canonical = "hold_seconds" if name == "HoldTime" else "acw_seconds"
        ends = ("disconnected_utc",) if name == "WorkTime" else ()  # the customer left before wrap-up
        return (*ends, *((canonical,) if leg in agent_legs else ()))
    return (*(("queue_seconds",) if leg in waited else ()), *answered)  # a wait


def _undecided(leg: _Leg, name: str, decides: str) -> RecordProblem:
    return RecordProblem(
        leg.rule(name),
        f"line {leg.line}: {name} {leg.unreadable[name]!r} {leg.fault(name)}, and it decides {decides}; "
        "export it as a number of seconds, 0 or more",
    )


def _call(contact_id: str, legs: list[_Leg]) -> tuple[dict[str, Any], str | None, list[Step]]:
    """Assemble one call's contact values, caller and steps from its (valid) legs.

    A measure that is not a number (:data:`_PLACING` aside) flags the call ``number.invalid`` and nulls
    what it feeds (:class:`Measures`), unless it decides the outcome: a talk time of a leg an agent took
    (answered or not), a wait of an unanswered call whose other waits are zero (abandoned or not)."""
    legs = sorted(legs, key=lambda leg: (leg.sequence, leg.start or datetime.min))
    first = legs[0]  # the call starts with its first leg: it must be placed in time
    if first.start is None:
        name = "DateTime" if "DateTime" in first.unreadable else "Duration"
        fault = "is not YYYY-MM-DD HH:MM:SS" if name == "DateTime" else first.fault(name)
        raise RecordProblem(
            first.rule(name),
            f"line {first.line}: {name} {first.unreadable[name]!r} {fault}; "
            "the call's first leg places it in time",
        )
    for leg in legs:
        if leg.agent is not None and not leg.known("TalkTime"):
            raise _undecided(leg, "TalkTime", "whether the agent answered")
    first_answer = next((leg for leg in legs if leg.answered), None)
    waited = legs if first_answer is None else legs[: legs.index(first_answer) + 1]
    wait = sum(leg.wait for leg in waited)
    last = legs[-1]
    meaning = DISPOSITIONS.get(last.disposition)
    if meaning is None:
        raise RecordProblem(
            "disposition.unknown_code",
            f"CallDisposition {last.disposition} is not a known code; ask for it to be added to the adapter",
        )
    agent_legs = [leg for leg in legs if leg.answered]
    if first_answer is None and meaning != "failed" and wait == 0:
        for leg in waited:
            unread = next((wait for wait in _WAITS if wait in leg.unreadable), None)
            if unread is not None:
                raise _undecided(leg, unread, "whether the caller abandoned")
    measures = Measures()
    for leg in legs:
        for name, value in leg.unreadable.items():
            feeds = _feeds(leg, name, waited, agent_legs, first_answer)
            measures.unreadable(leg.rule(name), f"line {leg.line}: {name} {value!r}", *feeds)
    if first_answer is not None:
        outcome = "answered"
    elif meaning == "failed":
        outcome = "failed"
    elif meaning == "handled":
        outcome = "abandoned" if wait > 0 else "self_served"
    else:
        outcome = "abandoned" if wait > 0 else "ivr_abandoned"
    answered_at = (
        first_answer.start + timedelta(seconds=first_answer.wait)
        if first_answer and first_answer.start and first_answer.known(*_WAITS)
        else None
    )
    ends = [
        leg.end - timedelta(seconds=leg.numbers.get("WorkTime", 0)) for leg in legs if leg.end is not None
    ]
    steps: list[Step] = []
    for position, leg in enumerate(legs):
        if position and leg.answered and steps and any(s.step_type == "agent" for s in steps):
            steps.append(Step("transfer", leg.skill, _iso(leg.start), _iso(leg.start), None, "transferred"))
        queued = leg.numbers.get("LocalQTime", 0) + leg.numbers.get("DelayTime", 0)
        if leg.agent is None:
            steps.append(
                Step(
                    "ivr_menu",
                    leg.call_type,
                    _iso(leg.start),
                    _iso(leg.end),
                    leg.numbers["Duration"] if leg.known("Duration") else None,
                    f"disposition {leg.disposition}",
                )
            )
        if queued:
            known = leg.known("LocalQTime", "DelayTime")  # else the queue's length is unknown
            steps.append(
                Step(
                    "queue",
                    leg.skill,
                    _iso(leg.start),
                    _iso(leg.start + timedelta(seconds=queued)) if known and leg.start else None,
                    queued if known else None,
                    "answered" if leg.answered else f"disposition {leg.disposition}",
                )
            )
        if leg.agent is not None:
            answer = leg.start + timedelta(seconds=leg.wait) if leg.start and leg.known(*_WAITS) else None
            talk = leg.numbers.get("TalkTime", 0) + leg.numbers.get("HoldTime", 0)
            talked = talk if leg.known("HoldTime") else None
            steps.append(
                Step(
                    "agent",
                    leg.agent,
                    _iso(answer),
                    _iso(answer + timedelta(seconds=talk)) if answer and talked is not None else None,
                    talked,
                    "completed" if leg.answered else f"disposition {leg.disposition}",
                )
            )
            if leg.numbers.get("HoldTime", 0):
                steps.append(Step("hold", leg.agent, None, None, leg.numbers["HoldTime"], "resumed"))
    handled = agent_legs[-1] if agent_legs else None
    values: dict[str, Any] = {
        "contact_id": contact_id,
        "channel": "voice",
        "direction": "inbound",
        "queue": (first_answer or last).skill,
        "agent_id": handled.agent if handled else None,
        "initiated_utc": _iso(min(leg.start for leg in legs if leg.start)),
        "answered_utc": _iso(answered_at),
        "disconnected_utc": _iso(max(ends)) if ends else None,
        "ivr_seconds": sum(leg.numbers.get("TalkTime", 0) for leg in legs if leg.agent is None) or None,
        "queue_seconds": wait,
        "talk_seconds": sum(leg.numbers.get("TalkTime", 0) for leg in agent_legs) if agent_legs else None,
        "hold_seconds": sum(leg.numbers.get("HoldTime", 0) for leg in agent_legs) if agent_legs else None,
        "acw_seconds": sum(leg.numbers.get("WorkTime", 0) for leg in agent_legs) if agent_legs else None,
        "disposition": handled.wrapup if handled else None,
        "outcome": outcome,
        "transfer_count": float(max(0, len(agent_legs) - 1)),
    }
    caller = next((leg.ani for leg in legs if leg.ani), None)
    return measures.finish(values), caller, steps


class CiscoUcceAdapter:
    name = "cisco_ucce"
    version = "2"
    #: A nightly TCD extract per centre/day: a corrected re-extract replaces the earlier one.
    dataset_grain = "day"

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]:
        delimiter = ctx.mapping.delimiter if ctx.mapping else ","
        decoded, _ = open_decoded(stream, upload.key, upload.size, "auto")
        names, blocks = iter_csv_blocks(decoded, delimiter, REQUIRED, ctx.block_bytes)
        open_calls: dict[str, list[_Leg]] = {}
        latest: datetime | None = None
        rows = ContactRows(upload, ctx)
        for block in blocks:
            for reject in block.rejects:
                rows.rows_read += 1
                rows.rejects.append(reject)
            records = block.batch.to_pylist()
            for row, line in zip(records, block.lines.to_pylist(), strict=True):
                raw = delimiter.join(row.get(name) or "" for name in names)[:MAX_FIELD_CHARS]
                if not raw.strip(delimiter + " \t\r\n"):
                    rows.exclude("row.blank_line")
                    continue
                leg = _leg(row, line, raw)
                day, key = _clean(row.get("RouterCallKeyDay")), _clean(row.get("RouterCallKey"))
                routed = key not in (None, "0")
                if routed:
                    contact_id = f"{day}-{key}"
                else:  # not routed: the peripheral's own key, made unique by the leg's end time
                    stamp = "".join(ch for ch in (_clean(row.get("DateTime")) or "") if ch.isdigit())
                    contact_id = (
                        f"P{_clean(row.get('PeripheralID'))}-{_clean(row.get('PeripheralCallKey'))}-{stamp}"
                    )
                open_calls.setdefault(contact_id, []).append(leg)
                if leg.end is not None and (latest is None or leg.end > latest):
                    latest = leg.end
            if latest is not None:
                horizon = latest - timedelta(seconds=HORIZON_SECONDS)
                closed = [cid for cid, legs in open_calls.items()
                          if all(leg.end is not None and leg.end < horizon for leg in legs)]  # fmt: skip
                for contact_id in closed:
                    self._add(rows, contact_id, open_calls.pop(contact_id))
            if len(rows) >= ctx.batch_records:
                yield rows.build()
                rows = ContactRows(upload, ctx)
        for contact_id, legs in open_calls.items():
            self._add(rows, contact_id, legs)
        if len(rows) or rows.rows_read:
            yield rows.build()

    @staticmethod
    def _add(rows: ContactRows, contact_id: str, legs: list[_Leg]) -> None:
        legs.sort(key=lambda leg: leg.line)
        raw = "\n".join(leg.raw for leg in legs)
        broken = next((leg for leg in legs if leg.problem is not None), None)
        if broken is not None:
            assert broken.problem is not None
            rows.add(legs[0].line, raw, None, problem=broken.problem)
        else:
            try:
                values, caller, steps = _call(contact_id, legs)
                rows.add(legs[0].line, raw, values, caller, steps)
            except RecordProblem as problem:
                rows.add(legs[0].line, raw, None, problem=problem)
        for _ in legs[1:]:
            rows.exclude("merged.call_leg")
