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
