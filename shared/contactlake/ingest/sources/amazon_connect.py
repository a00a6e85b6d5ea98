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

import hashlib
import json
import pickle
import tempfile
from array import array
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from contactlake.contract import ParsedBatch, Upload
from contactlake.ingest.jsonrecords import iter_json_records
from contactlake.ingest.reader import open_decoded
from contactlake.ingest.sources.base import AdapterContext
from contactlake.ingest.sources.jsonbase import (
    BATCH_RECORDS,
    ContactRows,
    Measures,
    RecordProblem,
    Step,
    dig,
    text,
)
from contactlake.pii import mask_numbers_array, pseudonymise_array

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


#: Records hashed, masked and written to the scratch file at a time.
_SPOOL_CHUNK = 2_000
_PICKLE = pickle.HIGHEST_PROTOCOL


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
    """Canonical values, caller number and pathway steps of one CTR (raises :class:`RecordProblem`).

    A duration or count that is not a number is a flag (:class:`Measures`), the value null."""
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
    measures = Measures()
    talk = measures.number(
        agent.get("AgentInteractionDuration"), "Agent.AgentInteractionDuration", "talk_seconds"
    )
    hold = measures.number(agent.get("CustomerHoldDuration"), "Agent.CustomerHoldDuration", "hold_seconds")
    holds = measures.number(agent.get("NumberOfHolds"), "Agent.NumberOfHolds")
    acw = measures.number(agent.get("AfterContactWorkDuration"), "Agent.AfterContactWorkDuration")
    queue_seconds = measures.number(queue.get("Duration"), "Queue.Duration")
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
        handled = (talk or 0) + (hold or 0) if measures.readable("talk_seconds", "hold_seconds") else None
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
    caller = text(dig(record, "CustomerEndpoint", "Address"), "CustomerEndpoint.Address")
    return measures.finish(values), caller, steps


def _between(start: str | None, end: str | None) -> float | None:
    first, last = _timestamp(start), _timestamp(end)
    return (last - first).total_seconds() if first and last else None


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _order(last_update: datetime | None) -> float:
    """Later ``LastUpdateTimestamp`` wins; on a tie (or no timestamp) the copy later in the file wins."""
    return last_update.timestamp() if last_update else float("-inf")


class _Spool:
    """Pass one's scratch file: picked records, a chunk at a time, with no caller number in it.

    Each chunk's callers are replaced by their keyed hashes and its JSON texts (kept for the quarantine)
    have their phone numbers masked, both in Arrow, before the chunk is written: the scratch file in
    the function's /tmp never holds a caller number (the quarantine masks the same numbers anyway).
    """

    def __init__(self, pii_key: bytes) -> None:
        self.file = tempfile.TemporaryFile(prefix="contactlake-connect-")  # noqa: SIM115 - closed in close()
        self.pii_key = pii_key
        self.pending: list[tuple[int, str, dict[str, Any] | None, str | None, list[Step], Any]] = []

    def add(
        self,
        number_: int,
        raw: str,
        values: dict[str, Any] | None,
        caller: str | None,
        steps: list[Step],
        problem: RecordProblem | None,
    ) -> None:
        self.pending.append((number_, raw, values, caller, steps, problem))
        if len(self.pending) >= _SPOOL_CHUNK:
            self._write()

    def _write(self) -> None:
        if not self.pending:
            return
        numbers, raws, values, callers, steps, problems = zip(*self.pending, strict=True)
        masked = mask_numbers_array(pa.array(raws, pa.string())).to_pylist()
        keys = pseudonymise_array(pa.array(callers, pa.string()), self.pii_key).to_pylist()
        pickle.dump(
            list(zip(numbers, masked, values, keys, steps, problems, strict=True)), self.file, _PICKLE
        )
        self.pending = []

    def records(self) -> Iterator[tuple[int, str, dict[str, Any] | None, str | None, list[Step], Any]]:
        """Everything added, in order (callers as keyed hashes, texts masked)."""
        self._write()
        self.file.seek(0)
        while True:
            try:
                chunk = pickle.load(self.file)  # noqa: S301 - our own scratch file
            except EOFError:
                return
            yield from chunk

    def close(self) -> None:
        self.file.close()


class _Latest:
    """Which copy of each contact wins (the latest ``LastUpdateTimestamp``; on a tie the later copy).

    Eight bytes per copy and field instead of a dict of ids (a 300k-record export's dict held about
    190 MB): each copy's 128-bit id hash, update time and record number, settled at once at the end.
    """

    def __init__(self) -> None:
        self.high, self.low = array("Q"), array("Q")
        self.order, self.number = array("d"), array("q")

    def add(self, contact_id: str, order: float, number_: int) -> None:
        digest = hashlib.blake2b(contact_id.encode("utf-8"), digest_size=16).digest()
        self.high.append(int.from_bytes(digest[:8], "little"))
        self.low.append(int.from_bytes(digest[8:], "little"))
        self.order.append(order)
        self.number.append(number_)

    def winners(self) -> tuple[npt.NDArray[np.bool_], int]:
        """A mask by record number of the copies kept, and how many copies were superseded."""
        high, low = np.frombuffer(self.high, np.uint64), np.frombuffer(self.low, np.uint64)
        order, numbers = np.frombuffer(self.order, np.float64), np.frombuffer(self.number, np.int64)
        kept = np.zeros(int(numbers.max()) + 1 if len(numbers) else 0, dtype=np.bool_)
        if not len(numbers):
            return kept, 0
        ranked = np.lexsort((numbers, order, low, high))
        last = np.ones(len(ranked), dtype=np.bool_)  # the last copy of each id in that order wins
        same = (high[ranked][1:] == high[ranked][:-1]) & (low[ranked][1:] == low[ranked][:-1])
        last[:-1] = ~same
        kept[numbers[ranked][last]] = True
        return kept, int(len(numbers) - last.sum())


class AmazonConnectAdapter:
    name = "amazon_connect"
    version = "3"
    #: Firehose writes many objects a day, each with different contacts: every object is a dataset.
    dataset_grain = "object"

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]:
        """Two passes in bounded memory: the first picks every record and spools it to a scratch file
        (callers hashed, numbers masked), noting each copy's id hash and update time; the second reads
        the spool back and builds batches of the winning copies in file order. (Holding the records
        themselves needed about 11 KB each: 1.76 GB for a 150k-record file.)"""
        decoded, _ = open_decoded(stream, upload.key, upload.size, "utf-8")
        limit = min(ctx.batch_records, BATCH_RECORDS)
        latest = _Latest()
        counted = ContactRows(upload, ctx)  # parse rejects and exclusions
        spool = _Spool(ctx.pii_key)
        try:
            for record in iter_json_records(decoded):
                if record.value is None:
                    counted.reject_record(record)
                    if len(counted.rejects) >= limit:  # a file of garbage: rejects go out in batches too
                        yield counted.build()
                        counted = ContactRows(upload, ctx)
                    continue
                value = record.value
                rule = _EXCLUDED_METHODS.get(str(value.get("InitiationMethod")))
                if rule is None and value.get("Channel") == "TASK":
                    rule = "excluded.task"
                if rule is not None:
                    counted.exclude(rule)
                    continue
                try:
                    values, caller, steps = pick_contact(value)
                    problem = None
                except RecordProblem as error:
                    values, caller, steps, problem = None, None, [], error
                contact_id = values.get("contact_id") if values else None
                if contact_id is not None:
                    latest.add(
                        contact_id, _order(_timestamp(value.get("LastUpdateTimestamp"))), record.number
                    )
                raw = json.dumps(value, sort_keys=True, default=str)
                spool.add(record.number, raw, values, caller, steps, problem)
            kept, superseded = latest.winners()
            del latest
            rows = counted
            rows.callers_hashed = True
            rows.rows_read += superseded
            if superseded:
                rows.excluded["duplicate.superseded_update"] += superseded
            for number_, raw, values, customer_key, steps, problem in spool.records():
                contact_id = values.get("contact_id") if values else None
                if contact_id is not None and not kept[number_]:
                    continue  # a copy a later one replaced: counted as superseded above
                rows.add(number_, raw, values, customer_key, steps, problem)
                if len(rows) >= limit:
                    yield rows.build()
                    rows = ContactRows(upload, ctx, callers_hashed=True)
            if len(rows) or rows.rows_read:
                yield rows.build()
        finally:
            spool.close()
