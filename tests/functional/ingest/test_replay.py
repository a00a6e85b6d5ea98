"""Replay after a mapping fix: quarantined rows become stored rows, nothing is duplicated, twice is once."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactlake.pipeline import ReplayError, replay_upload
from tests.fixtures.lakes import LocalLake

MAPPING = """
kind = "contacts"
[columns]
contact_id = "id"
initiated = "start"
disconnected = "end"
outcome = "result"
queue = "queue"
[values.outcome]
ANS = "answered"
IVR = "self_served"
{extra}
[defaults]
channel = "voice"
"""
EXPORT = (
    b"id,start,end,result,queue\n"
    b"R1,2024-02-01T09:00:00,2024-02-01T09:01:00,IVR,\n"
    b"R2,2024-02-01T09:05:00,2024-02-01T09:06:00,XFR,billing\n"
    b"R3,2024-02-01T09:10:00,2024-02-01T09:11:00,IVR,\n"
    b"R4,2024-02-01T09:15:00,2024-02-01T09:16:00,XFR,sales\n"
)
KEY = "north/calls/calls-2024-02-01.csv"


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    lake = LocalLake.create(tmp_path, mappings={"calls": "calls.toml"})
    lake.write_mapping("calls.toml", MAPPING.format(extra=""))
    return lake


def replay(lake: LocalLake, upload_id: str):  # type: ignore[no-untyped-def]
    return replay_upload(lake.ports, lake.config, lake.settings, upload_id)


def test_replay_after_a_mapping_fix_moves_quarantined_rows_into_the_lake(lake: LocalLake) -> None:
    first = lake.ingest(KEY, EXPORT)
    assert (first.rows_stored, first.quarantined_by_rule) == (2, {"outcome.unknown_code": 2})
    assert lake.rows(lake.quarantine(), "source_line", "rule_id", "upload_id") == [
        (3, "outcome.unknown_code", first.upload_id),
        (5, "outcome.unknown_code", first.upload_id),
    ]
    # Before the fix a replay changes nothing.
    before = lake.digest()
    assert replay(lake, first.upload_id) == first
    assert lake.digest() == before

    lake.write_mapping("calls.toml", MAPPING.format(extra='XFR = "callback_requested"'))
    fixed = replay(lake, first.upload_id)
    assert fixed.upload_id != first.upload_id
    assert (fixed.rows_read, fixed.rows_stored, fixed.rows_quarantined) == (4, 4, 0)
    assert fixed.rows_stored == first.rows_stored + first.rows_quarantined
    assert fixed.replaced_upload_id == first.upload_id
    assert lake.quarantine().num_rows == 0
    assert lake.rows(lake.contacts(), "contact_id", "outcome", "upload_id") == [
        ("R1", "self_served", fixed.upload_id),
        ("R2", "callback_requested", fixed.upload_id),
        ("R3", "self_served", fixed.upload_id),
        ("R4", "callback_requested", fixed.upload_id),
    ]
    assert lake.manifest(first.upload_id)["status"] == "replaced"
    log = sorted((r["upload_id"], r["status"], r["rows_quarantined"]) for r in lake.ingest_log().to_pylist())
    assert log == sorted([(first.upload_id, "replaced", 2), (fixed.upload_id, "stored", 0)])

    # Replaying again — the new processing, or a duplicate event for the raw object — changes nothing.
    after = lake.digest()
    assert replay(lake, fixed.upload_id) == fixed
    assert lake.ingest(KEY) == fixed
    assert lake.digest() == after
    with pytest.raises(ReplayError, match=f"replaced by {fixed.upload_id}"):
        replay(lake, first.upload_id)


def test_replay_of_a_file_rejected_whole_after_a_column_fix(lake: LocalLake) -> None:
    lake.write_mapping(
        "calls.toml",
        MAPPING.format(extra="")
        .replace('queue = "queue"', 'queue = "queue"\nagent_id = "agent"')
        .replace('outcome = "result"', 'outcome = "outcome"'),
    )
    rejected = lake.ingest(KEY, EXPORT)
    assert (rejected.status, rejected.quarantined_by_rule) == ("rejected", {"header.missing_column": 1})
    lake.write_mapping("calls.toml", MAPPING.format(extra='XFR = "callback_requested"'))
    fixed = replay(lake, rejected.upload_id)
    assert (fixed.status, fixed.rows_stored, fixed.rows_quarantined) == ("stored", 4, 0)
    assert lake.quarantine().num_rows == 0
    assert lake.manifest(rejected.upload_id)["status"] == "replaced"
    assert lake.contacts().num_rows == 4


def test_replay_refuses_what_it_cannot_do(lake: LocalLake) -> None:
    with pytest.raises(ReplayError, match="no manifest"):
        replay(lake, "north-calls-0000000000000000")
    first = lake.ingest(KEY, EXPORT)
    lake.put(KEY, EXPORT.replace(b"R4", b"R5"))  # the raw object was overwritten since
    with pytest.raises(ReplayError, match="changed since upload"):
        replay(lake, first.upload_id)
    lake.ports.store.delete("raw", [KEY])
    with pytest.raises(ReplayError, match="no longer exists"):
        replay(lake, first.upload_id)
