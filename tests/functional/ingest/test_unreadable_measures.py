"""Issue 14 item 1 for the record sources: a duration, count or time other than the start that is not a
number or a time is a flag (``number.invalid`` / ``timestamp.invalid``), the measure stored as null — as
the CSV sources do; an unreadable contact id or start still rejects, and a centre may raise the flags.

Each test edits the adapter's fixture (built from the vendor's published fields, docs/sources.md).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from contactlake.commit.committer import Manifest
from contactlake.config import parse_app_config
from tests.fixtures.lakes import FIXTURES, LocalLake, centres

CONNECT = FIXTURES / "amazon_connect" / "ctr-2024-03-05.jsonl"
GENESYS = FIXTURES / "genesys_cloud" / "details-job-2024-03-05.json"
UCCE = FIXTURES / "cisco_ucce" / "tcd-2024-03-05.csv"


def _raise_flags(lake: LocalLake, *flags: str) -> None:
    raw = centres()
    raw["centres"]["leeds"]["reject_flags"] = list(flags)
    lake.config = parse_app_config(raw, source_path=lake.config.source_path)


def _reconciles(manifest: Manifest, read: int, stored: int, quarantined: int, excluded: int) -> None:
    assert manifest.reconciles
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined, manifest.rows_excluded) == (
        read, stored, quarantined, excluded,
    )  # fmt: skip


def _contact(lake: LocalLake, contact_id: str) -> dict[str, Any]:
    return next(r for r in lake.contacts().to_pylist() if r["contact_id"] == contact_id)


def test_connect_stores_a_ctr_whose_durations_or_disconnect_are_unreadable(lake: LocalLake) -> None:
    records = [json.loads(line) for line in CONNECT.read_bytes().splitlines()]
    answered = next(r for r in records if r["ContactId"].endswith("8001-000000000001"))
    answered["Agent"]["AgentInteractionDuration"] = "4m"
    answered["Agent"]["NumberOfHolds"] = True
    answered["DisconnectTimestamp"] = "after lunch"
    no_start = next(r for r in records if r["ContactId"].endswith("8002-000000000001"))
    no_start["InitiationTimestamp"] = "2024-03-05T25:00:00Z"
    no_id = next(r for r in records if r["ContactId"].endswith("8004-000000000001"))
    no_id["ContactId"] = ""
    # A record the picker rejects goes through the reader's scratch file like any other (it crashed there).
    fax = next(r for r in records if r["ContactId"].endswith("8007-000000000001"))
    fax["Channel"] = "FAX"
    data = "\n".join(json.dumps(r) for r in (answered, no_start, no_id, fax)).encode()

    manifest = lake.ingest("leeds/ctr/2024/03/05/09/part-a.jsonl", data)
    _reconciles(manifest, 4, 1, 3, 0)
    assert manifest.quarantined_by_rule == {
        "timestamp.invalid": 1,
        "required.missing": 1,
        "channel.unknown_code": 1,
    }
    assert manifest.flagged_by_rule == {"number.invalid": 1, "timestamp.invalid": 1}
    stored = _contact(lake, answered["ContactId"])
    assert stored["quality_flags"] == "number.invalid,timestamp.invalid"
    # The unreadable measures are null; what was readable is kept as exported.
    assert (stored["talk_seconds"], stored["hold_count"], stored["disconnected_utc"]) == (None, None, None)
    assert (stored["hold_seconds"], stored["queue_seconds"], stored["outcome"]) == (45.0, 30.0, "answered")
    assert stored["answered_utc"] == datetime(2024, 3, 5, 9, 1, 10)
    agent_step = next(
        s
        for s in lake.steps().to_pylist()
        if s["contact_id"] == answered["ContactId"] and s["step_type"] == "agent"
    )
    assert agent_step["duration_seconds"] is None  # talk + hold, and the talk time is unknown

    _raise_flags(lake, "number.invalid")
    strict = lake.ingest("leeds/ctr/2024/03/05/09/part-b.jsonl", data)
    _reconciles(strict, 4, 0, 4, 0)
    assert strict.quarantined_by_rule == {
        "number.invalid": 1,
        "timestamp.invalid": 1,
        "required.missing": 1,
        "channel.unknown_code": 1,
    }
    message = next(q for q in lake.quarantine().to_pylist() if q["upload_id"] == strict.upload_id
                   and q["rule_id"] == "number.invalid")["message"]  # fmt: skip
    assert "Agent.AgentInteractionDuration '4m'" in message
    assert "Agent.NumberOfHolds True" in message


def _genesys_conversations() -> list[dict[str, Any]]:
    text, decoder, at, found = GENESYS.read_text(), json.JSONDecoder(), 0, []
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        page, at = decoder.raw_decode(text, at)
        found.extend(page["conversations"])
    return found


def _segments(conversation: dict[str, Any], purpose: str) -> list[dict[str, Any]]:
    participant = next(p for p in conversation["participants"] if p["purpose"] == purpose)
    return [segment for session in participant["sessions"] for segment in session["segments"]]


def test_genesys_stores_a_conversation_whose_metric_or_segment_time_is_unreadable(lake: LocalLake) -> None:
    conversations = {c["conversationId"][-2:]: c for c in _genesys_conversations()}
    billing = conversations["01"]  # IVR, Billing queue (tAcd 30 000 ms), Jane: talk, hold, talk, wrap-up
    acd = next(p for p in billing["participants"] if p["purpose"] == "acd")
    acd["sessions"][0]["metrics"][0]["value"] = "30 s"
    hold = next(s for s in _segments(billing, "agent") if s["segmentType"] == "hold")
    hold["segmentEnd"] = "pending"
    open_end = conversations["04"]  # no conversationEnd: it ends at its latest segment end, here unreadable
    del open_end["conversationEnd"]
    _segments(open_end, "customer")[-1]["segmentEnd"] = "2024-03-05T11:xx:00Z"
    no_start = conversations["02"]
    no_start["conversationStart"] = "yesterday"
    data = json.dumps({"conversations": [billing, open_end, no_start]}).encode()

    manifest = lake.ingest("leeds/genesys/2024-03-05/details-a.json", data)
    _reconciles(manifest, 3, 2, 1, 0)
    assert manifest.quarantined_by_rule == {"timestamp.invalid": 1}
    assert manifest.flagged_by_rule == {"number.invalid": 1, "timestamp.invalid": 2}
    stored = _contact(lake, billing["conversationId"])
    assert stored["quality_flags"] == "number.invalid,timestamp.invalid"
    # tAcd is not a number: the queue wait is unknown; the hold's end is not a time: its length is unknown.
    assert (stored["queue_seconds"], stored["hold_seconds"]) == (None, None)
    assert (stored["talk_seconds"], stored["acw_seconds"], stored["hold_count"]) == (305.0, 30.0, 1)
    assert (stored["outcome"], stored["answered_utc"]) == ("answered", datetime(2024, 3, 5, 10, 1, 15))
    steps = {
        s["step_type"]: s for s in lake.steps().to_pylist() if s["contact_id"] == billing["conversationId"]
    }
    assert (steps["hold"]["ended_utc"], steps["hold"]["quality_flags"]) == (None, "timestamp.invalid")
    assert steps["agent"]["duration_seconds"] is None  # talk + hold of the leg
    ended = _contact(lake, open_end["conversationId"])
    assert (ended["quality_flags"], ended["disconnected_utc"]) == ("timestamp.invalid", None)
    assert ended["talk_seconds"] is not None

    _raise_flags(lake, "timestamp.invalid")
    strict = lake.ingest("leeds/genesys/2024-03-05/details-b.json", data)
    _reconciles(strict, 3, 0, 3, 0)
    assert strict.quarantined_by_rule == {"timestamp.invalid": 3}
    messages = {q["message"] for q in lake.quarantine().to_pylist() if q["upload_id"] == strict.upload_id}
    assert any("segmentEnd 'pending'" in m for m in messages)


def _tcd(edits: dict[int, dict[str, str]]) -> bytes:
    """The TCD fixture with some fields of some lines (file line numbers, header = 1) replaced."""
    rows = list(csv.reader(io.StringIO(UCCE.read_text())))
    header = rows[0]
    for line, fields in edits.items():
        for name, value in fields.items():
            rows[line - 1][header.index(name)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def test_cisco_stores_a_call_whose_leg_measures_are_unreadable(lake: LocalLake) -> None:
    data = _tcd(
        {
            3: {"HoldTime": "n/a"},  # call 1001's agent leg
            4: {"WorkTime": "--"},  # call 1002 (abandoned in queue): its end is unknown
            6: {"LocalQTime": "abc"},  # call 1004's first leg: the queue wait is unknown
            9: {"DateTime": "2024-03-05 1O:12:30.000"},  # call 1004's last leg: when it ended is unknown
            5: {"LocalQTime": "?"},  # call 1003: no other wait, so whether it abandoned is unknown
            12: {"TalkTime": "forty"},  # a non-routed call an agent took: answered or not is unknown
        }
    )
    manifest = lake.ingest("leeds/tcd/tcd-2024-03-05.csv", data)
    # 11 legs: calls 1001, 1002, 1004 stored (flagged); 1003, 1005, 1006 and the non-routed call quarantined.
    _reconciles(manifest, 11, 3, 4, 4)
    assert manifest.quarantined_by_rule == {
        "number.invalid": 2,
        "disposition.unknown_code": 1,
        "timestamp.invalid": 1,
    }
    assert manifest.flagged_by_rule == {"number.invalid": 3, "timestamp.invalid": 1}
    first, abandoned, transferred = (_contact(lake, f"153001-{n}") for n in (1001, 1002, 1004))
    assert [c["quality_flags"] for c in (first, abandoned, transferred)] == [
        "number.invalid", "number.invalid", "number.invalid,timestamp.invalid",
    ]  # fmt: skip
    assert (first["hold_seconds"], first["talk_seconds"], first["acw_seconds"], first["queue_seconds"]) == (
        None, 200.0, 20.0, 29.0,
    )  # fmt: skip
    assert first["disconnected_utc"] == datetime(2024, 3, 5, 9, 4, 54)
    assert (abandoned["outcome"], abandoned["queue_seconds"], abandoned["disconnected_utc"]) == (
        "abandoned", 95.0, None,
    )  # fmt: skip
    assert (transferred["queue_seconds"], transferred["talk_seconds"], transferred["outcome"]) == (
        None, 610.0, "answered",
    )  # fmt: skip
    # Its answering leg (the second) is readable; its last leg's end is not, and the call may end there.
    assert (transferred["answered_utc"], transferred["disconnected_utc"]) == (
        datetime(2024, 3, 5, 10, 0, 55),
        None,
    )
    steps = [s for s in lake.steps().to_pylist() if s["contact_id"] == "153001-1004"]
    assert [
        (s["step_type"], s["step_name"], s["started_utc"]) for s in steps if s["step_type"] == "agent"
    ] == [
        ("agent", "5102", datetime(2024, 3, 5, 10, 0, 55)),
        ("agent", "5103", None),
    ]
    quarantine = {q["source_line"]: q for q in lake.quarantine().to_pylist()}
    assert "decides whether the caller abandoned" in quarantine[5]["message"]
    assert "decides whether the agent answered" in quarantine[12]["message"]

    _raise_flags(lake, "number.invalid")
    strict = lake.ingest("leeds/tcd/tcd-2024-03-06.csv", data.replace(b"2024-03-05 ", b"2024-03-06 "))
    _reconciles(strict, 11, 0, 7, 4)
    assert strict.quarantined_by_rule == {
        "number.invalid": 5,
        "disposition.unknown_code": 1,
        "timestamp.invalid": 1,
    }


def test_cisco_flags_a_negative_leg_measure_and_nulls_what_it_feeds(lake: LocalLake) -> None:
    """A negative duration is a flag that nulls the value, as in every other source (docs/validation.md);
    on the first leg's Duration, which places the call in time, it still rejects the call."""
    data = _tcd({3: {"HoldTime": "-12"}, 6: {"Duration": "-5"}})  # 1001's agent leg; 1004's first leg
    manifest = lake.ingest("leeds/tcd/tcd-2024-03-05.csv", data)
    assert manifest.flagged_by_rule == {"duration.negative": 1}
    assert manifest.quarantined_by_rule.get("duration.negative") == 1
    first = _contact(lake, "153001-1001")
    assert (first["quality_flags"], first["hold_seconds"], first["talk_seconds"]) == (
        "duration.negative", None, 200.0,
    )  # fmt: skip
    quarantine = {q["source_line"]: q for q in lake.quarantine().to_pylist()}
    assert "Duration '-5' is negative" in quarantine[6]["message"]
