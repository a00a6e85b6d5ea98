"""Each adapter on a realistic fixture built from the vendor's published field list (docs/sources.md)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import datetime

import pytest

from contactlake.config import parse_app_config
from tests.fixtures.lakes import FIXTURES, LocalLake, centres

CONNECT = FIXTURES / "amazon_connect" / "ctr-2024-03-05.jsonl"
GENESYS = FIXTURES / "genesys_cloud" / "details-job-2024-03-05.json"
GENESYS_REAL = FIXTURES / "genesys_cloud" / "developer_tools_query_result.json"
UCCE = FIXTURES / "cisco_ucce" / "tcd-2024-03-05.csv"
CONTACT = ("contact_id", "channel", "direction", "queue", "agent_id", "outcome", "queue_seconds",
           "talk_seconds", "hold_seconds", "acw_seconds", "transfer_count", "hold_count")  # fmt: skip


def _firehose(jsonl: bytes) -> bytes:
    """What Kinesis Data Firehose writes: records back to back, no separator, gzipped."""
    return gzip.compress(b"".join(json.dumps(json.loads(line)).encode() for line in jsonl.splitlines()))


CONNECT_CONTACTS = [
    ("c0a80001-1111-4aaa-8001-000000000001", "voice", "inbound", "Billing", "jdoe", "answered", 30.0, 240.0, 45.0, 30.0, 0, 1),
    ("c0a80001-1111-4aaa-8001-000000000002", "voice", "inbound", "Billing", None, "abandoned", 100.0, None, None, None, 0, None),
    ("c0a80001-1111-4aaa-8001-000000000003", "voice", "inbound", None, None, "self_served", None, None, None, None, 0, None),
    ("c0a80001-1111-4aaa-8001-000000000004", "voice", "inbound", None, None, "ivr_abandoned", None, None, None, None, 0, None),
    ("c0a80001-2222-4bbb-8002-000000000001", "voice", "inbound", "Support", "asmith", "answered", 20.0, 180.0, 0.0, 30.0, 1, 0),
    ("c0a80001-2222-4bbb-8002-000000000002", "voice", "transfer", "Tier2", "bjones", "answered", 70.0, 400.0, 20.0, 30.0, 0, 1),
    ("c0a80001-3333-4ccc-8003-000000000001", "voice", "inbound", "Billing", None, "callback_requested", 90.0, None, None, None, 0, None),
    ("c0a80001-3333-4ccc-8003-000000000002", "callback", "outbound", "Billing", "jdoe", "answered", 780.0, 290.0, 0.0, 30.0, 0, 0),
    ("c0a80001-4444-4ddd-8004-000000000001", "chat", "inbound", "Chat", "cwhite", "answered", 30.0, 505.0, 0.0, 20.0, 0, 0),
    ("c0a80001-7777-4aaa-8007-000000000001", "voice", "inbound", "Sales", "jdoe", "answered", 30.0, 250.0, 0.0, 30.0, 0, 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("key", "encode"),
    [
        ("leeds/ctr/2024/03/05/ctr.jsonl", lambda data: data),
        ("leeds/ctr/2024/03/05/09/ctr-stream-1-2024-03-05-09-15-00-0a1b.gz", _firehose),
    ],
    ids=["json-lines", "firehose-concatenated-gzip"],
)
def test_amazon_connect_contact_records(lake: LocalLake, key: str, encode: object) -> None:
    manifest = lake.ingest(key, encode(CONNECT.read_bytes()))  # type: ignore[operator]
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined) == (14, 10, 0)
    assert manifest.excluded_by_rule == {
        "duplicate.superseded_update": 2,  # a contact delivered twice: the latest LastUpdateTimestamp wins
        "excluded.monitor": 1,  # a supervisor listening in is not a customer contact
        "excluded.task": 1,  # a task is a work item, not a customer contact
    }
    assert lake.rows(lake.contacts(), *CONTACT) == CONNECT_CONTACTS
    contacts = {r["contact_id"]: r for r in lake.contacts().to_pylist()}
    transferred = contacts["c0a80001-2222-4bbb-8002-000000000002"]
    assert (
        transferred["initial_contact_id"]
        == transferred["previous_contact_id"]
        == ("c0a80001-2222-4bbb-8002-000000000001")
    )
    first = contacts["c0a80001-1111-4aaa-8001-000000000001"]
    assert (first["initiated_utc"], first["answered_utc"], first["disconnected_utc"], first["ivr_seconds"]) == (
        datetime(2024, 3, 5, 9, 0), datetime(2024, 3, 5, 9, 1, 10), datetime(2024, 3, 5, 9, 6), 40.0,
    )  # fmt: skip
    # The same caller on both legs of the transfer gets the same key; the anonymous caller gets none.
    assert contacts["c0a80001-2222-4bbb-8002-000000000001"]["customer_key"] == transferred["customer_key"]
    assert contacts["c0a80001-1111-4aaa-8001-000000000004"]["customer_key"] is None
    steps = lake.rows(lake.steps(), "contact_id", "step_index", "step_type", "step_name", "step_outcome")
    assert [s[1:] for s in steps if s[0] == "c0a80001-2222-4bbb-8002-000000000001"] == [
        (0, "ivr_menu", "contact flow", "queued"),
        (1, "queue", "Support", "answered"),
        (2, "agent", "asmith", "transferred"),
        (3, "transfer", "c0a80001-2222-4bbb-8002-000000000002", "next_contact"),
    ]
    assert [s[1:] for s in steps if s[0] == "c0a80001-3333-4ccc-8003-000000000002"] == [
        (0, "callback", "Billing", "dialled"),
        (1, "queue", "Billing", "answered"),
        (2, "agent", "jdoe", "completed"),
    ]
    assert manifest.pathway_steps_stored == len(steps) == 26


def test_connect_files_of_one_day_add_up_instead_of_replacing(lake: LocalLake) -> None:
    records = CONNECT.read_bytes().splitlines()
    first = lake.ingest("leeds/ctr/2024/03/05/09/part-a.gz", gzip.compress(b"\n".join(records[:2])))
    second = lake.ingest("leeds/ctr/2024/03/05/09/part-b.gz", gzip.compress(b"\n".join(records[2:4])))
    assert first.dataset_key != second.dataset_key
    assert (first.rows_stored, second.rows_stored, second.replaced_upload_id) == (1, 2, None)
    assert lake.contacts().num_rows == 3


def test_connect_redelivery_without_update_times_is_quarantined_not_duplicated(lake: LocalLake) -> None:
    """Copies that cannot be ordered (no LastUpdateTimestamp): the stored one wins, visibly.

    Dated copies are ordered; see test_connect_redelivery.py.
    """
    first, second = (json.loads(line) for line in CONNECT.read_bytes().splitlines()[:2])
    for record in (first, second):
        del record["LastUpdateTimestamp"]
    lake.ingest("leeds/ctr/2024/03/05/09/part-a.jsonl", json.dumps(first).encode())
    later = lake.ingest("leeds/ctr/2024/03/05/10/part-b.jsonl", json.dumps(second).encode())
    assert later.quarantined_by_rule == {"duplicate.contact_id_across_uploads": 1}
    assert lake.contacts().num_rows == 1


GENESYS_CONTACTS = [
    ("6f1d2a10-0001-4e6a-9c1a-000000000001", "voice", "inbound", "Billing", "u-jane", "answered", 30.0, 305.0, 40.0, 30.0, 0, 1),
    ("6f1d2a10-0002-4e6a-9c1a-000000000002", "voice", "inbound", "Billing", None, "abandoned", 90.0, None, None, None, 0, None),
    ("6f1d2a10-0003-4e6a-9c1a-000000000003", "voice", "inbound", None, None, "self_served", None, None, None, None, 0, None),
    ("6f1d2a10-0004-4e6a-9c1a-000000000004", "voice", "inbound", "Support", "u-ann", "answered", 20.0, 515.0, 0.0, 60.0, 1, 0),
    ("6f1d2a10-0006-4e6a-9c1a-000000000006", "chat", "inbound", "Web Chat", "u-jane", "answered", 30.0, 448.0, 0.0, 15.0, 0, 0),
]  # fmt: skip


def test_genesys_cloud_details_job_pages(lake: LocalLake) -> None:
    manifest = lake.ingest("leeds/genesys/2024-03-05/details-job-results.json", GENESYS.read_bytes())
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined) == (6, 5, 0)
    assert manifest.excluded_by_rule == {"excluded.in_progress": 1}  # a segment is still open
    assert lake.rows(lake.contacts(), *CONTACT) == GENESYS_CONTACTS
    contact = {r["contact_id"]: r for r in lake.contacts().to_pylist()}[
        "6f1d2a10-0001-4e6a-9c1a-000000000001"
    ]
    assert (contact["disposition"], contact["ivr_seconds"], contact["answered_utc"]) == (
        "resolved", 45.0, datetime(2024, 3, 5, 10, 1, 15),
    )  # fmt: skip
    steps = lake.rows(lake.steps(), "contact_id", "step_index", "step_type", "step_name", "step_outcome")
    assert [s[1:] for s in steps if s[0] == "6f1d2a10-0004-4e6a-9c1a-000000000004"] == [
        (0, "queue", "Support", "to_agent"),
        (1, "agent", "u-tom", "transferred"),
        (2, "transfer", "u-ann", "transferred"),
        (3, "agent", "u-ann", "completed"),
    ]
    assert [s[1:] for s in steps if s[0] == "6f1d2a10-0001-4e6a-9c1a-000000000001"] == [
        (0, "ivr_menu", "Main Menu", "queued"),
        (1, "queue", "Billing", "to_agent"),
        (2, "agent", "u-jane", "completed"),
        (3, "hold", "Jane Agent", "resumed"),
    ]


def test_a_real_genesys_response_from_an_older_api_version(lake: LocalLake) -> None:
    """25 real conversations (MIT, MyPureCloud/developer-tools): no conversationEnd, no originatingDirection.

    Every segment has ended, so every conversation is complete (it was all excluded as in progress);
    the 19 outbound preview-dialler records (campaign sessions, wrap-up PREVIEW-SKIPPED) are outbound
    and never answered (they were inbound, answered, with 12-hour "talk"); calls a ``user`` placed get
    the voice channel (it was null).
    """
    manifest = lake.ingest("leeds/genesys/query-result.json", GENESYS_REAL.read_bytes())
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined, manifest.rows_excluded) == (
        25, 25, 0, 0,
    )  # fmt: skip
    contacts = lake.contacts().to_pylist()
    kinds = Counter((c["channel"], c["direction"], c["outcome"]) for c in contacts)
    assert kinds == {
        ("callback", "outbound", "failed"): 19,
        ("chat", "inbound", "answered"): 4,
        ("voice", "outbound", "answered"): 2,
    }
    skipped = [c for c in contacts if c["disposition"] == "ININ-OUTBOUND-PREVIEW-SKIPPED"]
    assert len(skipped) == 19
    assert all(c["answered_utc"] is None and c["talk_seconds"] is None for c in skipped)
    first = {c["contact_id"]: c for c in contacts}["5773eca4-0874-4617-a6e8-85591aa94609"]
    assert first["disconnected_utc"] == datetime(2016, 9, 6, 0, 12, 12, 350000)  # the latest segmentEnd
    assert max(c["talk_seconds"] or 0 for c in contacts) < 3600


def test_genesys_conversations_as_json_lines(lake: LocalLake) -> None:
    pages = GENESYS.read_text().replace("}\n{", "}\x00{").split("\x00")
    conversations = [c for page in pages for c in json.loads(page)["conversations"]]
    jsonl = "\n".join(json.dumps(c) for c in conversations).encode()
    manifest = lake.ingest("leeds/genesys/2024-03-05/conversations.jsonl", jsonl)
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_excluded) == (6, 5, 1)
    assert lake.rows(lake.contacts(), *CONTACT) == GENESYS_CONTACTS


def test_genesys_batches_are_bounded_for_records_and_for_rejects(
    lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rejected records went into one batch however many there were (a file of garbage grew without
    bound); a batch now holds at most ``BATCH_RECORDS`` records or rejects."""
    monkeypatch.setattr("contactlake.ingest.sources.genesys_cloud.BATCH_RECORDS", 2)
    pages = GENESYS.read_text().replace("}\n{", "}\x00{").split("\x00")
    conversations = [json.dumps(c) for page in pages for c in json.loads(page)["conversations"]]
    lines = ["{not json"] * 5 + conversations
    batches: list[int] = []
    manifest = lake.ingest(
        "leeds/genesys/2024-03-05/mixed.jsonl", "\n".join(lines).encode(), progress=batches.append
    )
    assert (manifest.rows_read, manifest.rows_quarantined) == (11, 5)
    assert max(batches) <= 3  # two records or rejects, and the in-progress conversation it excluded
    assert len([n for n in batches if n]) >= 5
    assert sum(batches) == 11


def test_cisco_ucce_termination_call_detail(lake: LocalLake) -> None:
    manifest = lake.ingest("leeds/tcd/tcd-2024-03-05.csv", UCCE.read_bytes())
    # 11 legs: 5 calls stored, 2 calls quarantined, the other legs of multi-leg calls merged.
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined, manifest.rows_excluded) == (
        11, 5, 2, 4,
    )  # fmt: skip
    assert manifest.excluded_by_rule == {"merged.call_leg": 4}
    assert manifest.quarantined_by_rule == {"disposition.unknown_code": 1, "timestamp.invalid": 1}
    assert lake.rows(lake.contacts(), *CONTACT) == [
        ("153001-1001", "voice", "inbound", "5201", "5101", "answered", 29.0, 200.0, 30.0, 20.0, 0, None),
        ("153001-1002", "voice", "inbound", "5201", None, "abandoned", 95.0, None, None, None, 0, None),
        ("153001-1003", "voice", "inbound", None, None, "self_served", 0.0, None, None, None, 0, None),
        ("153001-1004", "voice", "inbound", "5202", "5103", "answered", 25.0, 610.0, 20.0, 55.0, 1, None),
        ("P5000-81000-20240305120040000", "voice", "inbound", None, "5101", "answered", 0.0, 40.0, 0.0, 0.0, 0, None),
    ]  # fmt: skip
    first = {r["contact_id"]: r for r in lake.contacts().to_pylist()}["153001-1001"]
    # Local (Europe/London, GMT in March) times: leg start = DateTime - Duration; answer after the waits.
    assert (first["initiated_utc"], first["answered_utc"], first["disconnected_utc"], first["disposition"]) == (
        datetime(2024, 3, 5, 9, 0), datetime(2024, 3, 5, 9, 1, 4), datetime(2024, 3, 5, 9, 4, 54), "Billing query",
    )  # fmt: skip
    quarantine = {q["rule_id"]: q for q in lake.quarantine().to_pylist()}
    unknown = quarantine["disposition.unknown_code"]
    assert unknown["source_line"] == 8
    assert unknown["raw_text"].count("\n") == 1  # both legs of the call are kept, for a replay
    assert quarantine["timestamp.invalid"]["source_line"] == 11
    steps = lake.rows(lake.steps(), "contact_id", "step_index", "step_type", "step_name", "step_outcome")
    assert [s[1:] for s in steps if s[0] == "153001-1004"] == [
        (0, "ivr_menu", "6001", "disposition 13"),
        (1, "queue", "5202", "disposition 13"),
        (2, "agent", "5102", "completed"),
        (3, "transfer", "5203", "transferred"),
        (4, "agent", "5103", "completed"),
        (5, "hold", "5103", "resumed"),
    ]


def test_generic_csv_agent_activity(lake: LocalLake) -> None:
    text = (
        "agent,team,state,start,end\n"
        "NOR001,team-1,STAFFED,2024-03-05T08:00:00,2024-03-05T16:00:00\n"
        "NOR001,team-1,BREAK,2024-03-05T10:00:00,2024-03-05T10:15:00\n"
        "NOR002,,TRAINING,2024-03-05T09:00:00+00:00,2024-03-05T09:30:00+00:00\n"
        "NOR003,team-2,LUNCH,2024-03-05T12:00:00,2024-03-05T12:30:00\n"
        "NOR004,team-2,ACW,2024-03-05T12:00:00,2024-03-05T11:59:00\n"
    )
    manifest = lake.ingest("north/agents/agents-2024-03-05.csv", text.encode())
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined, manifest.agent_activity_stored) == (
        5, 3, 2, 3,
    )  # fmt: skip
    assert lake.rows(lake.activity(), "agent_id", "team", "state", "duration_seconds", "source_line") == [
        ("NOR001", "team-1", "break", 900.0, 3),
        ("NOR001", "team-1", "staffed", 28800.0, 2),
        ("NOR002", None, "training", 1800.0, 4),
    ]
    assert lake.rows(lake.quarantine(), "source_line", "rule_id") == [
        (5, "state.unknown_code"),
        (6, "time.end_before_start"),
    ]


def test_an_impossible_step_time_in_a_ctr_flags_the_contact_and_its_step(lake: LocalLake) -> None:
    """Issue 15 item 5: it silently became a NULL pathway step end. A time that does not place the contact
    is a flag (issue 14): the contact and the step are stored with ``timestamp.invalid``, the time null;
    a centre that raises the flag rejects the contact."""
    record = json.loads(CONNECT.read_bytes().splitlines()[0])
    record["Queue"]["DequeueTimestamp"] = "2024-03-05T25:61:10Z"
    good = next(
        json.loads(line)
        for line in CONNECT.read_bytes().splitlines()
        if json.loads(line)["ContactId"] != record["ContactId"]
    )
    data = (json.dumps(record) + "\n" + json.dumps(good) + "\n").encode()
    manifest = lake.ingest("leeds/ctr/2024/03/05/09/part-x.jsonl", data)
    assert manifest.reconciles
    assert manifest.quarantined_by_rule == {}
    assert manifest.flagged_by_rule["timestamp.invalid"] == 1
    flags = dict(lake.rows(lake.contacts(), "contact_id", "quality_flags"))
    assert "timestamp.invalid" in flags[record["ContactId"]]
    steps = [s for s in lake.steps().to_pylist() if s["contact_id"] == record["ContactId"]]
    flagged = [s for s in steps if s["quality_flags"] == "timestamp.invalid"]
    assert len(flagged) == 1
    assert None in (flagged[0]["started_utc"], flagged[0]["ended_utc"])

    raw = centres()
    raw["centres"]["leeds"]["reject_flags"] = ["timestamp.invalid"]
    lake.config = parse_app_config(raw, source_path=lake.config.source_path)
    strict = lake.ingest("leeds/ctr/2024/03/05/09/part-y.jsonl", data)
    assert strict.quarantined_by_rule == {"timestamp.invalid": 1}
