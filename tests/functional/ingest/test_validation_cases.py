"""Every bad input of the issue's list, each with its exact outcome; a re-run of any of them changes nothing.

The generic CSV cases use a small mapping (``calls.toml`` below) so each row reads at a glance:
``id,start,queued,answered,end,wait,talk,result,caller,queue,notes``.
"""

from __future__ import annotations

import codecs
import gzip
import json
from datetime import datetime
from pathlib import Path

import pytest

from contactlake.commit.committer import Manifest
from contactlake.config import parse_app_config
from tests.fixtures.lakes import FIXTURES, LocalLake, centres

MAPPING = """
kind = "contacts"
[csv]
delimiter = ","
thousands = "_"
[time]
format = "iso8601"
zone = "centre"
[columns]
contact_id = "id"
initiated = "start"
enqueued = "queued"
answered = "answered"
disconnected = "end"
queue_seconds = "wait"
talk_seconds = "talk"
outcome = "result"
caller = "caller"
queue = "queue"
disposition = "notes"
[values.outcome]
ANS = "answered"
ABN = "abandoned"
IVR = "self_served"
[defaults]
channel = "voice"
"""
HEADER = "id,start,queued,answered,end,wait,talk,result,caller,queue,notes"
GOOD = [
    "C1,2024-01-15T09:00:00,2024-01-15T09:00:10,2024-01-15T09:00:30,2024-01-15T09:05:30,20,300,ANS,+44 7700 900001,billing,",
    "C2,2024-01-15T09:10:00,2024-01-15T09:10:05,,2024-01-15T09:11:05,60,,ABN,+44 7700 900002,sales,",
    "C3,2024-01-15T09:20:00,,,2024-01-15T09:21:00,,,IVR,+44 7700 900003,,",
]  # fmt: skip


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    lake = LocalLake.create(tmp_path, mappings={"calls": "calls.toml"})
    lake.write_mapping("calls.toml", MAPPING)
    return lake


def run(lake: LocalLake, key: str, data: bytes) -> Manifest:
    """Ingest, check the counts reconcile, then prove a re-run leaves the lake byte-for-byte as it was."""
    manifest = lake.ingest(key, data)
    assert manifest.rows_read == manifest.rows_stored + manifest.rows_quarantined + manifest.rows_excluded
    before = lake.digest()
    again = lake.ingest(key)
    assert again.upload_id == manifest.upload_id
    assert lake.digest() == before
    return manifest


def csv(*rows: str, header: str = HEADER, end: str = "\n") -> bytes:
    return end.join([header, *rows]).encode() + end.encode()


def stored_ids(lake: LocalLake) -> list[str]:
    contacts = lake.contacts()
    return sorted(contacts.column("contact_id").to_pylist()) if contacts.num_rows else []


def quarantined(lake: LocalLake) -> list[tuple[int | None, str]]:
    return lake.rows(lake.quarantine(), "source_line", "rule_id")


def test_zero_byte_object_is_quarantined_whole(lake: LocalLake) -> None:
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", b"")
    assert (manifest.status, manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined) == (
        "rejected",
        1,
        0,
        1,
    )
    assert quarantined(lake) == [(None, "file.empty")]
    row = lake.quarantine().to_pylist()[0]
    assert row["raw_text"] == "s3 object north/calls/calls-2024-01-15.csv (whole file)"
    assert "export it again" in row["message"]


def test_header_only_is_an_empty_day(lake: LocalLake) -> None:
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv())
    assert (manifest.status, manifest.rows_read, manifest.rows_stored, manifest.files) == ("stored", 0, 0, [])
    assert quarantined(lake) == []


def test_utf8_bom_is_dropped_before_the_header(lake: LocalLake) -> None:
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", codecs.BOM_UTF8 + csv(*GOOD))
    assert (manifest.rows_stored, stored_ids(lake)) == (3, ["C1", "C2", "C3"])


@pytest.mark.parametrize(
    ("encoded", "label"),
    [
        (lambda text: text.encode("cp1252"), "latin-1"),
        (lambda text: text.encode("utf-16"), "utf-16 with BOM"),
    ],
    ids=["latin-1", "utf-16"],
)
def test_latin1_and_utf16_are_transcoded(lake: LocalLake, encoded: object, label: str) -> None:
    text = csv(GOOD[0].replace(",billing,", ",Café Crème,")).decode()
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", encoded(text))  # type: ignore[operator]
    assert manifest.rows_stored == 1, label
    assert lake.contacts().column("queue").to_pylist() == ["Café Crème"]


def test_wrong_delimiter_rejects_the_file_with_a_hint(lake: LocalLake) -> None:
    data = csv(*(row.replace(",", ";") for row in GOOD), header=HEADER.replace(",", ";"))
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", data)
    assert (manifest.status, manifest.rows_stored) == ("rejected", 0)
    assert quarantined(lake) == [(1, "header.missing_column")]
    assert "is the delimiter ';'?" in lake.quarantine().column("message")[0].as_py()


def test_ragged_rows_are_quarantined_with_their_line(lake: LocalLake) -> None:
    manifest = run(
        lake, "north/calls/calls-2024-01-15.csv", csv(GOOD[0], "C9,2024-01-15T09:00:00,ANS", GOOD[1])
    )
    assert stored_ids(lake) == ["C1", "C2"]
    assert quarantined(lake) == [(3, "row.ragged")]
    row = lake.quarantine().to_pylist()[0]
    assert (row["raw_text"], row["message"]) == (
        "C9,2024-01-15T09:00:00,ANS",
        "line 3 has 3 fields; the header has 11",
    )
    assert manifest.quarantined_by_rule == {"row.ragged": 1}


def test_missing_required_column_rejects_the_file(lake: LocalLake) -> None:
    header = HEADER.replace("result", "outcome_code")
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv(*GOOD, header=header))
    assert manifest.status == "rejected"
    assert quarantined(lake) == [(1, "header.missing_column")]
    assert "['result']" in lake.quarantine().column("message")[0].as_py()


def test_extra_column_is_ignored(lake: LocalLake) -> None:
    data = csv(*(row + ",extra" for row in GOOD), header=HEADER + ",site")
    assert run(lake, "north/calls/calls-2024-01-15.csv", data).rows_stored == 3


def test_duplicate_header_rejects_the_file(lake: LocalLake) -> None:
    manifest = run(
        lake, "north/calls/calls-2024-01-15.csv", csv(*(r + ",x" for r in GOOD), header=HEADER + ",queue")
    )
    assert manifest.status == "rejected"
    assert quarantined(lake) == [(1, "header.duplicate_column")]


def test_reordered_columns_are_mapped_by_name(lake: LocalLake) -> None:
    names = HEADER.split(",")
    order = list(reversed(range(len(names))))
    rows = [",".join(row.split(",")[i] for i in order) for row in GOOD]
    run(lake, "north/calls/calls-2024-01-15.csv", csv(*rows, header=",".join(names[i] for i in order)))
    assert lake.rows(lake.contacts(), "contact_id", "queue", "talk_seconds", "outcome") == [
        ("C1", "billing", 300.0, "answered"),
        ("C2", "sales", None, "abandoned"),
        ("C3", None, None, "self_served"),
    ]


def test_quoted_newlines_stay_in_the_value_and_lines_stay_exact(lake: LocalLake) -> None:
    noted = GOOD[0].removesuffix(",") + ',"called about\nthe bill, twice"'
    data = csv(noted, GOOD[1], "C9,not-a-time,,,,,,ANS,,,")
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", data)
    assert manifest.rows_stored == 2
    assert lake.rows(lake.contacts(), "contact_id", "disposition", "source_line") == [
        ("C1", "called about\nthe bill, twice", 2),
        ("C2", None, 4),
    ]
    assert quarantined(lake) == [(5, "timestamp.invalid")]


def test_unbalanced_quote_is_rejected_on_its_line_and_reading_resumes(lake: LocalLake) -> None:
    broken = GOOD[1].replace(",sales,", ',"sales,')
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv(GOOD[0], broken, GOOD[2]))
    assert stored_ids(lake) == ["C1", "C3"]
    assert quarantined(lake) == [(3, "row.unbalanced_quote")]
    assert (
        lake.quarantine().column("message")[0].as_py().startswith("line 3 opens a quote that is never closed")
    )
    assert lake.rows(lake.contacts(), "contact_id", "source_line") == [("C1", 2), ("C3", 4)]
    assert manifest.rows_read == 3


def test_oversized_field_is_quarantined(lake: LocalLake) -> None:
    big = GOOD[2].removesuffix(",") + "," + "x" * 40_000
    run(lake, "north/calls/calls-2024-01-15.csv", csv(GOOD[0], big))
    assert stored_ids(lake) == ["C1"]
    assert quarantined(lake) == [(3, "field.oversized")]


def test_header_repeated_mid_file_is_rejected_not_read_as_data(lake: LocalLake) -> None:
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv(GOOD[0], HEADER, GOOD[1]))
    assert stored_ids(lake) == ["C1", "C2"]
    assert quarantined(lake) == [(3, "row.repeated_header")]
    assert manifest.rows_read == 3


@pytest.mark.parametrize("end", ["\r\n", "\r"], ids=["crlf", "cr-only"])
def test_crlf_and_cr_line_ends(lake: LocalLake, end: str) -> None:
    data = csv(GOOD[0], "C9,bad-time,,,,,,ANS,,,", GOOD[1], end=end)
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", data)
    assert manifest.rows_stored == 2
    assert lake.rows(lake.contacts(), "contact_id", "queue", "source_line") == [
        ("C1", "billing", 2),
        ("C2", "sales", 4),
    ]
    assert quarantined(lake) == [(3, "timestamp.invalid")]


def _timed(contact_id: str, start: str, end: str = "") -> str:
    return f"{contact_id},{start},,,{end},,,IVR,,,"


def test_timestamps_without_offset_are_in_the_centres_zone_and_offsets_are_honoured(lake: LocalLake) -> None:
    rows = [
        _timed("W1", "2024-01-15T09:00:00"),  # winter, Europe/London = UTC
        _timed("S1", "2024-07-15T09:00:00"),  # summer, BST = UTC+1
        _timed("O1", "2024-07-15T09:00:00+02:00"),  # mixed offsets in one file
        _timed("O2", "2024-07-15T09:00:00Z"),
        _timed("O3", "2024-07-15 09:00:00-0500"),
    ]
    run(lake, "north/calls/calls-2024-07-15.csv", csv(*rows))
    assert lake.rows(lake.contacts(), "contact_id", "initiated_utc", "initiated_local") == [
        ("O1", datetime(2024, 7, 15, 7), datetime(2024, 7, 15, 8)),
        ("O2", datetime(2024, 7, 15, 9), datetime(2024, 7, 15, 10)),
        ("O3", datetime(2024, 7, 15, 14), datetime(2024, 7, 15, 15)),
        ("S1", datetime(2024, 7, 15, 8), datetime(2024, 7, 15, 9)),
        ("W1", datetime(2024, 1, 15, 9), datetime(2024, 1, 15, 9)),
    ]


def test_nonexistent_and_ambiguous_local_times_are_quarantined_never_shifted(lake: LocalLake) -> None:
    rows = [
        _timed("GAP", "2024-03-31T01:30:00"),  # clocks went 01:00 → 02:00 in London
        _timed("TWICE", "2024-10-27T01:30:00"),  # clocks went 02:00 → 01:00: 01:30 happened twice
        _timed("OFFSET", "2024-10-27T01:30:00+01:00"),  # the same wall time with an offset is fine
        _timed("JUST", "2024-03-31T02:00:00"),  # the first instant after the gap exists
    ]
    run(lake, "north/calls/calls-2024-10-27.csv", csv(*rows))
    assert lake.rows(lake.contacts(), "contact_id", "initiated_utc") == [
        ("JUST", datetime(2024, 3, 31, 1)),
        ("OFFSET", datetime(2024, 10, 27, 0, 30)),
    ]
    assert quarantined(lake) == [(2, "timestamp.dst_nonexistent"), (3, "timestamp.dst_ambiguous")]


def flagged(lake: LocalLake) -> list[tuple[str, str | None]]:
    return lake.rows(lake.contacts(), "contact_id", "quality_flags")


def test_negative_durations_and_end_before_start_are_stored_with_flags(lake: LocalLake) -> None:
    rows = [
        "N1,2024-01-15T09:00:00,2024-01-15T09:00:10,,2024-01-15T09:01:10,-60,,ABN,,,",
        "E1,2024-01-15T09:00:00,,,2024-01-15T08:59:00,,,IVR,,,",
        "E2,2024-01-15T09:00:00,2024-01-15T09:00:30,2024-01-15T09:00:20,2024-01-15T09:05:00,,200,ANS,,,",
    ]
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv(*rows))
    assert quarantined(lake) == []
    assert flagged(lake) == [
        ("E1", "time.end_before_start"),
        ("E2", "time.end_before_start"),
        ("N1", "duration.negative"),
    ]
    # the negative wait is nulled, as docs/validation.md says
    assert ("N1", None) in lake.rows(lake.contacts(), "contact_id", "queue_seconds")
    assert (manifest.rows_stored, manifest.rows_flagged) == (3, 3)
    assert manifest.flagged_by_rule == {"duration.negative": 1, "time.end_before_start": 2}
    log = lake.ingest_log().to_pylist()[0]
    assert (log["rows_flagged"], json.loads(log["flagged_by_rule"])) == (3, manifest.flagged_by_rule)


def test_durations_disagreeing_with_timestamps_beyond_tolerance(lake: LocalLake) -> None:
    rows = [
        # waited 20 s by the timestamps, 30 s by the duration column: stored, flagged, 30 s kept
        "D1,2024-01-15T09:00:00,2024-01-15T09:00:10,2024-01-15T09:00:30,2024-01-15T09:05:30,30,300,ANS,,,",
        # 1 s of clock skew: accepted without a flag (tolerance 2 s)
        "D2,2024-01-15T09:00:00,2024-01-15T09:00:10,2024-01-15T09:00:30,2024-01-15T09:05:30,21,300,ANS,,,",
        # talk longer than answered → end: flagged
        "D3,2024-01-15T09:00:00,2024-01-15T09:00:10,2024-01-15T09:00:30,2024-01-15T09:05:30,20,400,ANS,,,",
    ]
    run(lake, "north/calls/calls-2024-01-15.csv", csv(*rows))
    assert quarantined(lake) == []
    assert flagged(lake) == [("D1", "time.duration_mismatch"), ("D2", None), ("D3", "time.duration_mismatch")]
    assert lake.rows(lake.contacts(), "contact_id", "queue_seconds")[0] == ("D1", 30.0)


def test_a_centre_raising_a_flag_to_a_rejection_gets_it_quarantined(tmp_path: Path) -> None:
    raw = centres({"calls": "calls.toml"})
    raw["centres"]["north"]["reject_flags"] = ["time.duration_mismatch"]
    lake = LocalLake.create(tmp_path)
    lake.config = parse_app_config(raw, source_path=str(tmp_path / "config" / "contactlake.toml"))
    lake.write_mapping("calls.toml", MAPPING)
    rows = [
        "D1,2024-01-15T09:00:00,2024-01-15T09:00:10,2024-01-15T09:00:30,2024-01-15T09:05:30,30,300,ANS,,,",
        "N1,2024-01-15T09:00:00,2024-01-15T09:00:10,,2024-01-15T09:01:10,-60,,ABN,,,",
    ]
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv(*rows))
    assert quarantined(lake) == [(2, "time.duration_mismatch")]
    assert flagged(lake) == [("N1", "duration.negative")]
    assert manifest.quarantined_by_rule == {"time.duration_mismatch": 1}
    # The same bytes read under another rejection policy are another processing (a replay re-reads them).
    assert manifest.processing.endswith("|reject:time.duration_mismatch")
    messages = lake.quarantine().column("message").to_pylist()
    assert messages == [
        "queue_seconds disagrees with answered - enqueued by more than 2 s; fix the export's durations or "
        "timestamps"
    ]


def test_dates_far_in_the_future_or_at_epoch_zero(lake: LocalLake) -> None:
    run(
        lake,
        "north/calls/calls-2024-01-15.csv",
        csv(_timed("F1", "2999-01-01T00:00:00Z"), _timed("Z1", "1970-01-01T00:00:00Z"), GOOD[2]),
    )
    assert stored_ids(lake) == ["C3"]
    assert quarantined(lake) == [(2, "time.future"), (3, "time.too_old")]


def test_numbers_in_scientific_notation_or_with_separators(lake: LocalLake) -> None:
    rows = [
        "S1,2024-01-15T09:00:00,2024-01-15T09:00:10,2024-01-15T09:00:30,2024-01-15T09:05:30,2e1,3.0E2,ANS,,,",
        "S2,2024-01-15T09:00:00,2024-01-15T09:00:10,2024-01-15T09:20:30,2024-01-15T10:00:00,1_220,600,ANS,,,",
        'S3,2024-01-15T09:00:00,2024-01-15T09:00:10,2024-01-15T09:20:30,2024-01-15T10:00:00,"1,220",600,ANS,,,',
    ]
    run(lake, "north/calls/calls-2024-01-15.csv", csv(*rows))
    # "_" is the mapping's thousands separator; "1,220" with a comma is not a number in this mapping:
    # a wait time does not identify or place the call, so the call is stored, flagged, its wait unknown.
    assert lake.rows(lake.contacts(), "contact_id", "queue_seconds", "talk_seconds", "quality_flags") == [
        ("S1", 20.0, 300.0, None),
        ("S2", 1220.0, 600.0, None),
        ("S3", None, 600.0, "number.invalid"),
    ]
    assert quarantined(lake) == []


def test_an_unreadable_measure_is_a_flag_with_the_measure_nulled_the_start_still_rejects(
    tmp_path: Path, lake: LocalLake
) -> None:
    rows = [
        # answered is not a time, talk is not a number: stored with both flags, both measures null
        "M1,2024-01-15T09:00:00,2024-01-15T09:00:10,soon,2024-01-15T09:05:30,20,lots,ANS,,billing,",
        # the start is not a time: the call cannot be placed in time, so it is rejected
        "M2,yesterday,2024-01-15T09:10:05,,2024-01-15T09:11:05,60,,ABN,,sales,",
        GOOD[2],
    ]
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv(*rows))
    assert manifest.flagged_by_rule == {
        "number.invalid": 1,
        "timestamp.invalid": 1,
        "outcome.inconsistent": 1,
    }
    assert lake.rows(
        lake.contacts(), "contact_id", "answered_utc", "talk_seconds", "queue_seconds", "quality_flags"
    ) == [
        ("C3", None, None, None, None),
        ("M1", None, None, 20.0, "outcome.inconsistent,number.invalid,timestamp.invalid"),
    ]
    assert quarantined(lake) == [(3, "timestamp.invalid")]
    # A centre that would rather not count such a call raises the flag to a rejection.
    strict = LocalLake.create(tmp_path / "strict", mappings={"calls": "calls.toml"})
    strict.write_mapping("calls.toml", MAPPING)
    raw = centres({"calls": "calls.toml"})
    raw["centres"]["north"]["reject_flags"] = ["number.invalid"]
    strict.config = parse_app_config(
        raw, source_path=str(tmp_path / "strict" / "config" / "contactlake.toml")
    )
    run(strict, "north/calls/calls-2024-01-15.csv", csv(*rows))
    assert stored_ids(strict) == ["C3"]
    assert quarantined(strict) == [(2, "number.invalid"), (3, "timestamp.invalid")]


def test_duplicate_contact_id_in_a_file_and_across_files(lake: LocalLake) -> None:
    first = run(
        lake, "north/calls/calls-2024-01-15.csv", csv(GOOD[0], GOOD[1], GOOD[0].replace("billing", "sales"))
    )
    assert first.quarantined_by_rule == {"duplicate.contact_id_in_file": 1}
    assert lake.rows(lake.contacts(), "contact_id", "queue") == [("C1", "billing"), ("C2", "sales")]
    # Within a batch the repeat is caught while the source text is at hand: the quarantine keeps it,
    # with the caller's number masked (the original line stays in the raw area).
    kept = GOOD[0].replace("billing", "sales").replace("+44 7700 900001", "[number]")
    assert lake.rows(lake.quarantine(), "raw_text") == [(kept,)]
    # Another export (another day's file) repeating C2: the copy already stored wins.
    second = run(lake, "north/calls/calls-2024-01-16.csv", csv(GOOD[1], GOOD[2]))
    assert second.quarantined_by_rule == {"duplicate.contact_id_across_uploads": 1}
    assert stored_ids(lake) == ["C1", "C2", "C3"]
    assert lake.rows(lake.quarantine(), "source_line", "rule_id") == [
        (2, "duplicate.contact_id_across_uploads"),
        (4, "duplicate.contact_id_in_file"),
    ]


def test_truncated_gzip_stores_nothing(lake: LocalLake) -> None:
    whole = gzip.compress(csv(*GOOD * 200))
    manifest = run(lake, "north/calls/calls-2024-01-15.csv.gz", whole[: len(whole) // 2])
    assert (manifest.status, manifest.rows_stored, stored_ids(lake)) == ("rejected", 0, [])
    assert quarantined(lake) == [(None, "file.gzip_truncated")]


def test_gz_that_is_not_gzip(lake: LocalLake) -> None:
    manifest = run(lake, "north/calls/calls-2024-01-15.csv.gz", csv(*GOOD))
    assert manifest.status == "rejected"
    assert quarantined(lake) == [(None, "file.not_gzip")]


def test_multi_member_gzip_is_read_whole(lake: LocalLake) -> None:
    data = gzip.compress(csv(GOOD[0])) + gzip.compress(("\n".join(GOOD[1:]) + "\n").encode())
    assert run(lake, "north/calls/calls-2024-01-15.csv.gz", data).rows_stored == 3


def test_json_with_nan_duplicate_keys_deep_nesting_and_trailing_garbage(lake: LocalLake) -> None:
    records = (FIXTURES / "amazon_connect" / "ctr-2024-03-05.jsonl").read_text().splitlines()
    good = records[2]  # c2: abandoned in queue
    nan = records[4].replace('"Attributes":{"intent":"billing"}', '"Attributes":{"score":NaN}')
    duplicate = records[5].replace('"Channel":"VOICE"', '"Channel":"VOICE","Channel":"CHAT"')
    deep = records[6].replace(
        '"Attributes":{"intent":"billing"}', '"Attributes":' + "[" * 40 + "1" + "]" * 40
    )
    data = "\n".join([good, nan, duplicate, deep, records[7] + " }garbage"]) + "\n"
    manifest = run(lake, "leeds/ctr/2024/03/05/09/ctr-bad.jsonl", data.encode())
    assert (manifest.rows_read, manifest.rows_stored) == (6, 2)
    assert quarantined(lake) == [
        (2, "json.nan"),
        (3, "json.duplicate_key"),
        (4, "json.too_deep"),
        (6, "json.trailing_garbage"),
    ]
    assert stored_ids(lake) == [
        "c0a80001-1111-4aaa-8001-000000000002",
        "c0a80001-3333-4ccc-8003-000000000001",
    ]
    raw = {q["rule_id"]: q["raw_text"] for q in lake.quarantine().to_pylist()}
    assert (
        json.loads(raw["json.duplicate_key"].strip())["ContactId"] == "c0a80001-2222-4bbb-8002-000000000001"
    )
    assert raw["json.trailing_garbage"].strip() == "}garbage"


def test_object_deleted_before_it_is_read_writes_nothing(lake: LocalLake) -> None:
    lake.put("north/calls/calls-2024-01-15.csv", csv(*GOOD))
    lake.ports.store.delete("raw", ["north/calls/calls-2024-01-15.csv"])
    manifest = lake.ingest("north/calls/calls-2024-01-15.csv")
    assert (manifest.status, manifest.upload_id) == ("skipped", "")
    assert "vanished before it was read" in manifest.message
    assert not (lake.home / "lake").exists() or lake.digest() == {}


def test_object_overwritten_before_it_is_read_processes_the_current_version(lake: LocalLake) -> None:
    key = "north/calls/calls-2024-01-15.csv"
    lake.put(key, csv(GOOD[0]))
    lake.put(key, csv(*GOOD))  # overwritten before the first event is handled
    first_event = lake.ingest(key)
    before = lake.digest()
    second_event = lake.ingest(key)
    assert first_event.upload_id == second_event.upload_id
    assert (first_event.rows_stored, stored_ids(lake)) == (3, ["C1", "C2", "C3"])
    assert lake.digest() == before


def test_object_overwritten_while_it_is_read_is_skipped_and_leaves_nothing(
    lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "north/calls/calls-2024-01-15.csv"
    lake.put(key, csv(*GOOD))
    store = lake.ports.store
    real_open = store.open

    def open_new_version(area: str, name: str, if_match: str | None = None):  # type: ignore[no-untyped-def]
        store.put("raw", name, csv(GOOD[0]))  # the centre re-uploads between HEAD and GET
        return real_open(area, name, if_match)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "open", open_new_version)
    manifest = lake.ingest(key)
    assert manifest.status == "skipped"
    assert "overwritten before or while being read" in manifest.message
    assert not list((lake.home / "lake").rglob("*.parquet"))
    assert not (lake.home / "lake" / "manifests").exists()


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("south/calls/calls-2024-01-15.csv", "route.unknown"),
        ("north/unknown-source/calls.csv", "route.unknown"),
        ("north/calls/../../../etc/passwd", "route.bad_key"),
    ],
)
def test_keys_outside_the_allow_list_write_nothing(lake: LocalLake, key: str, rule: str) -> None:
    manifest = lake.ingest(key)
    assert (manifest.status, manifest.upload_id) == ("unroutable", "")
    assert manifest.message.startswith(rule)
    assert not (lake.home / "lake").exists()
    assert not (lake.home / "quarantine").exists()


def test_a_mapped_update_time_lets_a_later_export_replace_a_stored_contact(lake: LocalLake) -> None:
    """``source_updated`` in a mapping: another day's file with a newer copy replaces the stored one."""
    lake.write_mapping(
        "calls.toml", MAPPING.replace('queue = "queue"', 'queue = "queue"\nsource_updated = "updated"')
    )
    header = f"{HEADER},updated"
    first = run(
        lake,
        "north/calls/calls-2024-01-15.csv",
        csv(f"{GOOD[0]},2024-01-15T09:06:00", f"{GOOD[1]},2024-01-15T09:12:00", header=header),
    )
    corrected = GOOD[1].replace(",sales,", ",billing,")
    second = run(
        lake,
        "north/calls/calls-2024-01-16.csv",
        csv(f"{corrected},2024-01-16T07:00:00", f"{GOOD[0]},2024-01-15T09:06:00", header=header),
    )
    assert (second.rows_stored, second.excluded_by_rule, second.quarantined_by_rule) == (
        1, {"duplicate.superseded_update": 1}, {}
    )  # fmt: skip
    assert lake.rows(lake.contacts(), "contact_id", "queue", "upload_id") == [
        ("C1", "billing", first.upload_id),
        ("C2", "billing", second.upload_id),
    ]
    assert lake.manifest(first.upload_id)["excluded_by_rule"] == {"duplicate.superseded_by_later_upload": 1}
