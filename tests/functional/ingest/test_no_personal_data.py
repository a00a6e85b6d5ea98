"""No caller numbers in the quarantine, manifests or logs; unreadable headers get a manifest (issue 15).

Items 12 (raw caller numbers in ``raw_text`` and in a headerless file's manifest message) and 9 (a first
line over the csv module's field limit, or an all-NUL file, raised ``_csv.Error``: no manifest, and on
AWS a dead-letter entry).
"""

from __future__ import annotations

import json
import re

from tests.fixtures.lakes import LocalLake
from tests.functional.ingest.test_validation_cases import GOOD, csv, quarantined, run
from tests.functional.ingest.test_validation_cases import lake as lake  # the fixture with the calls mapping

NUMBERS = ("7700 900001", "7700 900002", "7700900009", "07700 900123")


def no_numbers(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return not any(re.sub(r"\D", "", number) in digits for number in NUMBERS)


def test_quarantined_rows_keep_no_caller_number(lake: LocalLake) -> None:
    bad_outcome = GOOD[0].replace(",ANS,", ",XYZ,")
    ragged = "C9,2024-01-15T09:00:00,ANS,+447700900009"
    bad_time = GOOD[1].replace("2024-01-15T09:10:00", "2024-13-45T09:10:00").replace("C2", "C7")
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv(bad_outcome, ragged, bad_time))
    assert manifest.rows_quarantined == 3
    rows = lake.quarantine().to_pylist()
    assert len(rows) == 3
    for row in rows:
        assert no_numbers(row["raw_text"]), row["raw_text"]
        assert no_numbers(row["message"]), row["message"]
        assert "[number]" in row["raw_text"]
    # The rest of the line is still there to debug with, and the original stays in the raw area.
    assert any(row["raw_text"].startswith("C1,2024-01-15T09:00:00,") for row in rows)
    raw = (lake.home / "raw" / "north/calls/calls-2024-01-15.csv").read_text()
    assert "+447700900009" in raw


def test_a_headerless_file_puts_no_row_content_in_its_manifest(lake: LocalLake) -> None:
    data = "\n".join(GOOD).encode() + b"\n"  # no header line: row 1 is read as one
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", data)
    assert manifest.status == "rejected"
    assert quarantined(lake) == [(1, "header.missing_column")]
    assert no_numbers(manifest.message), manifest.message
    stored = (lake.home / "lake" / "manifests" / f"{manifest.upload_id}.json").read_text()
    assert no_numbers(json.loads(stored)["message"])
    assert no_numbers(lake.quarantine().column("message")[0].as_py())


def test_a_first_line_over_the_field_limit_is_rejected_with_a_manifest(lake: LocalLake) -> None:
    data = b"x" * (200 * 1024) + b"\n" + "\n".join(GOOD).encode()
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", data)
    assert (manifest.status, manifest.rows_read, manifest.rows_quarantined) == ("rejected", 1, 1)
    assert quarantined(lake) == [(1, "header.unreadable")]
    assert "header line" in manifest.message


def test_an_all_nul_file_is_rejected_with_a_manifest(lake: LocalLake) -> None:
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", b"\x00" * (200 * 1024))
    assert manifest.status == "rejected"
    assert manifest.reconciles
    assert len(quarantined(lake)) == 1
