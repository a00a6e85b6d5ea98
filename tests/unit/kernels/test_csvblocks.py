"""Row-aligned blocks: every row keeps its exact line whatever the block size, quotes never split a row."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pytest

from contactlake.contract import IngestError
from contactlake.kernels import csvblocks
from contactlake.kernels.csvblocks import MAX_ROW_BYTES, iter_csv_blocks, kept_rows

TEXT = (
    "id,note,n\n"  # line 1
    'a,"two\nlines",1\n'  # lines 2-3
    "b,plain,2\n"  # line 4
    "c,too,many,fields\n"  # line 5: ragged
    "\n"  # line 6: blank
    'd,"a ""quoted"" word",4\n'  # line 7
    'e,"x\ny\nz",5\n'  # lines 8-10
    "f,short\n"  # line 11: ragged
    "g,last,7"  # line 12, no final newline
)


def read_all(data: bytes, block: int) -> tuple[list[tuple[int, str, str]], list[tuple[int | None, str]]]:
    names, blocks = iter_csv_blocks(io.BufferedReader(io.BytesIO(data)), ",", ["id"], block)
    assert names == ["id", "note", "n"]
    rows: list[tuple[int, str, str]] = []
    rejects: list[tuple[int | None, str]] = []
    for chunk in blocks:
        for line, row in zip(chunk.lines.to_pylist(), chunk.batch.to_pylist(), strict=True):
            rows.append((line, row["id"], row["note"]))
        rejects.extend((r.line, r.rule_id) for r in chunk.rejects)
    return rows, rejects


@pytest.mark.parametrize("block", [7, 16, 33, 64, 1024, 1 << 20])
def test_lines_are_exact_for_any_block_size(block: int) -> None:
    rows, rejects = read_all(TEXT.encode(), block)
    assert rows == [
        (2, "a", "two\nlines"),
        (4, "b", "plain"),
        (6, "", ""),  # blank lines come back as empty rows; adapters exclude them (row.blank_line)
        (7, "d", 'a "quoted" word'),
        (8, "e", "x\ny\nz"),
        (12, "g", "last"),
    ]
    assert rejects == [(5, "row.ragged"), (11, "row.ragged")]


PLAIN = (
    "id,note,n\n"  # line 1
    "a,one,1\n"  # line 2
    "\n"  # line 3: blank
    "b,too,many,fields\n"  # line 4: ragged
    "c,two,2\n"  # line 5
    "d,short\n"  # line 6: ragged
    "\n"  # line 7: blank
    "e,last,5"  # line 8, no final newline
)


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("block", [7, 16, 33, 1 << 20])
def test_lines_are_exact_without_quotes_too(block: int, line_end: str) -> None:
    """A block without quotes (or CRs) takes its line count from the records; CRLF files count lines."""
    rows, rejects = read_all(PLAIN.replace("\n", line_end).encode(), block)
    assert rows == [(2, "a", "one"), (3, "", ""), (5, "c", "two"), (7, "", ""), (8, "e", "last")]
    assert rejects == [(4, "row.ragged"), (6, "row.ragged")]


@pytest.mark.parametrize("block", [8, 1 << 20])
def test_unbalanced_quote_rejects_one_line_and_reading_resumes(block: int) -> None:
    data = b'id,note,n\na,ok,1\nb,"never closed,2\nc,fine,3\nd,fine,4\n'
    rows, rejects = read_all(data, block)
    assert rows == [(2, "a", "ok"), (4, "c", "fine"), (5, "d", "fine")]
    assert rejects == [(3, "row.unbalanced_quote")]


def test_a_quote_open_for_longer_than_a_row_can_be_is_unbalanced() -> None:
    filler = b"".join(b"r%d,x,%d\n" % (i, i) for i in range(MAX_ROW_BYTES // 8))
    data = b'id,note,n\na,"open,1\n' + filler
    rows, rejects = read_all(data, 4096)
    assert rejects == [(2, "row.unbalanced_quote")]
    assert rows[0] == (3, "r0", "x")
    assert len(rows) == MAX_ROW_BYTES // 8


def _quoted_lines(count: int) -> bytes:
    """A quoted field of ``count`` 1 KiB lines (a notes field that ran on): longer than a row can be."""
    return b'"' + b"".join(b"%04d " % i + b"n" * 1018 + b"\n" for i in range(count)) + b'end"'


def test_a_quoted_field_longer_than_a_row_is_one_reject_and_the_lines_after_it_keep_their_numbers() -> None:
    """Issue 15 item 7: a 100 MB quoted field with line ends became 102,400 rejects in 373 s."""
    lines = 2 * MAX_ROW_BYTES // 1024
    data = b"id,note,n\na,ok,1\nb," + _quoted_lines(lines) + b',2\nc,"after ""it""",3\nd,last,4\n'
    for block in (4096, 64 * 1024):  # (a block that holds the whole row parses it: field.oversized)
        rows, rejects = read_all(data, block)
        assert rejects == [(3, "row.too_long")]
        assert rows == [(2, "a", "ok"), (4 + lines, "c", 'after "it"'), (5 + lines, "d", "last")]


def test_a_long_quoted_row_is_skipped_in_one_reject_with_its_size_and_lines() -> None:
    data = b"id,note,n\nb," + _quoted_lines(600) + b",2\n"
    _, blocks = iter_csv_blocks(io.BufferedReader(io.BytesIO(data)), ",", ["id"], 4096)
    (reject,) = [r for block in blocks for r in block.rejects]
    assert (reject.line, reject.rule_id) == (2, "row.too_long")
    assert f"a row of {len(data) - 10:,} bytes over 601 lines" in reject.message
    assert reject.raw_text is not None
    assert reject.raw_text.startswith('b,"0000 nnn')
    assert len(reject.raw_text) == 1024


def test_a_stray_quote_that_closes_wrongly_far_below_rejects_one_line_and_reading_resumes() -> None:
    """The quote is closed by the opening quote of a later field (followed by text, not a delimiter):
    a stray, so its line alone is rejected and the rows passed over are read again."""
    filler = b"".join(b"r%d,x,%d\n" % (i, i) for i in range(MAX_ROW_BYTES // 8))
    data = b'id,note,n\na,"open,1\n' + filler + b'z,"quoted",9\ny,plain,8\n'
    rows, rejects = read_all(data, 4096)
    assert rejects == [(2, "row.unbalanced_quote")]
    count = MAX_ROW_BYTES // 8
    assert rows[0] == (3, "r0", "x")
    assert rows[-2:] == [(3 + count, "z", "quoted"), (4 + count, "y", "plain")]
    assert len(rows) == count + 2


def test_a_quote_inside_an_unquoted_field_of_a_long_row_is_a_stray() -> None:
    filler = b"".join(b"r%d,x,%d\n" % (i, i) for i in range(MAX_ROW_BYTES // 8))
    data = b'id,note,n\na,O"Brien,1\n' + filler
    rows, rejects = read_all(data, 4096)
    assert rejects == [(2, "row.unbalanced_quote")]
    assert rows[0] == (3, "r0", "x")
    assert len(rows) == MAX_ROW_BYTES // 8


def test_empty_file_is_rejected() -> None:
    with pytest.raises(IngestError) as error:
        iter_csv_blocks(io.BufferedReader(io.BytesIO(b"\n\n")), ",", ["id"])
    assert error.value.rule_id == "file.empty"


@pytest.mark.parametrize(
    ("header", "rule", "hint"),
    [
        (b"id,note,id\n", "header.duplicate_column", "repeats column(s) ['id']"),
        (b"note,n\n", "header.missing_column", "required column(s) ['id']"),
        (b"id;note;n\n", "header.missing_column", "is the delimiter ';'?"),
    ],
)
def test_header_problems(header: bytes, rule: str, hint: str) -> None:
    with pytest.raises(IngestError) as error:
        iter_csv_blocks(io.BufferedReader(io.BytesIO(header + b"a,b,c\n")), ",", ["id"])
    assert (error.value.rule_id, error.value.line) == (rule, 1)
    assert hint in str(error.value)


@pytest.mark.parametrize(
    "keep",
    [
        [True] * 6,
        [False] * 6,
        [True, True, False, True, True, True],
        [False, True, True, True, False, False],
        [True, False] * 3,
    ],
)
def test_kept_rows_equal_a_filter(keep: list[bool]) -> None:
    table = pa.table({"id": [f"C-{n}" for n in range(6)], "n": list(range(6))})
    kept = kept_rows(table, np.array(keep))
    assert kept.equals(table.filter(pa.array(keep)))


def test_kept_rows_are_slices_of_the_batch_unless_there_are_many_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = pa.table({"n": pa.array(range(1000), pa.int64())})
    keep = np.ones(1000, dtype=np.bool_)
    keep[[10, 500]] = False
    kept = kept_rows(table, keep)
    assert kept.column("n").num_chunks == 3  # no copy: three runs of the original buffers
    assert kept.column("n").chunk(0).buffers()[1].address == table.column("n").chunk(0).buffers()[1].address
    monkeypatch.setattr(csvblocks, "MAX_KEPT_RUNS", 2)
    copied = kept_rows(table, keep)
    assert copied.column("n").num_chunks == 1
    assert copied.equals(kept)


def test_rows_per_block_are_bounded_however_short_the_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15 item 8: 20 MiB of blank lines were one block of 20 million rows (6 GB)."""
    monkeypatch.setattr(csvblocks, "MAX_BLOCK_LINES", 50)
    data = b"id,name\n" + b"\n" * 120 + b'A,"two\nlines"\n' + b"\n" * 30 + b"B,x\n"
    _, blocks = iter_csv_blocks(io.BufferedReader(io.BytesIO(data)), ",", ["id"])
    seen = list(blocks)
    assert len(seen) >= 3
    assert all(block.batch.num_rows <= 50 for block in seen)
    named = [
        (line, value)
        for block in seen
        for line, value in zip(block.lines.to_pylist(), block.batch.column("id").to_pylist(), strict=True)
        if value
    ]
    assert named == [(122, "A"), (154, "B")]  # 120 blank lines after the header; A spans two lines
    assert sum(block.batch.num_rows for block in seen) == 120 + 1 + 30 + 1
