"""The real "Anonymous Bank" October 1999 file, and the adapter's mapping rules on hand-made lines."""

from __future__ import annotations

import gzip
from datetime import datetime

import pyarrow.compute as pc
import pytest

from tests.fixtures.lakes import SAMPLE_DATA, LocalLake

OCTOBER = SAMPLE_DATA / "anonymous_bank" / "october.txt.gz"
HEADER = (
    "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit\t"
    "q_time\toutcome\tser_start\tser_exit\tser_time\tserver\n"
)


@pytest.mark.slow
def test_october_file_every_line_accounted_for(lake: LocalLake) -> None:
    data = OCTOBER.read_bytes()
    lines = gzip.decompress(data).count(b"\n")
    manifest = lake.ingest("anonbank/calls/october.txt.gz", data)

    assert manifest.status == "stored"
    assert manifest.rows_read == lines - 1 == 34_625
    assert manifest.rows_read == manifest.rows_stored + manifest.rows_quarantined + manifest.rows_excluded
    # Every non-phantom, well-formed call is stored; clocks that disagree are flagged, not quarantined.
    assert (manifest.rows_stored, manifest.rows_quarantined, manifest.rows_excluded) == (34_476, 2, 147)
    assert manifest.excluded_by_rule == {"excluded.phantom": 147}
    assert manifest.quarantined_by_rule == {"row.ragged": 2}  # priority and type joined by spaces: 16 fields
    assert manifest.rows_flagged == 93
    assert manifest.flagged_by_rule == {
        "duration.negative": 4,  # the VRU exit is before the VRU entry (vru_time nulled)
        "outcome.inconsistent": 22,  # AGENT without service times
        "time.duration_mismatch": 67,  # a recorded duration disagrees with its two timestamps
        "time.end_before_start": 4,  # the same 4 VRU exits
    }
    assert len(manifest.coverage) == 31
    assert sum(manifest.coverage.values()) == 34_476
    assert manifest.pathway_steps_stored == 77_299
    ragged = lake.quarantine().filter(pc.equal(lake.quarantine().column("rule_id"), "row.ragged"))
    assert sorted(ragged.column("source_line").to_pylist()) == [7315, 14247]

    contacts = lake.contacts()
    assert contacts.num_rows == 34_476
    outcomes = dict(zip(*pc.value_counts(contacts.column("outcome")).flatten(), strict=True))
    assert {k.as_py(): v.as_py() for k, v in outcomes.items()} == {
        "answered": 30_861,
        "abandoned": 2_106,  # 83 hang-ups at the service stage among them, no longer quarantined
        "ivr_abandoned": 1_509,
    }
    # Figures beside the paper's (whole-year or Jan–Oct figures; a month is a sanity range).
    answered = contacts.filter(pc.equal(contacts.column("outcome"), "answered"))
    queued_answered = answered.filter(pc.greater(answered.column("queue_seconds"), 0)).num_rows
    abandon_share = 2_106 / (queued_answered + 2_106)
    assert queued_answered == 9_811
    assert 0.15 < abandon_share < 0.25  # paper: about 20 % of those who wait abandon
    # 22 AGENT calls have no service time (flagged outcome.inconsistent): they have no talk to average.
    service = pc.min_element_wise(answered.column("talk_seconds").drop_null(), 3600.0)
    assert round(pc.mean(service).as_py(), 1) == 179.8  # paper: mean 185 s (served calls, Jan–Oct)
    assert 150 < pc.mean(service).as_py() < 220
    days = pc.unique(pc.cast(contacts.column("initiated_local"), "date32")).to_pylist()
    assert len(days) == 31
    # No raw customer id is stored: identified callers have a 32-hex keyed hash, others none.
    keys = contacts.column("customer_key").drop_null()
    assert pc.all(pc.match_substring_regex(keys, "^[0-9a-f]{32}$")).as_py()


def _line(*fields: str) -> str:
    return "\t".join(fields) + "\n"


def test_mapping_rules_on_hand_made_calls(lake: LocalLake) -> None:
    text = HEADER + "".join(
        [
            # answered after 30 s in queue; customer 12345678; agent DORIT
            _line("AA0101", "1", "12345678", "2", "PS", "991005", "9:00:00", "9:00:10", "10", "9:00:10",
                  "9:00:40", "30", "AGENT", "9:00:40", "9:03:00", "140", "DORIT"),
            # entered the VRU before midnight, served after it: the service belongs to the next day
            _line("AA0101", "2", "0", "0", "PE", "991005", "23:59:50", "23:59:58", "8", "0:00:00",
                  "0:00:00", "0", "AGENT", "0:00:05", "0:01:05", "60", "BASCH"),
            # hung up in queue after 45 s
            _line("AA0102", "3", "0", "1", "NW", "991005", "10:00:00", "10:00:05", "5", "10:00:05",
                  "10:00:50", "45", "HANG", "0:00:00", "0:00:00", "0", "NO_SERVER"),
            # hung up in the VRU, never queued
            _line("AA0102", "4", "0", "0", "IN", "991005", "11:00:00", "11:00:20", "20", "0:00:00",
                  "0:00:00", "0", "HANG", "0:00:00", "0:00:00", "0", "NO_SERVER"),
            # a virtual call: excluded, not quarantined
            _line("AA0103", "5", "0", "0", "PS", "991005", "12:00:00", "12:00:05", "5", "12:00:05",
                  "12:00:06", "1", "PHANTOM", "12:00:06", "12:00:07", "1", "NO_SERVER"),
            # a callback put on hold (type TT), served without a named agent
            _line("AA0104", "6", "33333333", "2", "TT", "991005", "13:00:00", "13:00:02", "2", "13:00:02",
                  "13:01:02", "60", "AGENT", "13:01:03", "13:02:03", "60", "NO_SERVER"),
            # q_time says 30 s but the timestamps say 60 s: stored, flagged, the recorded 30 s kept
            _line("AA0105", "7", "0", "0", "PS", "991005", "14:00:00", "14:00:10", "10", "14:00:10",
                  "14:01:10", "30", "HANG", "0:00:00", "0:00:00", "0", "NO_SERVER"),
            # a 1-second clock skew passes (tolerance 2 s)
            _line("AA0105", "8", "0", "0", "PS", "991005", "15:00:00", "15:00:10", "11", "0:00:00",
                  "0:00:00", "0", "AGENT", "15:00:10", "15:01:10", "60", "GILI"),
            # a hang-up that reached the service stage (real: 83 in a month): abandoned, never answered
            _line("AA0106", "9", "0", "0", "PS", "991005", "16:00:00", "16:00:10", "10", "16:00:10",
                  "16:00:40", "30", "HANG", "16:00:40", "16:00:42", "2", "NO_SERVER"),
            # a service type the documentation does not list: stored with a flag, the code as the queue
            _line("AA0106", "10", "0", "0", "ZZ", "991005", "17:00:00", "17:00:10", "10", "0:00:00",
                  "0:00:00", "0", "HANG", "0:00:00", "0:00:00", "0", "NO_SERVER"),
            # an outcome the documentation does not list: quarantined, the code in the message
            _line("AA0106", "11", "0", "0", "PS", "991005", "18:00:00", "18:00:10", "10", "0:00:00",
                  "0:00:00", "0", "BUSY", "0:00:00", "0:00:00", "0", "NO_SERVER"),
        ]
    )  # fmt: skip
    manifest = lake.ingest("anonbank/calls/sample-991005.txt", text.encode())
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined, manifest.rows_excluded) == (
        11, 9, 1, 1,
    )  # fmt: skip
    assert manifest.excluded_by_rule == {"excluded.phantom": 1}
    assert (manifest.rows_flagged, manifest.flagged_by_rule) == (
        2, {"time.duration_mismatch": 1, "queue.unknown_code": 1},
    )  # fmt: skip
    quarantined = lake.quarantine().to_pylist()
    assert [(q["source_line"], q["rule_id"], q["message"]) for q in quarantined] == [
        (12, "outcome.unknown_code", "outcome 'BUSY' is not AGENT, HANG or PHANTOM; export one of them"),
    ]
    flags = lake.rows(lake.contacts(), "contact_id", "quality_flags", "queue_seconds")
    assert [f for f in flags if f[1]] == [
        ("991005-AA0105-7", "time.duration_mismatch", 30.0),
        ("991005-AA0106-10", "queue.unknown_code", None),
    ]
    rows = {
        r["contact_id"]: r
        for r in lake.contacts()
        .select(
            [
                "contact_id",
                "outcome",
                "queue",
                "agent_id",
                "channel",
                "direction",
                "initiated_utc",
                "answered_utc",
                "disconnected_utc",
                "queue_seconds",
                "talk_seconds",
                "ivr_seconds",
                "customer_key",
            ]
        )
        .to_pylist()
    }
    assert set(rows) == {f"991005-{v}" for v in ("AA0101-1", "AA0101-2", "AA0102-3", "AA0102-4",
                                                 "AA0104-6", "AA0105-7", "AA0105-8", "AA0106-9",
                                                 "AA0106-10")}  # fmt: skip
    hung_up_at_service = rows["991005-AA0106-9"]
    assert (hung_up_at_service["outcome"], hung_up_at_service["answered_utc"]) == ("abandoned", None)
    assert (hung_up_at_service["queue_seconds"], hung_up_at_service["talk_seconds"]) == (30.0, None)
    assert rows["991005-AA0106-10"]["queue"] == "ZZ"
    first = rows["991005-AA0101-1"]
    # Israel was on standard time (UTC+2) in October 1999.
    assert (first["initiated_utc"], first["answered_utc"], first["disconnected_utc"]) == (
        datetime(1999, 10, 5, 7, 0), datetime(1999, 10, 5, 7, 0, 40), datetime(1999, 10, 5, 7, 3),
    )  # fmt: skip
    assert (first["outcome"], first["queue"], first["agent_id"], first["queue_seconds"]) == (
        "answered", "PS", "DORIT", 30.0,
    )  # fmt: skip
    assert first["customer_key"] is not None
    assert first["customer_key"] != "12345678"
    midnight = rows["991005-AA0101-2"]
    assert midnight["answered_utc"] == datetime(1999, 10, 5, 22, 0, 5)  # 00:00:05 on the 6th, local
    assert midnight["queue_seconds"] == 0.0
    assert midnight["customer_key"] is None
    assert rows["991005-AA0102-3"]["outcome"] == "abandoned"
    assert rows["991005-AA0102-4"]["outcome"] == "ivr_abandoned"
    callback = rows["991005-AA0104-6"]
    assert (callback["channel"], callback["direction"], callback["agent_id"]) == (
        "callback",
        "outbound",
        None,
    )
    assert rows["991005-AA0105-8"]["outcome"] == "answered"
    steps = lake.rows(lake.steps(), "contact_id", "step_index", "step_type", "step_name", "step_outcome")
    assert [s for s in steps if s[0] == "991005-AA0101-1"] == [
        ("991005-AA0101-1", 0, "ivr_menu", "AA0101", "queued"),
        ("991005-AA0101-1", 1, "queue", "PS", "answered"),
        ("991005-AA0101-1", 2, "agent", "DORIT", "completed"),
    ]
    assert [s for s in steps if s[0] == "991005-AA0102-4"] == [
        ("991005-AA0102-4", 0, "ivr_menu", "AA0102", "abandoned"),
    ]
