"""Amazon Connect contact records (CTRs) from the contact-record export stream (Kinesis → Firehose → S3).

Reads JSON Lines and Firehose's concatenated JSON (records back to back, no separator), gzipped or not.
Field names follow the published data model (docs/sources.md cites it): ``ContactId``,
``InitialContactId``, ``PreviousContactId``, ``NextContactId``, ``Channel``, ``InitiationMethod``,
``InitiationTimestamp``, ``ConnectedToSystemTimestamp``, ``DisconnectTimestamp``, ``DisconnectReason``,
``LastUpdateTimestamp``, ``Queue{Name, EnqueueTimestamp, DequeueTimestamp, Duration}``,
``Agent{Username, ConnectedToAgentTimestamp, AgentInteractionDuration, CustomerHoldDuration,
NumberOfHolds, LongestHoldDuration, AfterContactWorkDuration, AfterContactWorkStartTimestamp,
AfterContactWorkEndTimestamp}``, ``CustomerEndpoint{Address}``, ``TransferCompletedTimestamp``.

Connect delivers records *at least once* and re-delivers a contact when it changes; AWS's advice is to
keep, per ``ContactId``, the copy with the latest ``LastUpdateTimestamp``. Within one file that is done
here (the older copies are excluded with ``duplicate.superseded_update``); across files the commit stage
compares ``source_updated_utc`` with the stored copy's (docs/adr/0004-idempotent-uploads.md). Each
Firehose object is its own dataset (``dataset_grain = "object"``): files of the same day add up instead
of replacing each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from contactlake.contract import ParsedBatch, Upload
from contactlake.ingest.jsonrecords import iter_json_records
from contactlake.ingest.reader import open_decoded
from contactlake.ingest.sources.base import AdapterContext
from contactlake.ingest.sources.jsonbase import ContactRows, RecordProblem, Step, dig, number, text

__all__ = ["AmazonConnectAdapter", "pick_contact"]

_CHANNELS = {"VOICE": "voice", "CHAT": "chat", "EMAIL": "email"}
_DIRECTIONS = {
    "INBOUND": "inbound",
    "OUTBOUND": "outbound",
    "TRANSFER": "transfer",
    "QUEUE_TRANSFER": "transfer",
    "CALLBACK": "outbound",
}
#: Records that are not customer contacts: a supervisor listening in, a flow run after a disconnect.
_EXCLUDED_METHODS = {"MONITOR": "excluded.monitor", "DISCONNECT": "excluded.disconnect_flow"}


@dataclass
class _Picked:
    number: int
    raw: dict[str, Any]
    values: dict[str, Any] | None
    caller: str | None
    steps: list[Step]
    problem: RecordProblem | None
    last_update: datetime | None


def _outcome(record: dict[str, Any], queued: bool, answered: bool) -> str:
    if answered:
        return "answered"
    method = record.get("InitiationMethod")
    reason = record.get("DisconnectReason")
    if queued:
        # Left the queue into another contact: a transfer (to another queue or a number: the record
        # names where it went) or a queued callback. The continuation is its own contact record, so
        # this one was offered but neither answered nor abandoned. Otherwise the customer hung up.
        if record.get("TransferredToEndpoint") or record.get("TransferCompletedTimestamp"):
            return "transferred"
        return "callback_requested" if record.get("NextContactId") else "abandoned"
    if method in ("OUTBOUND", "CALLBACK") or reason == "TELECOM_PROBLEM":
        return "failed"
    if reason == "CUSTOMER_DISCONNECT":
        return "ivr_abandoned"
    return "self_served"


def pick_contact(record: dict[str, Any]) -> tuple[dict[str, Any], str | None, list[Step]]:
    """Canonical values, caller number and pathway steps of one CTR (raises :class:`RecordProblem`)."""
    method = text(record.get("InitiationMethod"), "InitiationMethod")
    channel_code = text(record.get("Channel"), "Channel")
    channel = "callback" if method == "CALLBACK" else _CHANNELS.get(channel_code or "")
    if channel is None:
        raise RecordProblem("channel.unknown_code", f"Channel {channel_code!r} is not VOICE, CHAT or EMAIL")
    direction = _DIRECTIONS.get(method or "")
    if direction is None and method == "API":
        direction = "inbound" if channel == "chat" else "outbound"
    if direction is None:
        raise RecordProblem("direction.unknown_code", f"InitiationMethod {method!r} is not a known method")
    queue, agent = record.get("Queue") or {}, record.get("Agent") or {}
    if not isinstance(queue, dict) or not isinstance(agent, dict):
        raise RecordProblem("field.invalid", "Queue and Agent must be objects")
    enqueued = text(queue.get("EnqueueTimestamp"), "Queue.EnqueueTimestamp")
    dequeued = text(queue.get("DequeueTimestamp"), "Queue.DequeueTimestamp")
    answered = text(agent.get("ConnectedToAgentTimestamp"), "Agent.ConnectedToAgentTimestamp")
    initiated = text(record.get("InitiationTimestamp"), "InitiationTimestamp")
    system = text(record.get("ConnectedToSystemTimestamp"), "ConnectedToSystemTimestamp")
    disconnected = text(record.get("DisconnectTimestamp"), "DisconnectTimestamp")
    talk = number(agent.get("AgentInteractionDuration"), "Agent.AgentInteractionDuration")
    hold = number(agent.get("CustomerHoldDuration"), "Agent.CustomerHoldDuration")
    holds = number(agent.get("NumberOfHolds"), "Agent.NumberOfHolds")
    acw = number(agent.get("AfterContactWorkDuration"), "Agent.AfterContactWorkDuration")
    queue_seconds = number(queue.get("Duration"), "Queue.Duration")
    queue_name = text(queue.get("Name"), "Queue.Name")
    username = text(agent.get("Username"), "Agent.Username")
    next_id = text(record.get("NextContactId"), "NextContactId")
    outcome = _outcome(record, enqueued is not None, answered is not None)
    # Only an inbound call runs the contact flow (IVR) first; transfers and callbacks start queued.
    in_flow = method == "INBOUND" and channel == "voice" and system is not None
    flow_end = enqueued or disconnected
    ivr_seconds = _between(system, flow_end) if in_flow else None
    transferred = bool(next_id and answered) or bool(record.get("TransferCompletedTimestamp"))
    values = {
        "contact_id": text(record.get("ContactId"), "ContactId"),
        "initial_contact_id": text(record.get("InitialContactId"), "InitialContactId"),
        "previous_contact_id": text(record.get("PreviousContactId"), "PreviousContactId"),
        "channel": channel,
        "direction": direction,
        "queue": queue_name,
        "agent_id": username,
        "initiated_utc": initiated,
        "ivr_entered_utc": system if in_flow else None,
        "ivr_seconds": ivr_seconds,
        "enqueued_utc": enqueued,
        "answered_utc": answered,
        "disconnected_utc": disconnected,
        "queue_seconds": queue_seconds,
        "talk_seconds": talk,
        "hold_seconds": hold,
        "hold_count": holds,
        "acw_seconds": acw,
        "outcome": outcome,
        "transfer_count": 1.0 if transferred else 0.0,
        "source_updated_utc": text(record.get("LastUpdateTimestamp"), "LastUpdateTimestamp"),
    }
    steps: list[Step] = []
    if method == "CALLBACK":
        steps.append(Step("callback", queue_name, initiated, system, None, "dialled"))
    if in_flow:
        steps.append(
            Step("ivr_menu", "contact flow", system, flow_end, ivr_seconds, "queued" if enqueued else outcome)
        )
    if enqueued is not None:
        queue_outcome = "answered" if answered else ("transferred" if next_id else "abandoned")
        steps.append(Step("queue", queue_name, enqueued, dequeued, queue_seconds, queue_outcome))
    if answered is not None:
        end = text(agent.get("AfterContactWorkStartTimestamp"), "Agent.AfterContactWorkStartTimestamp")
        handled = (talk or 0) + (hold or 0)
        steps.append(
            Step(
                "agent",
                username,
                answered,
                end or disconnected,
                handled,
                "transferred" if transferred else "completed",
            )
        )
        if holds:
            steps.append(Step("hold", f"{int(holds)} hold(s)", None, None, hold, "resumed"))
    if next_id:
        steps.append(Step("transfer", next_id, disconnected, None, None, "next_contact"))
    return values, text(dig(record, "CustomerEndpoint", "Address"), "CustomerEndpoint.Address"), steps


def _between(start: str | None, end: str | None) -> float | None:
    first, last = _timestamp(start), _timestamp(end)
    return (last - first).total_seconds() if first and last else None


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _order(entry: _Picked) -> float:
    """Later ``LastUpdateTimestamp`` wins; on a tie (or no timestamp) the copy later in the file wins."""
    return entry.last_update.timestamp() if entry.last_update else float("-inf")


class AmazonConnectAdapter:
    name = "amazon_connect"
    version = "2"
    #: Firehose writes many objects a day, each with different contacts: every object is a dataset.
    dataset_grain = "object"

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]:
        decoded, _ = open_decoded(stream, upload.key, upload.size, "utf-8")
        picked: list[_Picked | None] = []
        latest: dict[str, int] = {}
        parse_rejects = ContactRows(upload, ctx)
        superseded = 0
        excluded = ContactRows(upload, ctx)
        for record in iter_json_records(decoded):
            if record.value is None:
                parse_rejects.reject_record(record)
                continue
            value = record.value
            rule = _EXCLUDED_METHODS.get(str(value.get("InitiationMethod")))
            if rule is None and value.get("Channel") == "TASK":
                rule = "excluded.task"
            if rule is not None:
                excluded.exclude(rule)
                continue
            try:
                values, caller, steps = pick_contact(value)
                problem = None
            except RecordProblem as error:
                values, caller, steps, problem = None, None, [], error
            entry = _Picked(
                record.number,
                value,
                values,
                caller,
                steps,
                problem,
                _timestamp(value.get("LastUpdateTimestamp")),
            )
            contact_id = values.get("contact_id") if values else None
            if contact_id is not None and contact_id in latest:
                earlier = picked[latest[contact_id]]
                assert earlier is not None
                superseded += 1
                if _order(earlier) > _order(entry):
                    continue  # the copy already kept is newer
                picked[latest[contact_id]] = None
            if contact_id is not None:
                latest[contact_id] = len(picked)
            picked.append(entry)
        rows = ContactRows(upload, ctx)
        rows.rejects = parse_rejects.rejects
        rows.rows_read = parse_rejects.rows_read + excluded.rows_read + superseded
        rows.excluded = excluded.excluded
        if superseded:
            rows.excluded["duplicate.superseded_update"] += superseded
        for kept in picked:
            if kept is None:
                continue
            rows.add(kept.number, kept.raw, kept.values, kept.caller, kept.steps, kept.problem)
            if len(rows) >= ctx.batch_records:
                yield rows.build()
                rows = ContactRows(upload, ctx)
        if len(rows) or rows.rows_read:
            yield rows.build()
