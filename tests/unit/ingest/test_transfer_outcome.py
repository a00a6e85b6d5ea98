"""A contact that left the queue by a transfer is ``transferred``, not a booked callback (issue 14)."""

from __future__ import annotations

import json
from typing import Any

from contactlake.ingest.sources.amazon_connect import pick_contact
from contactlake.ingest.sources.genesys_cloud import conversation_ended, pick_conversation
from tests.fixtures.lakes import FIXTURES

CTR = FIXTURES / "amazon_connect" / "ctr-2024-03-05.jsonl"


def _queued_abandon() -> dict[str, Any]:
    """The fixture's record of a caller who hung up after 100 s in the Billing queue."""
    for line in CTR.read_text().splitlines():
        record = json.loads(line)
        if record["ContactId"].endswith("000000000002") and record["Queue"]:
            return dict(record)
    raise AssertionError("fixture record not found")


def test_connect_queue_exits_transfer_callback_or_abandon() -> None:
    abandoned = _queued_abandon()
    assert pick_contact(abandoned)[0]["outcome"] == "abandoned"
    callback = {**abandoned, "NextContactId": "next-1"}
    assert pick_contact(callback)[0]["outcome"] == "callback_requested"
    transfer = {**callback, "TransferredToEndpoint": {"Address": "+441134960001"}}
    assert pick_contact(transfer)[0]["outcome"] == "transferred"


def _segment(start: str, end: str | None, kind: str, disconnect: str | None = None) -> dict[str, Any]:
    segment = {"segmentStart": start, "segmentType": kind, "disconnectType": disconnect}
    if end:
        segment["segmentEnd"] = end
    return segment


def _conversation(
    customer_media: str = "voice", acd_end: str | None = "2024-03-05T10:01:00Z"
) -> dict[str, Any]:
    return {
        "conversationId": "c-1",
        "conversationStart": "2024-03-05T10:00:00Z",
        "participants": [
            {
                "purpose": "customer",
                "sessions": [
                    {
                        "mediaType": customer_media,
                        "direction": "inbound",
                        "segments": [
                            _segment("2024-03-05T10:00:00Z", "2024-03-05T10:01:00Z", "interact", "peer")
                        ],
                    }
                ],
            },
            {
                "purpose": "acd",
                "participantName": "Billing",
                "sessions": [
                    {
                        "mediaType": "voice",
                        "direction": "inbound",
                        "segments": [_segment("2024-03-05T10:00:05Z", acd_end, "interact", "transfer")],
                    }
                ],
            },
        ],
    }


def test_genesys_queue_handed_on_without_a_callback_is_transferred() -> None:
    values, _, _ = pick_conversation(_conversation())
    assert (values["outcome"], values["direction"], values["disconnected_utc"]) == (
        "transferred", "inbound", "2024-03-05T10:01:00Z",
    )  # fmt: skip
    assert pick_conversation(_conversation(customer_media="callback"))[0]["outcome"] == "callback_requested"


def test_genesys_conversation_is_in_progress_only_while_a_segment_is_open() -> None:
    assert conversation_ended(_conversation())
    assert not conversation_ended(_conversation(acd_end=None))
    assert conversation_ended({"participants": "not a list"})  # rejected by pick_conversation, not set aside
