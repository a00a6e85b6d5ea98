"""An Asterisk queue_log day becomes contacts, agent activity and pathway steps, every line accounted for."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from contactlake.config import parse_app_config
from tests.fixtures.lakes import FIXTURES, LocalLake, centres

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
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined, manifest.rows_excluded) == (
        25, 8, 1, 16,
    )  # fmt: skip
    assert manifest.excluded_by_rule == {
        "excluded.in_progress": 2,  # the call still talking when the log rotated: its end is in the next file
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
