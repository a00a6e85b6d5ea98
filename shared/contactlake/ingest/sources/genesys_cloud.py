"""Genesys Cloud conversation details (analytics details-job results), one conversation per contact.

Layouts: the job's result pages (``{"conversations": […], "cursor": …, "dataAvailabilityDate": …}``,
also several pages back to back) or JSON Lines of conversations. Field names follow the platform's
published models (docs/sources.md cites them): ``conversationId``, ``conversationStart``,
``conversationEnd``, ``originatingDirection``, ``participants[].purpose`` (customer / external / ivr /
acd / agent / user …), ``participants[].sessions[].mediaType``, ``sessions[].ani``,
``sessions[].metrics[]`` (``tAcd`` in ms), ``sessions[].segments[]`` with ``segmentType`` (ivr, interact,
hold, wrapup, alert …), ``segmentStart`` / ``segmentEnd``, ``queueId``, ``disconnectType`` and
``wrapUpCode``.

Reading a conversation: IVR time is the ivr participant's segments; the queue is the acd participant
(its name, or the segment's ``queueId``); the agent legs are agent participants' ``interact`` segments
(talk), ``hold`` segments and ``wrapup`` segments (after-contact work, wrap-up code). A customer who hung
up (``disconnectType = endpoint`` on the customer's last segment) abandoned where they were.

Older API versions (the public MIT-licensed response in tests/fixtures/genesys_cloud/) omit
``conversationEnd`` and ``originatingDirection``, so:

* a conversation is complete when it has ``conversationEnd`` *or* every segment of every session has
  ended; it then ends at its latest ``segmentEnd``. Only one with a segment still open is in progress.
* direction is ``originatingDirection`` when given; otherwise ``outbound`` when any session belongs to
  an outbound campaign (``outboundCampaignId``: preview, progressive or predictive dialling, campaign
  callbacks) or a participant's purpose is ``dialer``/``outbound``; otherwise the direction of the
  session that started the conversation (a ``user`` placing a call is ``outbound``).
* channel is the customer's media type, or else the first participant's that has one.
* a preview the agent skipped (wrap-up ``ININ-OUTBOUND-PREVIEW-SKIPPED``) was never dialled: the agent's
  ``interact`` segment is the preview on screen, not talk, so the contact is ``failed``, never answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

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
    text,
)

__all__ = ["GenesysCloudAdapter", "pick_conversation"]

_PAGE_KEYS = frozenset({"cursor", "dataAvailabilityDate", "totalHits"})
_CUSTOMER = ("customer", "external")
_SOCIAL = ("facebook", "twitter", "whatsapp", "instagram", "line")
_MESSAGE_CHANNELS = {"sms": "sms", "webmessaging": "chat", "open": "chat", **dict.fromkeys(_SOCIAL, "social")}
_MEDIA = {"voice": "voice", "callback": "callback", "chat": "chat", "email": "email"}
_DIRECTIONS = {"inbound": "inbound", "outbound": "outbound"}
_DIALER_PURPOSES = ("dialer", "outbound")
#: The wrap-up Genesys Cloud writes when an agent skips a preview-dialling record.
PREVIEW_SKIPPED = "ININ-OUTBOUND-PREVIEW-SKIPPED"
#: What an agent segment's times feed, by ``segmentType`` (a time that is not a time nulls them).
_AGENT_SEGMENT_FEEDS = {"interact": ("talk_seconds",), "hold": ("hold_seconds",), "wrapup": ("acw_seconds",)}


def conversation_ended(conversation: dict[str, Any]) -> bool:
    """True when the conversation is over: ``conversationEnd`` is set, or every segment has ended.

    A malformed conversation counts as ended, so :func:`pick_conversation` rejects it with its reason
    rather than it being set aside as in progress.
    """
    if conversation.get("conversationEnd"):
        return True
    participants = conversation.get("participants")
    if not isinstance(participants, list):
        return True
    seen = False
    for participant in participants:
        sessions = participant.get("sessions") if isinstance(participant, dict) else None
        for session in sessions if isinstance(sessions, list) else []:
            segments = session.get("segments") if isinstance(session, dict) else None
            for segment in segments if isinstance(segments, list) else []:
                if isinstance(segment, dict):
                    seen = True
                    if not segment.get("segmentEnd"):
                        return False
    return seen


def _sessions(participants: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for participant in participants:
        for session in participant.get("sessions") or []:
            if isinstance(session, dict):
                yield participant, session


def _direction(conversation: dict[str, Any], participants: list[dict[str, Any]]) -> str | None:
    """``originatingDirection``, or what the campaign, the purposes and the first session say."""
    given = text(conversation.get("originatingDirection"), "originatingDirection")
    if given:
        return given
    pairs = list(_sessions(participants))
    if any(session.get("outboundCampaignId") for _, session in pairs) or any(
        p.get("purpose") in _DIALER_PURPOSES for p in participants
    ):
        return "outbound"
    started = [
        (str(segments[0].get("segmentStart") or ""), session)
        for _, session in pairs
        if (segments := [g for g in session.get("segments") or [] if isinstance(g, dict)])
    ]
    if not started:
        return None
    first = min(started, key=lambda item: item[0])[1]
    return _DIRECTIONS.get(str(first.get("direction") or "").lower())


def _last_segment_end(participants: list[dict[str, Any]], measures: Measures) -> str | None:
    """The latest ``segmentEnd`` (the end of a conversation without ``conversationEnd``); null when one
    is not a time, since it might have been the latest."""
    ends = [
        (str(segment["segmentEnd"]), _when(measures, segment["segmentEnd"], "segmentEnd", "disconnected_utc"))
        for participant in participants
        for _, segment in _segments(participant)
        if segment.get("segmentEnd")
    ]
    if not ends or not measures.readable("disconnected_utc"):
        return None
    return max(ends, key=lambda end: end[1] or datetime.min)[0]


def _when(measures: Measures, value: Any, name: str, *feeds: str) -> datetime | None:
    """A segment time; one that is not ISO 8601 is noted as ``timestamp.invalid``, nulling ``feeds``."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        measures.unreadable("timestamp.invalid", f"{name} {value!r}", *feeds)
        return None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _segments(participant: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(session, segment) pairs of a participant, in time order."""
    pairs = []
    for session in participant.get("sessions") or []:
        if not isinstance(session, dict):
            raise RecordProblem("field.invalid", "sessions[] must hold objects")
        for segment in session.get("segments") or []:
            if not isinstance(segment, dict):
                raise RecordProblem("field.invalid", "segments[] must hold objects")
            pairs.append((session, segment))
    return sorted(pairs, key=lambda pair: str(pair[1].get("segmentStart") or ""))


def _metric(session: dict[str, Any], name: str, measures: Measures, feeds: str) -> float | None:
    for metric in session.get("metrics") or []:
        if isinstance(metric, dict) and metric.get("name") == name:
            return measures.number(metric.get("value"), f"metrics.{name}", feeds)
    return None


def _channel(session: dict[str, Any] | None) -> str | None:
    if session is None:
        return None
    media = text(session.get("mediaType"), "mediaType")
    if media == "message":
        return _MESSAGE_CHANNELS.get(str(session.get("messageType") or "").lower(), "chat")
    channel = _MEDIA.get(media or "")
    if channel is None:
        raise RecordProblem("channel.unknown_code", f"mediaType {media!r} is not a contact channel")
    return channel


def pick_conversation(conversation: dict[str, Any]) -> tuple[dict[str, Any], str | None, list[Step]]:
    """Canonical values, caller (ANI) and pathway steps of one conversation (raises RecordProblem)."""
    participants = conversation.get("participants") or []
    if not isinstance(participants, list) or not all(isinstance(p, dict) for p in participants):
        raise RecordProblem("field.invalid", "participants must be a list of objects")
    customer = next((p for p in participants if p.get("purpose") in _CUSTOMER), None)
    customer_segments = _segments(customer) if customer else []
    customer_session = customer_segments[0][0] if customer_segments else None
    if customer_session is None and customer is not None and customer.get("sessions"):
        customer_session = customer["sessions"][0]
    media_session = customer_session or next(
        (session for _, session in _sessions(participants) if session.get("mediaType")), None
    )
    channel = _channel(media_session)
    skipped = False
    steps: list[Step] = []
    ivr_start, ivr_seconds = None, 0.0
    enqueued, queue_name, queue_seconds, queue_metric = None, None, 0.0, None
    answered: str | None = None
    agent_id, wrap_code = None, None
    talk, hold, acw, holds, agent_legs = 0.0, 0.0, 0.0, 0, 0
    measures = Measures()  # a segment time that is not a time nulls what it feeds and flags the contact
    timeline: list[tuple[str, Step]] = []
    for participant in participants:
        purpose = participant.get("purpose")
        name = text(participant.get("participantName"), "participantName")
        pairs = _segments(participant)
        if purpose == "ivr":
            for _, segment in pairs:
                if segment.get("segmentType") != "ivr":
                    continue
                start, end = (
                    text(segment.get("segmentStart"), "segmentStart"),
                    text(segment.get("segmentEnd"), "segmentEnd"),
                )
                ivr_start = min(filter(None, (ivr_start, start)), default=None)
                seconds = _seconds(
                    _when(measures, start, "segmentStart", "ivr_entered_utc", "ivr_seconds"),
                    _when(measures, end, "segmentEnd", "ivr_seconds"),
                )
                ivr_seconds += seconds or 0.0
                ivr_outcome = "queued" if segment.get("disconnectType") == "transfer" else "ended"
                timeline.append((start or "", Step("ivr_menu", name, start, end, seconds, ivr_outcome)))
        elif purpose == "acd":
            for session, segment in pairs:
                start, end = (
                    text(segment.get("segmentStart"), "segmentStart"),
                    text(segment.get("segmentEnd"), "segmentEnd"),
                )
                enqueued = min(filter(None, (enqueued, start)), default=None)
                queue_name = queue_name or name or text(segment.get("queueId"), "queueId")
                seconds = _seconds(
                    _when(measures, start, "segmentStart", "enqueued_utc", "queue segments"),
                    _when(measures, end, "segmentEnd", "queue segments"),
                )
                queue_seconds += seconds or 0.0
                if queue_metric is None:
                    queue_metric = _metric(session, "tAcd", measures, "queue_seconds")
                left = "to_agent" if segment.get("disconnectType") == "transfer" else "abandoned"
                timeline.append((start or "", Step("queue", queue_name, start, end, seconds, left)))
        elif purpose == "agent":
            leg_start, leg_end, leg_disconnect = None, None, None
            leg_seconds: float | None = 0.0
            for _, segment in pairs:
                kind = segment.get("segmentType")
                start, end = (
                    text(segment.get("segmentStart"), "segmentStart"),
                    text(segment.get("segmentEnd"), "segmentEnd"),
                )
                feeds = _AGENT_SEGMENT_FEEDS.get(str(kind), ())
                answer = ("answered_utc",) if kind == "interact" else ()
                started_at = _when(measures, start, "segmentStart", *feeds, *answer)
                ended_at = _when(measures, end, "segmentEnd", *feeds)
                exact = _seconds(started_at, ended_at)
                if exact is None and start and end and kind in ("interact", "hold"):
                    leg_seconds = None  # a time of the leg is not a time: its length is unknown
                seconds = exact or 0.0
                if kind == "interact":
                    leg_start = leg_start or start
                    leg_end, leg_disconnect = end, segment.get("disconnectType")
                    answered = min(filter(None, (answered, start)), default=None)
                    talk += seconds
                    leg_seconds = None if leg_seconds is None else leg_seconds + seconds
                elif kind == "hold":
                    hold += seconds
                    holds += 1
                    leg_seconds = None if leg_seconds is None else leg_seconds + seconds
                    timeline.append((start or "", Step("hold", name, start, end, exact, "resumed")))
                elif kind == "wrapup":
                    acw += seconds
                    wrap_code = text(segment.get("wrapUpCode"), "wrapUpCode") or wrap_code
                    skipped = skipped or wrap_code == PREVIEW_SKIPPED
            if leg_start is not None:
                agent_legs += 1
                agent_id = text(participant.get("userId"), "userId") or name
                leg_outcome = (
                    "transferred" if "transfer" in str(leg_disconnect or "").lower() else "completed"
                )
                timeline.append(
                    (leg_start, Step("agent", agent_id, leg_start, leg_end, leg_seconds, leg_outcome))
                )
    timeline.sort(key=lambda item: item[0])
    previous_agent = False
    for _, step in timeline:
        if step.step_type == "agent":
            if previous_agent:
                steps.append(Step("transfer", step.name, step.started, step.started, None, "transferred"))
            previous_agent = True
        steps.append(step)
    last_customer = customer_segments[-1][1] if customer_segments else {}
    customer_hung_up = last_customer.get("disconnectType") in ("endpoint", "client")
    if skipped:  # the preview was on the agent's screen, never dialled: no answer, no talk
        answered, agent_legs = None, 0
        outcome = "failed"
    elif answered is not None:
        outcome = "answered"
    elif enqueued is not None:
        # The customer hung up while queued; otherwise the queue handed the contact on — to a callback
        # (a callback session in the conversation) or by a transfer — offered, neither answered nor
        # abandoned.
        if customer_hung_up:
            outcome = "abandoned"
        elif any(session.get("mediaType") == "callback" for _, session in _sessions(participants)):
            outcome = "callback_requested"
        else:
            outcome = "transferred"
    elif ivr_start is not None:
        outcome = (
            "ivr_abandoned" if customer_hung_up and not conversation.get("selfServed") else "self_served"
        )
    else:
        outcome = "failed"
    queue_wait: float | None
    if queue_metric is not None:
        queue_wait = queue_metric / 1000.0
    elif answered is not None and enqueued is not None:
        queue_wait = _seconds(
            _when(measures, enqueued, "segmentStart"), _when(measures, answered, "segmentStart")
        )
    elif measures.readable("queue segments"):
        queue_wait = queue_seconds if enqueued is not None else None
    else:
        queue_wait = None
    direction = _direction(conversation, participants)
    values = {
        "contact_id": text(conversation.get("conversationId"), "conversationId"),
        "channel": channel,
        "direction": direction,
        "queue": queue_name,
        "agent_id": agent_id,
        "initiated_utc": text(conversation.get("conversationStart"), "conversationStart"),
        "ivr_entered_utc": ivr_start,
        "enqueued_utc": enqueued,
        "answered_utc": answered,
        "disconnected_utc": text(conversation.get("conversationEnd"), "conversationEnd")
        or _last_segment_end(participants, measures),
        "ivr_seconds": ivr_seconds if ivr_start else None,
        "queue_seconds": queue_wait,
        "talk_seconds": talk if answered else None,
        "hold_seconds": hold if answered else None,
        "hold_count": float(holds) if answered else None,
        "acw_seconds": acw if answered else None,
        "disposition": wrap_code,
        "outcome": outcome,
        "transfer_count": float(max(0, agent_legs - 1)),
    }
    ani = text(customer_session.get("ani"), "ani") if customer_session else None
    return measures.finish(values), ani.removeprefix("tel:") if ani else None, steps


class GenesysCloudAdapter:
    name = "genesys_cloud"
    version = "3"
    #: Details jobs return pages; every page object is its own dataset.
    dataset_grain = "object"

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]:
        decoded, _ = open_decoded(stream, upload.key, upload.size, "utf-8")
        limit = min(ctx.batch_records, BATCH_RECORDS)
        rows = ContactRows(upload, ctx)
        for record in iter_json_records(decoded, array_key="conversations", wrapper_keys=_PAGE_KEYS):
            if record.value is None:
                rows.reject_record(record)
                if len(rows.rejects) >= limit:  # a file of garbage: rejects go out in batches too
                    yield rows.build()
                    rows = ContactRows(upload, ctx)
                continue
            if not conversation_ended(record.value):
                # A segment is still open: the conversation comes complete in a later export.
                rows.exclude("excluded.in_progress")
                continue
            try:
                values, caller, steps = pick_conversation(record.value)
                rows.add(record.number, record.value, values, caller, steps)
            except RecordProblem as problem:
                rows.add(record.number, record.value, None, problem=problem)
            if len(rows) >= limit:
                yield rows.build()
                rows = ContactRows(upload, ctx)
        if len(rows) or rows.rows_read:
            yield rows.build()
