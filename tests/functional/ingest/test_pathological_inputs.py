"""Inputs real centres produce that used to lose or misplace rows (issue 15, items 6 and 7)."""

from __future__ import annotations

from tests.fixtures.lakes import LocalLake
from tests.functional.ingest.test_validation_cases import GOOD, csv, run
from tests.functional.ingest.test_validation_cases import lake as lake  # the fixture with the calls mapping


def _rows(count: int, prefix: str = "R") -> list[str]:
    return [GOOD[0].replace("C1,", f"{prefix}{i},", 1) for i in range(count)]


def test_a_cp1252_byte_after_the_first_64_kib_is_read_not_rejected(lake: LocalLake) -> None:
    """The head sniffed as UTF-8; one accented name typed on a Windows system further on rejected
    the whole file (with a wrong line number)."""
    data = csv(*_rows(700)) + GOOD[1].replace(",sales,", ",Zo\u00eb,").encode("cp1252") + b"\n"
    assert data.index(b"\xeb") > 65536
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", data)
    assert (manifest.status, manifest.rows_stored, manifest.rows_quarantined) == ("stored", 701, 0)
    assert dict(lake.rows(lake.contacts(), "contact_id", "queue"))["C2"] == "Zo\u00eb"


def test_an_over_long_unquoted_line_is_one_reject_on_its_own_line(lake: LocalLake) -> None:
    """It gave several ``row.unbalanced_quote`` rejects (there is no quote), an inflated rows_read and
    wrong line numbers after it."""
    long_line = "L1," + "x" * (1024 * 1024)
    data = csv(GOOD[0], long_line, GOOD[1], GOOD[2])
    manifest = lake.ingest("north/calls/calls-2024-01-15.csv", data, block_bytes=64 * 1024)
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined) == (4, 3, 1)
    assert manifest.quarantined_by_rule == {"row.too_long": 1}
    assert lake.rows(lake.quarantine(), "source_line", "rule_id") == [(3, "row.too_long")]
    assert lake.rows(lake.contacts(), "contact_id", "source_line") == [("C1", 2), ("C2", 4), ("C3", 5)]


def test_a_quoted_field_of_a_megabyte_with_line_ends_is_one_reject(lake: LocalLake) -> None:
    """Issue 15 item 7: a 100 MB quoted field with newlines became 102,400 quarantined rows in 373 s
    (each of its lines a row); it is one ``row.too_long`` and the rows after it keep their lines."""
    notes = '"' + "".join(f"{i:04d} " + "n" * 1018 + "\n" for i in range(1024)) + 'end"'
    data = csv(GOOD[0], GOOD[1].rstrip(",") + "," + notes, GOOD[2])
    manifest = lake.ingest("north/calls/calls-2024-01-15.csv", data, block_bytes=64 * 1024)
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined) == (3, 2, 1)
    assert manifest.quarantined_by_rule == {"row.too_long": 1}
    assert lake.rows(lake.quarantine(), "source_line", "rule_id") == [(3, "row.too_long")]
    assert lake.rows(lake.contacts(), "contact_id", "source_line") == [("C1", 2), ("C3", 3 + 1024 + 1)]


def test_mapped_columns_are_found_whatever_their_letter_case(lake: LocalLake) -> None:
    """Issue 15 item 2: ``Queue``, ``Caller`` and ``TALK`` were stored as NULL with a clean manifest."""
    header = "ID,Start,queued,answered,end,wait,TALK,result,Caller,Queue,notes"
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv(*GOOD, header=header))
    assert (manifest.status, manifest.rows_stored) == ("stored", 3)
    rows = lake.rows(lake.contacts(), "contact_id", "queue", "talk_seconds")
    assert rows[0] == ("C1", "billing", 300.0)
    assert all(key for key in lake.contacts().column("customer_key").to_pylist())


def test_a_mapped_column_missing_from_the_header_rejects_the_file(lake: LocalLake) -> None:
    header = "id,start,queued,answered,end,wait,result,caller,queue,notes"  # no talk column
    rows = [",".join(r.split(",")[:6] + r.split(",")[7:]) for r in GOOD]
    manifest = run(lake, "north/calls/calls-2024-01-15.csv", csv(*rows, header=header))
    assert manifest.status == "rejected"
    assert "['talk']" in manifest.message
    assert lake.rows(lake.quarantine(), "source_line", "rule_id") == [(1, "header.missing_column")]
