"""Asterisk ``queue_log``: the ACD event log of the most used open-source PBX, read as calls and agent time.

Layouts: the raw log (``/var/log/asterisk/queue_log``: no header, ``time|callid|queue|agent|EVENT|data…``,
6 to 10 fields, the time a UNIX timestamp), or the CSV export PBX front-ends make of the realtime
``queue_log`` table (a header ``time,callid,queuename,agent,event,data1,…,data5``; the time a UNIX
timestamp or ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in the centre's zone). Events and their data fields follow
Asterisk's documentation ("Queue Logs", docs.asterisk.org, Operation/Logging/Queue-Logs):

* ``ENTERQUEUE(url|callerid)`` starts a call in a queue (initiated, enqueued, the caller's keyed hash);
* ``CONNECT(holdtime|bridgedchanneluniqueid|ringtime)`` — answered by the line's agent after holdtime s;
* ``COMPLETEAGENT`` / ``COMPLETECALLER(holdtime|calltime|origposition)`` — ended; calltime is talk;
* ``BLINDTRANSFER(extension|context|holdtime|calltime|origposition)`` and ``ATTENDEDTRANSFER(…|holdtime|
  calltime|origposition)`` — the agent transferred it (ended here, one transfer);
* ``ABANDON(position|origposition|waittime)`` — abandoned after waittime s;
* ``EXITWITHTIMEOUT`` / ``EXITEMPTY(position|origposition|waittime)``, ``EXITWITHKEY(key|position|
  origposition|waittime)`` — left the queue for the dialplan's next step (overflow): ``transferred``;
* ``RINGNOANSWER(ringtime ms)`` — a ring attempt at an agent: an ``agent`` pathway step ``no_answer``;
* member events (``ADDMEMBER``/``REMOVEMEMBER``, ``AGENTLOGIN``/``AGENTLOGOFF`` → ``staffed``;
  ``PAUSE``/``UNPAUSE``, ``PAUSEALL``/``UNPAUSEALL`` → ``break``) become agent activity spans.

Every line is accounted for: a call's first event is its contact (stored, quarantined or flagged by the
canonical rules); its other events are ``merged.queue_event``; a member span is stored on its closing
event and its opening event is ``merged.member_event``; housekeeping lines (``CONFIGRELOAD``,
``QUEUESTART``, ``INFO``, ``DID``…) are ``excluded.queue_log_noise``; NUL bytes (a log cut by a crash) are
removed and a line left empty is ``row.blank_line``. An event the adapter does not know is quarantined as
``event.unknown_code`` with the code in the message.

A call or agent span whose end is not in this file (the log rotated while it was talking) is **carried**:
its events are kept in the lake's manifests area and joined with the next upload of the source
(:mod:`contactlake.ingest.carry`, docs/adr/0018-carried-records.md), which stores the call when its end
arrives. One still open ``carry_horizon_hours`` after the newest event of a later upload is quarantined as
``carried.expired``. A call whose end arrives without its ``ENTERQUEUE`` (its start is in a file never
received) and a span closed without its opening are ``excluded.in_progress``.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from contactlake.contract import ParsedBatch, Reject, Upload
from contactlake.ingest.canonical import RowChecks, parse_timestamps, utc_to_local
from contactlake.ingest.reader import open_decoded
from contactlake.ingest.rules import DURATION_TOLERANCE_SECONDS
from contactlake.ingest.sources.base import AdapterContext
from contactlake.ingest.sources.jsonbase import ContactRows, Step
from contactlake.pii import mask_numbers, pseudonymise
from contactlake.schema import AGENT_ACTIVITY

__all__ = ["AsteriskQueueLogAdapter"]

_ENDS_ANSWERED = ("COMPLETEAGENT", "COMPLETECALLER")
#: ``TRANSFER(extension|context|holdtime|calltime)`` is the Asterisk 1.4 form of ``BLINDTRANSFER``.
_TRANSFERS = ("BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER")
_EXITS = {"ABANDON": "abandoned", "EXITWITHTIMEOUT": "transferred", "EXITEMPTY": "transferred",
          "EXITWITHKEY": "transferred"}  # fmt: skip
_CALL_EVENTS = frozenset({"ENTERQUEUE", "CONNECT", "RINGNOANSWER", *_ENDS_ANSWERED, *_TRANSFERS, *_EXITS})
_SPANS = {"ADDMEMBER": ("staffed", True), "REMOVEMEMBER": ("staffed", False),
          "AGENTLOGIN": ("staffed", True), "AGENTLOGOFF": ("staffed", False),
          "PAUSE": ("break", True), "UNPAUSE": ("break", False),
          "PAUSEALL": ("break", True), "UNPAUSEALL": ("break", False)}  # fmt: skip
#: Housekeeping and informational events with nothing to measure.
_NOISE = frozenset(
    {"CONFIGRELOAD", "QUEUESTART", "INFO", "DID", "SYSCOMPAT", "AGENTDUMP", "RINGCANCELED", "JOINEMPTY",
     "LEAVEEMPTY", "PENALTY", "MEMBERPENALTY", "RINGINUSE"}
)  # fmt: skip
_CSV_HEADER = ("time", "callid", "queuename", "agent", "event")


def _span_key(event: _Event) -> tuple[str, str, str]:
    """What pairs a member event's opening with its closing: the agent, the queue (any for the *ALL
    events) and the state."""
    return (event.agent, "*" if event.event.endswith("ALL") else event.queue, _SPANS[event.event][0])


@dataclass
class _Event:
    line: int
    raw: str
    time: str  # ISO 8601; UTC with offset for UNIX times, else the centre's wall clock
    callid: str
    queue: str
    agent: str
    event: str
    data: list[str]
    #: The upload that carried this event here (None: a line of this upload).
    origin: str | None = None
    #: The caller's keyed hash, for a carried ``ENTERQUEUE`` (its number is never kept in the state).
    caller_key: str | None = None

    def record(self, upload_id: str, pii_key: bytes) -> dict[str, Any]:
        """The event as carried to the next upload: the caller hashed, numbers masked in the raw text."""
        data, caller_key = list(self.data), self.caller_key
        if self.event == "ENTERQUEUE" and len(data) > 1 and data[1]:
            caller_key, data[1] = pseudonymise(data[1], pii_key), ""
        return {
            "upload_id": self.origin or upload_id, "line": self.line, "raw": mask_numbers(self.raw),
            "time": self.time, "callid": self.callid, "queue": self.queue, "agent": self.agent,
            "event": self.event, "data": data, "caller_key": caller_key,
        }  # fmt: skip

    @classmethod
    def carried(cls, record: dict[str, Any]) -> _Event:
        return cls(
            record["line"], record["raw"], record["time"], record["callid"], record["queue"],
            record["agent"], record["event"], list(record["data"]), record["upload_id"], record["caller_key"],
        )  # fmt: skip

    def instant(self, zone: ZoneInfo) -> datetime:
        """The event's time as an aware instant (a wall-clock time is the centre's)."""
        when = datetime.fromisoformat(self.time)
        return when if when.tzinfo is not None else when.replace(tzinfo=zone)

    def number(self, index: int) -> float | None:
        """Data field ``index`` (0-based) as seconds; blank or not a number → None."""
        try:
            return float(self.data[index])
        except (IndexError, ValueError):
            return None


@dataclass
class _Call:
    events: list[_Event] = field(default_factory=list)


def _iso(value: str) -> str | None:
    """A UNIX timestamp as ISO UTC; an ISO-like wall-clock time as it is; otherwise None."""
    text = value.strip()
    if text.isdigit() or (text.replace(".", "", 1).isdigit() and text.count(".") == 1):
        return datetime.fromtimestamp(float(text), UTC).isoformat()
    return text.replace(" ", "T", 1) if len(text) >= 16 and text[4] == "-" else None


def _events(lines: Iterator[tuple[int, str]]) -> Iterator[_Event | Reject | str]:
    """Each line as an event, a rejected line, or the rule id of a line that holds no event."""
    header: list[str] | None = None
    for number, line in lines:
        text = line.replace("\x00", "").rstrip("\r\n")
        if not text.strip():
            yield "row.blank_line"
            continue
        if header is None and number == 1 and text.lower().startswith(_CSV_HEADER[0]) and "callid" in text:
            header = [h.strip().lower() for h in next(csv.reader([text]))]
            yield "row.header"
            continue
        fields = next(csv.reader([text])) if header is not None else text.split("|")
        if len(fields) < 5:
            yield Reject(number, text, "row.ragged", f"{len(fields)} fields; a queue_log line has at least 5")
            continue
        when = _iso(fields[0])
        if when is None:
            yield Reject(number, text, "timestamp.invalid", "time is not a UNIX timestamp or ISO date-time")
            continue
        yield _Event(number, text, when, fields[1].strip(), fields[2].strip(), fields[3].strip(),
                     fields[4].strip().upper(), [f.strip() for f in fields[5:]])  # fmt: skip


def _contact(
    call: list[_Event],
) -> tuple[dict[str, object], tuple[str | None, str | None], list[Step]]:
    """One call's events, in order, as canonical values, the caller (number, or keyed hash if the call
    was carried) and its pathway."""
    first = call[0]
    values: dict[str, object] = {
        "contact_id": first.callid, "channel": "voice", "direction": "inbound", "queue": first.queue or None,
        "initiated_utc": first.time, "enqueued_utc": first.time,
    }  # fmt: skip
    caller = None
    caller_key = None
    steps: list[Step] = []
    queue_step = Step("queue", first.queue or None, first.time)
    steps.append(queue_step)
    talk_start = None
    for event in call:
        kind = event.event
        if kind == "ENTERQUEUE":
            caller = event.data[1] if len(event.data) > 1 and event.data[1] else None
            caller_key = event.caller_key
        elif kind == "RINGNOANSWER":
            ring = event.number(0)
            steps.append(
                Step("agent", event.agent, None, event.time, ring / 1000 if ring else None, "no_answer")
            )
        elif kind == "CONNECT":
            values.update(answered_utc=event.time, agent_id=event.agent, queue_seconds=event.number(0))
            queue_step.ended, queue_step.duration, queue_step.outcome = (
                event.time,
                event.number(0),
                "to_agent",
            )
            talk_start = event.time
        elif kind in _ENDS_ANSWERED or kind in _TRANSFERS:
            talk = event.number(-2 if kind == "ATTENDEDTRANSFER" else (1 if kind in _ENDS_ANSWERED else 3))
            values.update(disconnected_utc=event.time, talk_seconds=talk, outcome="answered")
            values.setdefault("agent_id", event.agent)
            values["transfer_count"] = 1.0 if kind in _TRANSFERS else 0.0
            steps.append(Step("agent", event.agent, talk_start, event.time, talk, "completed"))
            if kind in _TRANSFERS:
                steps.append(Step("transfer", event.data[0] if event.data else None, event.time, event.time,
                                  None, "transferred"))  # fmt: skip
        elif kind in _EXITS:
            wait = event.number(3 if kind == "EXITWITHKEY" else 2)
            values.update(disconnected_utc=event.time, queue_seconds=wait, outcome=_EXITS[kind])
            queue_step.ended, queue_step.duration = event.time, wait
            queue_step.outcome = "abandoned" if kind == "ABANDON" else "overflow"
    values.setdefault("transfer_count", 0.0)
    return values, (caller, caller_key), steps


class AsteriskQueueLogAdapter:
    name = "asterisk_queue_log"
    version = "2"
    #: A rotated log file is its own dataset; each upload adds its calls.
    dataset_grain = "object"
    #: Calls and spans still open at the end of a file are carried to the next upload (ADR 0018).
    carries = True

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]:
        decoded, _ = open_decoded(stream, upload.key, upload.size, "utf-8")
        text = io.TextIOWrapper(decoded, encoding="utf-8", errors="replace", newline="")
        rows = ContactRows(upload, ctx)
        calls: dict[str, _Call] = {}
        spans: dict[tuple[str, str, str], _Event] = {}
        activity: list[tuple[_Event, _Event, str]] = []
        other = ParsedBatch(rows_read=0, carried_from=ctx.carried.upload_id)
        for record in ctx.carried.records:  # what the previous upload left open comes first
            carried = _Event.carried(record)
            other.carried_in += 1
            if carried.event in _SPANS:
                spans[_span_key(carried)] = carried
            else:
                calls.setdefault(carried.callid, _Call()).events.append(carried)
        newest: _Event | None = None
        for item in _events(enumerate(text, start=1)):
            if isinstance(item, str):
                other.rows_read += 1
                other.excluded["row.blank_line" if item == "row.blank_line" else "row.header"] += 1
                continue
            if isinstance(item, Reject):
                other.rows_read += 1
                other.rejects.append(item)
                continue
            if newest is None or item.time > newest.time:
                newest = item
            if item.event in _CALL_EVENTS and item.callid not in ("", "NONE"):
                call = calls.setdefault(item.callid, _Call())
                call.events.append(item)
                if item.event in _ENDS_ANSWERED or item.event in _TRANSFERS or item.event in _EXITS:
                    self._add_call(rows, calls.pop(item.callid).events)
                    if len(rows) >= ctx.batch_records:
                        yield rows.build()
                        rows = ContactRows(upload, ctx)
            elif item.event in _SPANS:
                state, opens = _SPANS[item.event]
                key = _span_key(item)
                other.rows_read += 1
                if opens:
                    if key in spans:  # a second opening without a close: the first span stays open
                        other.excluded["excluded.in_progress"] += 1
                    spans[key] = item
                elif key in spans:  # the pair is one stored activity row; the opening event is merged into it
                    activity.append((spans.pop(key), item, state))
                    other.excluded["merged.member_event"] += 1
                else:  # closed without an opening in any upload received: the span began before them
                    other.excluded["excluded.in_progress"] += 1
            elif item.event in _NOISE:
                other.rows_read += 1
                other.excluded["excluded.queue_log_noise"] += 1
            else:
                other.rows_read += 1
                message = f"event {item.event!r} is not a queue_log event this adapter reads"
                other.rejects.append(Reject(item.line, item.raw, "event.unknown_code", message))
        other.carried = self._carry_or_expire(
            other, [call.events for call in calls.values()] + [[span] for span in spans.values()],
            newest, upload, ctx,
        )  # fmt: skip
        if activity:
            other.agent_activity, refused = self._activity(activity, upload)
            other.rejects.extend(refused)
        if len(rows) or rows.rows_read:
            yield rows.build()
        other.excluded = Counter({k: v for k, v in other.excluded.items() if v})
        yield other

    @staticmethod
    def _carry_or_expire(
        other: ParsedBatch, open_records: list[list[_Event]], newest: _Event | None, upload: Upload,
        ctx: AdapterContext,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """The open calls' and spans' events to carry; those open past the horizon are quarantined."""
        hours = upload.centre.source(upload.source).carry_horizon_hours
        zone = ZoneInfo(upload.centre.timezone)
        cutoff = newest.instant(zone) - timedelta(hours=hours) if newest is not None else None
        carried: list[dict[str, Any]] = []
        for events in open_records:
            # A call's lines of this upload are counted here (a span's when read); carried ones in carried_in.
            other.rows_read += sum(1 for e in events if e.origin is None and e.event not in _SPANS)
            last = max(events, key=lambda e: e.instant(zone))
            if cutoff is None or last.instant(zone) >= cutoff:
                carried.extend(e.record(upload.upload_id, ctx.pii_key) for e in events)
                continue
            first = events[0]
            what = (
                f"call {first.callid} ({first.event} at {first.time})"
                if first.event not in _SPANS
                else f"agent {first.agent}'s {first.event} at {first.time}"
            )
            where = f"upload {first.origin}, line {first.line}" if first.origin else f"line {first.line}"
            message = (
                f"{what}, {where}: no end event arrived within the {hours} h carry horizon; upload the "
                "queue_log that holds its end (or raise carry_horizon_hours), then replay this upload"
            )
            raw = "\n".join(e.raw for e in events)
            other.rejects.append(Reject(next((e.line for e in events if e.origin is None), first.line),
                                        raw, "carried.expired", message))  # fmt: skip
            if len(events) > 1:
                other.excluded["merged.queue_event"] += len(events) - 1
        return carried

    @staticmethod
    def _add_call(rows: ContactRows, events: list[_Event]) -> None:
        own = sum(1 for e in events if e.origin is None)
        if own < len(events):  # joined with events an earlier upload carried: in time order
            events = sorted(events, key=lambda e: e.time)
        if events[0].event != "ENTERQUEUE":  # the call entered the queue in a file never received
            rows.rows_read += own
            rows.excluded["excluded.in_progress"] += len(events)
            return
        values, (caller, caller_key), steps = _contact(events)
        raw = "\n".join(e.raw for e in events)
        line = next(e.line for e in events if e.origin is None)  # the contact's first line in this upload
        rows.add(line, raw, values, caller, steps, customer_key=caller_key)
        rows.rows_read += own - 1
        if len(events) > 1:
            rows.excluded["merged.queue_event"] += len(events) - 1

    @staticmethod
    def _activity(spans: list[tuple[_Event, _Event, str]], upload: Upload) -> tuple[pa.Table, list[Reject]]:
        """The spans as agent activity rows, and those a flag the centre raised to a rejection refused."""
        zone = upload.centre.timezone
        checks = RowChecks(len(spans), upload.centre.reject_flags)
        started = parse_timestamps(pa.array([s.time for s, _, _ in spans]), checks, "start", zone)
        ended = parse_timestamps(pa.array([e.time for _, e, _ in spans]), checks, "end", zone)
        seconds = pc.divide(pc.cast(pc.subtract(ended, started), pa.int64()), 1000.0)
        # AGENTLOGOFF(channel|logintime): the PBX's own count of the session's seconds.
        logged = pa.array(
            [e.number(1) if e.event == "AGENTLOGOFF" else None for _, e, _ in spans], pa.float64()
        )
        checks.flag(
            pc.greater(pc.abs(pc.subtract(logged, seconds)), DURATION_TOLERANCE_SECONDS),
            "time.duration_mismatch",
            "AGENTLOGOFF's logintime disagrees with AGENTLOGIN → AGENTLOGOFF",
        )
        n = len(spans)
        arrays = {
            "agent_id": pa.array([s.agent for s, _, _ in spans]),
            "team": pa.array(
                [s.queue if s.queue not in ("", "NONE") else None for s, _, _ in spans], pa.string()
            ),
            "state": pa.array([state for _, _, state in spans]),
            "started_utc": started,
            "ended_utc": ended,
            "started_local": utc_to_local(started, zone),
            "duration_seconds": seconds,
            "source_system": pa.array([upload.adapter] * n),
            "upload_id": pa.array([upload.upload_id] * n),
            "source_line": pa.array([e.line for _, e, _ in spans], pa.int64()),
            "quality_flags": checks.quality_flags,
        }
        table = pa.Table.from_arrays([arrays[f.name] for f in AGENT_ACTIVITY], schema=AGENT_ACTIVITY)
        refused = pc.indices_nonzero(pc.invert(checks.ok))
        rejects = [
            Reject(spans[i][1].line, f"{spans[i][0].raw}\n{spans[i][1].raw}", rule_id, message)
            for i, rule_id, message in zip(refused.to_pylist(), *checks.first_failures(refused), strict=True)
        ]
        return table.filter(checks.ok), rejects
