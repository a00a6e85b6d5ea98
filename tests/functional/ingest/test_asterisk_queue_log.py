"""An Asterisk queue_log day becomes contacts, agent activity and pathway steps, every line accounted for."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow.compute as pc
import pytest

from contactlake.commit.committer import Manifest
from contactlake.config import parse_app_config
from contactlake.ingest.carry import load_carried
from contactlake.pii import pseudonymise
from contactlake.pipeline import commit_staged, stage_upload
from tests.fixtures.lakes import FIXTURES, PII_KEY, LocalLake, centres

QUEUE_LOG = FIXTURES / "asterisk" / "queue_log-2024-03-05"
CSV_HEADER = "time,callid,queuename,agent,event,data1,data2,data3,data4,data5\n"


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    raw = centres()
    raw["centres"]["leeds"]["sources"]["pbx"] = {"adapter": "asterisk_queue_log"}
    lake = LocalLake.create(tmp_path)
    lake.config = parse_app_config(raw, source_path=str(tmp_path / "config" / "contactlake.toml"))
    return lake


def _check_day(lake: LocalLake, key: str, data: bytes) -> None:
    manifest = lake.ingest(key, data)
    assert manifest.status == "stored"
    assert (
        manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined, manifest.rows_excluded,
        manifest.rows_carried,
    ) == (25, 8, 1, 14, 2)  # fmt: skip
    # The call still talking when the log rotated (ENTERQUEUE, CONNECT): carried to the next upload.
    assert manifest.reconciles
    assert manifest.excluded_by_rule == {
        "excluded.queue_log_noise": 2,  # QUEUESTART, CONFIGRELOAD
        "merged.member_event": 3,  # the opening event of each agent span
        "merged.queue_event": 8,  # a call's events after its first
        "row.blank_line": 1,  # NUL bytes only
    }
    assert manifest.quarantined_by_rule == {"event.unknown_code": 1}
    assert "'TELEPORT'" in lake.quarantine().column("message")[0].as_py()
    assert (manifest.agent_activity_stored, manifest.pathway_steps_stored) == (3, 9)
    contacts = lake.rows(
        lake.contacts(), "contact_id", "queue", "agent_id", "outcome", "queue_seconds", "talk_seconds",
        "transfer_count", "answered_utc", "quality_flags",
    )  # fmt: skip
    assert contacts == [
        ("1709629200.11", "support", "Agent/1001", "answered", 20.0, 180.0, 0, datetime(2024, 3, 5, 9, 0, 20), None),
        ("1709629260.21", "support", None, "abandoned", 35.0, None, 0, None, None),
        ("1709629320.31", "sales", None, "transferred", 300.0, None, 0, None, None),
        ("1709629700.41", "support", "PJSIP/1002", "answered", 5.0, 60.0, 1, datetime(2024, 3, 5, 9, 8, 25), None),
        ("1709629900.51", "support", None, "transferred", 12.0, None, 0, None, None),
    ]  # fmt: skip
    assert all(key is not None for key in lake.contacts().column("customer_key").to_pylist())
    steps = lake.rows(lake.steps(), "contact_id", "step_index", "step_type", "step_name", "step_outcome")
    assert [s[1:] for s in steps if s[0] == "1709629200.11"] == [
        (0, "queue", "support", "to_agent"),
        (1, "agent", "PJSIP/1002", "no_answer"),  # rang 8 s, no answer
        (2, "agent", "Agent/1001", "completed"),
    ]
    activity = lake.rows(lake.activity(), "agent_id", "team", "state", "duration_seconds")
    assert activity == [
        ("Agent/1001", None, "staffed", 3900.0),
        ("PJSIP/1002", "support", "break", 1800.0),
        ("PJSIP/1002", "support", "staffed", 3790.0),
    ]


def test_a_raw_queue_log_day(lake: LocalLake) -> None:
    _check_day(lake, "leeds/pbx/queue_log-2024-03-05", QUEUE_LOG.read_bytes())


def test_the_csv_export_a_pbx_front_end_makes_of_the_same_day(lake: LocalLake) -> None:
    lines = QUEUE_LOG.read_text().splitlines()
    rows = [",".join(line.split("|")) if line.strip("\x00") else line for line in lines]
    data = (CSV_HEADER + "\n".join(rows) + "\n").encode()
    manifest_key = "leeds/pbx/queue_log-2024-03-05.csv"
    # The header is one more line read, counted as row.header.
    manifest = lake.ingest(manifest_key, data)
    assert manifest.rows_read == 26
    assert manifest.excluded_by_rule["row.header"] == 1
    assert manifest.rows_stored == 8


NIGHT, NEXT_DAY, DAY_AFTER = (
    FIXTURES / "asterisk" / name
    for name in ("queue_log-2024-03-05-night", "queue_log-2024-03-06", "queue_log-2024-03-07")
)


def _counts(manifest: Manifest) -> tuple[int, ...]:
    return (
        manifest.rows_read, manifest.rows_carried_in, manifest.rows_stored, manifest.rows_quarantined,
        manifest.rows_excluded, manifest.rows_carried,
    )  # fmt: skip


def test_a_call_whose_end_is_in_the_next_file_is_carried_and_stored_once(lake: LocalLake) -> None:
    night = lake.ingest("leeds/pbx/queue_log-2024-03-05-night", NIGHT.read_bytes())
    # read, carried in, stored, quarantined, excluded, carried: the call talking at midnight (2 events),
    # the one queued at 23:58 and the agent added at 23:00 are carried, not dropped.
    assert _counts(night) == (6, 0, 1, 0, 1, 4)
    assert night.reconciles
    assert night.carried_from is None
    assert lake.rows(lake.contacts(), "contact_id") == [("1709682660.81",)]
    state = list((lake.home / "lake" / "manifests" / "carried" / "leeds" / "pbx").glob("*.json"))
    assert state
    assert all("7700900" not in path.read_text() for path in state)

    morning = lake.ingest("leeds/pbx/queue_log-2024-03-06", NEXT_DAY.read_bytes())
    # Its 4 lines and the 4 carried in: the call ended after midnight, the agent span and a new call
    # stored; the call queued at 23:58 is still open and carried on.
    assert _counts(morning) == (4, 4, 3, 0, 4, 1)
    assert morning.reconciles
    assert morning.carried_from == night.upload_id
    assert morning.excluded_by_rule == {"merged.member_event": 1, "merged.queue_event": 3}
    contacts = lake.rows(
        lake.contacts(), "contact_id", "outcome", "queue_seconds", "talk_seconds", "initiated_local",
        "agent_id", "customer_key", "upload_id",
    )  # fmt: skip
    assert [c[:6] for c in contacts] == [
        ("1709682600.71", "answered", 30.0, 870.0, datetime(2024, 3, 5, 23, 50), "PJSIP/1003"),
        ("1709682660.81", "abandoned", 60.0, None, datetime(2024, 3, 5, 23, 51), None),
        ("1709683800.01", "transferred", 40.0, None, datetime(2024, 3, 6, 0, 10), None),
    ]
    # The carried call keeps its caller's keyed hash (the state held the hash, never the number).
    assert contacts[0][6] == pseudonymise("+447700900777", PII_KEY)
    assert contacts[0][7] == morning.upload_id
    assert morning.coverage == {"2024-03-05": 2, "2024-03-06": 1}  # the call and the span began on the 5th
    steps = lake.rows(lake.steps(), "contact_id", "step_index", "step_type", "step_outcome")
    assert [s[1:] for s in steps if s[0] == "1709682600.71"] == [
        (0, "queue", "to_agent"),
        (1, "agent", "completed"),
    ]
    assert lake.rows(lake.activity(), "agent_id", "state", "duration_seconds") == [
        ("PJSIP/1003", "staffed", 3960.0)
    ]

    # Re-processing the same upload changes nothing: no second copy of the carried call.
    before = lake.digest()
    again = lake.ingest("leeds/pbx/queue_log-2024-03-06")
    assert again.upload_id == morning.upload_id
    assert lake.digest() == before

    later = lake.ingest("leeds/pbx/queue_log-2024-03-07", DAY_AFTER.read_bytes())
    # The call queued at 23:58 on the 5th never ended: more than the 24 h horizon before this file's
    # newest event, it is quarantined with the reason; nothing is carried any more.
    assert _counts(later) == (2, 1, 1, 1, 1, 0)
    assert later.reconciles
    assert later.quarantined_by_rule == {"carried.expired": 1}
    message = lake.quarantine().filter(pc.equal(lake.quarantine().column("rule_id"), "carried.expired"))
    text = message.column("message")[0].as_py()
    assert "ENTERQUEUE at 2024-03-05T23:58:00" in text
    assert night.upload_id in text
    assert "24 h carry" in text
    # A retry or a replay of the middle upload reads what its first processing read, not the latest state.
    again_reads = load_carried(lake.ports.store, "leeds", "pbx", "leeds/pbx/queue_log-2024-03-06")
    assert again_reads.upload_id == night.upload_id
    assert len(again_reads.records) == 4
    assert (
        load_carried(lake.ports.store, "leeds", "pbx", "leeds/pbx/queue_log-2024-03-08").upload_id
        == later.upload_id
    )
    # Over the three uploads every line is in exactly one place.
    total = [night, morning, later]
    assert sum(m.rows_read for m in total) == 12
    assert sum(m.rows_stored + m.rows_quarantined + m.rows_excluded for m in total) == 12


def test_the_carried_call_is_stored_as_if_the_log_had_not_been_cut(tmp_path: Path, lake: LocalLake) -> None:
    lake.ingest("leeds/pbx/queue_log-2024-03-05-night", NIGHT.read_bytes())
    lake.ingest("leeds/pbx/queue_log-2024-03-06", NEXT_DAY.read_bytes())
    columns = ("contact_id", "outcome", "initiated_utc", "answered_utc", "disconnected_utc", "queue_seconds",
               "talk_seconds", "customer_key", "agent_id", "quality_flags")  # fmt: skip
    cut = lake.rows(lake.contacts(), *columns)
    whole = LocalLake.create(tmp_path / "whole")
    whole.config = lake.config
    whole.ingest("leeds/pbx/queue_log-2024-03-05-06", NIGHT.read_bytes() + NEXT_DAY.read_bytes())
    assert cut == whole.rows(whole.contacts(), *columns)


def test_the_staged_path_carries_the_same_records(lake: LocalLake) -> None:
    lake.ingest("leeds/pbx/queue_log-2024-03-05-night", NIGHT.read_bytes())
    lake.put("leeds/pbx/queue_log-2024-03-06", NEXT_DAY.read_bytes())
    upload_id = stage_upload(lake.ports, lake.config, lake.settings, "leeds/pbx/queue_log-2024-03-06")
    assert isinstance(upload_id, str)
    manifest = commit_staged(lake.ports, lake.config, f"staging/{upload_id}/_ready.json").manifest
    assert _counts(manifest) == (4, 4, 3, 0, 4, 1)


def test_a_carried_call_can_wait_longer_when_the_source_says_so(tmp_path: Path) -> None:
    raw = centres()
    raw["centres"]["leeds"]["sources"]["pbx"] = {"adapter": "asterisk_queue_log", "carry_horizon_hours": 48}
    lake = LocalLake.create(tmp_path)
    lake.config = parse_app_config(raw, source_path=str(tmp_path / "config" / "contactlake.toml"))
    for path in (NIGHT, NEXT_DAY):
        lake.ingest(f"leeds/pbx/{path.name}", path.read_bytes())
    later = lake.ingest("leeds/pbx/queue_log-2024-03-07", DAY_AFTER.read_bytes())
    assert _counts(later) == (2, 1, 1, 0, 1, 1)  # 33 h after its last event: still waiting for its end


def test_an_agent_session_whose_logintime_disagrees_is_stored_with_a_flag(
    tmp_path: Path, lake: LocalLake
) -> None:
    # AGENTLOGIN at 08:15, AGENTLOGOFF at 09:20 (3,900 s) saying the session lasted 3,000 s.
    data = QUEUE_LOG.read_bytes().replace(
        b"AGENTLOGOFF|PJSIP/1001-00000001|3900", b"AGENTLOGOFF|PJSIP/1001-00000001|3000"
    )
    manifest = lake.ingest("leeds/pbx/queue_log-2024-03-05", data)
    assert manifest.flagged_by_rule == {"time.duration_mismatch": 1}
    assert manifest.rows_flagged == 1
    assert lake.rows(lake.activity(), "agent_id", "state", "duration_seconds", "quality_flags") == [
        ("Agent/1001", "staffed", 3900.0, "time.duration_mismatch"),  # kept: the timestamps' duration
        ("PJSIP/1002", "break", 1800.0, None),
        ("PJSIP/1002", "staffed", 3790.0, None),
    ]
    raw = centres()
    raw["centres"]["leeds"]["sources"]["pbx"] = {"adapter": "asterisk_queue_log"}
    raw["centres"]["leeds"]["reject_flags"] = ["time.duration_mismatch"]
    strict = LocalLake.create(tmp_path / "strict")
    strict.config = parse_app_config(
        raw, source_path=str(tmp_path / "strict" / "config" / "contactlake.toml")
    )
    refused = strict.ingest("leeds/pbx/queue_log-2024-03-05", data)
    assert refused.reconciles
    assert refused.quarantined_by_rule == {"event.unknown_code": 1, "time.duration_mismatch": 1}
    assert refused.agent_activity_stored == 2
