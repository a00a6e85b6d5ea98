"""Delimited text in bounded blocks, every row with its exact line number, for every CSV-like adapter.

This is the scanning kernel; the rules every delimited source shares, and the split of a block into
stored, quarantined and excluded rows, are in :mod:`contactlake.ingest.delimited`.

pyarrow's streaming CSV reader is fast but cannot say on which line a rejected row was (with quoted
newlines allowed it reports no row numbers), and an unbalanced quote makes it swallow the rest of the
file into one field. So the stream is cut into blocks here, always at a row boundary (a newline outside
quotes, found with C-speed ``bytes.count``), and each block is parsed by pyarrow on its own. Knowing a
block's bytes gives every row its line, and a row whose quote never closes is rejected on its own line
and reading resumes on the next one, instead of losing the rest of the file.

The happy path stays vectorised: per block, one ``bytes.count`` for quote parity, one pyarrow parse and
one ``count_substring`` per column; per-row Python runs only for rows that are already rejects.
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, BinaryIO, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from contactlake.contract import IngestError, Reject

__all__ = [
    "BLOCK_BYTES",
    "MAX_BLOCK_LINES",
    "MAX_FIELD_CHARS",
    "MAX_KEPT_RUNS",
    "MAX_ROW_BYTES",
    "CsvBlock",
    "check_header",
    "iter_csv_blocks",
    "kept_rows",
    "read_header",
]

#: Bytes per parsed block: bounds memory whatever the file size (16 MiB of CSV ≈ 80k contacts).
BLOCK_BYTES = 16 * 1024 * 1024
#: Lines per parsed block: rows stay bounded when lines are short (blank lines: 16 MiB of them would
#: be 16 million rows).
MAX_BLOCK_LINES = 200_000
#: A longer field is not a contact-centre value (it is usually a broken quote swallowing lines).
MAX_FIELD_CHARS = 32 * 1024
#: A row whose quotes do not close within this many bytes has an unbalanced quote.
MAX_ROW_BYTES = 256 * 1024
_DELIMITERS = (",", ";", "\t", "|")
#: How much of an over-long line the quarantine keeps (the line stays whole in the raw area).
_KEPT_TEXT_BYTES = 1024
_QUOTE = b'"'


@dataclass
class CsvBlock:
    """One parsed block: string columns named by the header, each row's line, and what was skipped."""

    batch: pa.RecordBatch
    lines: pa.Array
    rejects: list[Reject] = field(default_factory=list)
    blank_lines: int = 0


def read_header(stream: BinaryIO, delimiter: str) -> tuple[list[str], int]:
    """Parse the header line; returns the names and the header's length in bytes (with its newline)."""
    peek = getattr(stream, "peek", None)
    head = bytes(peek(256 * 1024)) if peek else b""
    if not head.strip():
        raise IngestError("file.empty", "the file is empty (zero bytes or only blank lines); export it again")
    end = head.find(b"\n")
    first = head if end < 0 else head[:end]
    text = first.rstrip(b"\r").decode("utf-8", errors="replace")
    if text.lstrip("\ufeff \t").startswith(("{", "[")):
        raise IngestError(
            "file.not_delimited",
            "the file is JSON records, not delimited text (CSV); upload it under a source whose adapter "
            "reads this JSON (e.g. amazon_connect, genesys_cloud)",
            line=1,
        )
    try:
        names = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error as error:  # a first line over the csv module's field limit, or NUL bytes
        raise IngestError(
            "header.unreadable",
            f"the first line is not a CSV header ({error}; {len(first):,} bytes); export the file with a "
            "header line of column names",
            line=1,
        ) from None
    return [n.strip() for n in names], len(first) + (0 if end < 0 else 1)


def check_header(names: list[str], required: list[str], delimiter: str) -> None:
    """Reject a header with repeated names or without the required columns (hinting a wrong delimiter)."""
    counts = Counter(names)
    duplicated = sorted(n for n, c in counts.items() if c > 1)
    if duplicated:
        raise IngestError(
            "header.duplicate_column",
            f"the header repeats column(s) {duplicated}; each column must appear once",
            line=1,
        )
    missing = [c for c in required if c not in counts]
    if missing:
        hint = ""
        if len(names) == 1:
            found = [d for d in _DELIMITERS if d != delimiter and d in names[0]]
            if found:
                hint = f"; the header has one column — is the delimiter {found[0]!r}? Set [csv] delimiter"
        raise IngestError(
            "header.missing_column",
            f"required column(s) {missing} not in the header {names[:12]}{hint}; "
            "export them or fix the mapping's [columns]",
            line=1,
        )


class _Invalid:
    """pyarrow's invalid-row hook: keeps the text of rows that do not split into the header's columns."""

    def __init__(self) -> None:
        self.rows: list[pacsv.InvalidRow] = []

    def __call__(self, row: pacsv.InvalidRow) -> str:
        self.rows.append(row)
        return "skip"


def _last_boundary(buf: bytes | bytearray, end: int) -> int:
    """Offset just after the last newline before ``end`` that is outside quotes; -1 if there is none.

    ``buf`` starts at a row boundary, so a newline is outside quotes when the quotes before it are even.
    The common case is one ``count``; a block ending inside a quoted field walks back line by line.
    """
    pos = buf.rfind(b"\n", 0, end)
    if pos < 0:
        return -1
    if buf.find(_QUOTE, 0, pos) < 0:  # no quote at all: every newline ends a row
        return pos + 1
    parity = buf.count(_QUOTE, 0, pos) & 1
    while parity:
        prev = buf.rfind(b"\n", 0, pos)
        if prev < 0:
            return -1
        parity ^= buf.count(_QUOTE, prev, pos) & 1
        pos = prev
    return pos + 1


def _physical_lines(data: bytes | bytearray, size: int, records: int) -> int:
    """Lines ``data[:size]`` spans. Without quotes or carriage returns each line is one record (parsed
    or rejected), so the answer is known without counting newlines (finding one byte, memchr, stops at
    the first; ``count`` reads them all)."""
    if data.find(_QUOTE, 0, size) < 0 and data.find(b"\r", 0, size) < 0:
        return records
    return data.count(b"\n", 0, size) + (0 if data.endswith(b"\n", 0, size) else 1)


def _locate(chunk: bytes, text: str, cursor: int) -> int:
    """Byte offset of the line-start where a rejected row's ``text`` begins, searching from ``cursor``."""
    needle = text.encode("utf-8")
    pos = cursor
    while True:
        if needle:
            pos = chunk.find(needle, pos)
        else:  # a blank line: the next line start followed by (CR)LF
            while pos < len(chunk) and chunk[pos : pos + 1] not in (b"\n", b"\r"):
                nxt = chunk.find(b"\n", pos)
                pos = len(chunk) if nxt < 0 else nxt + 1
        if pos < 0 or pos >= len(chunk):
            return cursor
        if pos == 0 or chunk[pos - 1 : pos] == b"\n":
            return pos
        pos += 1


class _RowScan:
    """Where a row longer than the buffer ends, read block by block (see :meth:`_Blocks._long_row`).

    Positions are in the block buffer, which the reader empties as the scan passes; :meth:`passed`
    accounts for the bytes dropped (length, line ends, the first line's text, the scratch copy).
    """

    #: :meth:`step` answers: a quote ends the buffer (the byte after it decides), or the quote is a stray.
    NEEDS_MORE, STRAY = -2, -1

    def __init__(self, delimiter: bytes, buffer: bytearray) -> None:
        self.delimiter = delimiter
        self.head = bytes(buffer[:_KEPT_TEXT_BYTES])
        self.pos = 0
        self.quoted = False
        self.before = b"\n"  # the byte before buffer[0]: a row starts after a line end
        self.newline_at = -1  # the next line end at or after pos (end of buffer: none), while unquoted
        self.first_line = bytearray()
        self.first_line_done = False
        self.spool: IO[bytes] | None = None
        self.length = 0
        self.newlines = 0
        self.ended_by_newline = False

    def step(self, buffer: bytearray, end: int, eof: bool) -> int | None:
        """Scan on from ``pos``: None to go on, :data:`NEEDS_MORE`, :data:`STRAY`, or the row's size."""
        pos = self.pos
        if pos >= end:  # the stream ended
            return self.STRAY if self.quoted else end
        quote = buffer.find(_QUOTE, pos, end)
        if self.quoted:
            if quote < 0:
                self.pos = end
                return None
            if quote + 1 >= end and not eof:
                self.pos = quote
                return self.NEEDS_MORE
            after = bytes(buffer[quote + 1 : quote + 2])
            if after == _QUOTE:  # "" inside a quoted field
                self.pos = quote + 2
            elif after in (self.delimiter, b"\r", b"\n", b""):
                self.quoted = False
                self.pos = quote + 1
            else:
                return self.STRAY
            return None
        if self.newline_at < pos:
            found = buffer.find(b"\n", pos, end)
            self.newline_at = end if found < 0 else found
        if self.newline_at < end and (quote < 0 or self.newline_at < quote):
            self.ended_by_newline = True
            return self.newline_at + 1
        if quote < 0:
            self.pos = end
            return None
        before = bytes(buffer[quote - 1 : quote]) if quote else self.before
        if before not in (self.delimiter, b"\n"):
            return self.STRAY
        self.quoted = True
        self.pos = quote + 1
        return None

    def take_first_line(self, buffer: bytearray, size: int) -> None:
        """Note the part of the row's first line in ``buffer[:size]`` (its text is kept for a reject)."""
        room = MAX_FIELD_CHARS - len(self.first_line)
        if room > 0:
            self.first_line += buffer[: min(size, room)]
        self.first_line_done = buffer.endswith(b"\n", 0, size)

    def passed(self, buffer: bytearray, size: int, keep: bool) -> None:
        """``buffer[:size]`` is dropped; with ``keep`` the part after the first line goes to the spool."""
        if not size:
            return
        self.length += size
        self.newlines += buffer.count(b"\n", 0, size)
        start = 0
        if not self.first_line_done:
            newline = buffer.find(b"\n", 0, size)
            start = size if newline < 0 else newline + 1
            self.take_first_line(buffer, start)
        if keep and self.first_line_done and start < size:
            if self.spool is None:
                self.spool = tempfile.TemporaryFile(prefix="contactlake-row-")  # noqa: SIM115 - closed by the reader
            with memoryview(buffer) as view:
                self.spool.write(view[start:size])
        self.before = bytes(buffer[size - 1 : size])
        self.pos -= size
        self.newline_at = -1


class _Replayed(io.RawIOBase):
    """The bytes a stray quote's row passed over (from the scratch file), then the rest of the stream."""

    def __init__(self, spool: IO[bytes], rest: BinaryIO) -> None:
        self.spool: IO[bytes] | None = spool
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.spool is not None:
            count = self.spool.readinto(buffer)  # type: ignore[attr-defined]
            if count:
                return int(count)
            self.spool.close()
            self.spool = None
        return int(self.rest.readinto(buffer) or 0)  # type: ignore[attr-defined]


class _Blocks:
    """Cuts a UTF-8 stream into row-aligned chunks and parses each with pyarrow.

    The bytes read but not yet parsed are ``buffer[:end]``, always starting at a row boundary. One
    buffer serves the whole file: the stream reads into it, pyarrow parses a view of it, and only the
    part after the last row moves to the front. (A fresh ``bytes`` per block, joined to the leftover and
    cut again, touched new memory, a page fault per 4 KiB, for every block; docs/benchmarks.md has what
    that cost.) pyarrow's columns never point into the buffer, so it is reused as soon as a chunk is parsed.
    """

    def __init__(
        self, stream: BinaryIO, names: list[str], delimiter: str, block_bytes: int, first_line: int
    ) -> None:
        self.stream, self.names, self.delimiter = stream, names, delimiter
        self.block_bytes = block_bytes
        self.line = first_line
        # A block and the part-row left over from the one before (it grows for a longer leftover).
        self.buffer = bytearray(block_bytes + MAX_ROW_BYTES)
        self.end = 0
        self.eof = False
        self.convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )

    def _fill(self, want: int) -> None:
        """Read a block at a time until ``want`` bytes are pending or the stream ends."""
        while not self.eof and self.end < want:
            need = self.end + self.block_bytes
            if len(self.buffer) < need:  # a row longer than the buffer holds: a bigger one (rare)
                grown = bytearray(max(need, 2 * len(self.buffer)))
                grown[: self.end] = self.buffer[: self.end]
                self.buffer = grown
            with memoryview(self.buffer) as view:
                while self.end < need:
                    count = self.stream.readinto(view[self.end : need])  # type: ignore[attr-defined]
                    if not count:
                        self.eof = True
                        break
                    self.end += count

    def _consume(self, size: int) -> None:
        """Drop the first ``size`` pending bytes (parsed or rejected): the rest moves to the front."""
        rest = self.end - size
        if rest:
            self.buffer[:rest] = self.buffer[size : self.end]
        self.end = rest

    def _next_chunk(self) -> tuple[int, Reject | None]:
        """Size of the next row-aligned chunk (at the buffer's start), or a reject for a row whose quote
        never closes (then the size is 0 and the row is already consumed). A chunk holds at most
        :data:`MAX_BLOCK_LINES` lines."""
        size, reject = self._next_block()
        if size and self.buffer.count(b"\n", 0, size) > MAX_BLOCK_LINES:
            size = self._cut_at_lines(size)
        return size, reject

    def _cut_at_lines(self, size: int) -> int:
        """The last row boundary at or before the :data:`MAX_BLOCK_LINES`-th newline (short lines: a
        block of blank lines, a bomb of newlines, would otherwise be millions of rows at once)."""
        pos = -1
        for _ in range(MAX_BLOCK_LINES):
            pos = self.buffer.find(b"\n", pos + 1, size)
        cut = _last_boundary(self.buffer, pos + 1)
        return cut if cut > 0 else size

    def _next_block(self) -> tuple[int, Reject | None]:
        self._fill(self.block_bytes)
        while True:
            if self.eof:
                if not self.buffer.count(_QUOTE, 0, self.end) & 1:
                    return self.end, None
                cut = _last_boundary(self.buffer, self.end)
                if cut > 0:
                    return cut, None
                return 0, self._unbalanced()
            cut = _last_boundary(self.buffer, self.end)
            if cut > 0:
                return cut, None
            if self.end > MAX_ROW_BYTES:
                return 0, self._long_row()
            self._fill(self.end + self.block_bytes)

    def _unbalanced(self) -> Reject:
        """The first pending line, consumed as a row whose quote never closes."""
        newline = self.buffer.find(b"\n", 0, self.end)
        size = self.end if newline < 0 else newline + 1
        text = bytes(self.buffer[:size]).rstrip(b"\r\n").decode("utf-8", errors="replace")
        self._consume(size)
        return self._unbalanced_reject(text)

    def _unbalanced_reject(self, text: str) -> Reject:
        reject = Reject(
            self.line,
            text[:MAX_FIELD_CHARS],
            "row.unbalanced_quote",
            f"line {self.line} opens a quote that is never closed; quote the field or remove the quote",
        )
        self.line += 1
        return reject

    def _long_row(self) -> Reject:
        """The pending row is longer than :data:`MAX_ROW_BYTES`: one reject, read past a block at a time.

        The row is followed as RFC 4180 reads it: a quote opens a field only at the field's start, closes
        it only before a delimiter or a line end (``""`` is a quote inside it), and the row ends at the
        first line end outside quotes. A row that reads so (a 100 MB quoted field full of line ends, or a
        long line without quotes) is one ``row.too_long`` however many lines it spans, and the lines after
        it keep their numbers. A quote that breaks those rules, or never closes, is a stray: its first line
        is rejected as ``row.unbalanced_quote`` and reading resumes on the next line, from the bytes
        passed over meanwhile (kept in an unnamed scratch file, so memory stays one block).
        """
        scan = _RowScan(self.delimiter.encode(), self.buffer)
        while True:
            if scan.pos >= self.end and not self.eof:  # the buffer is scanned: read on
                self._pass(scan, scan.pos, keep=True)
                self._fill(self.block_bytes)
                continue
            found = scan.step(self.buffer, self.end, self.eof)
            if found is None:
                continue
            if found == _RowScan.NEEDS_MORE:
                self._pass(scan, scan.pos, keep=True)
                self._fill(self.block_bytes)
                continue
            if found == _RowScan.STRAY:
                return self._stray_quote(scan)
            self._pass(scan, found, keep=False)
            return self._too_long_reject(scan)

    def _pass(self, scan: _RowScan, size: int, keep: bool) -> None:
        """Drop ``size`` scanned bytes of the long row (noted by the scan first)."""
        scan.passed(self.buffer, size, keep)
        self._consume(size)

    def _too_long_reject(self, scan: _RowScan) -> Reject:
        if scan.spool is not None:
            scan.spool.close()
        lines = scan.newlines + (0 if scan.ended_by_newline else 1)
        spanned = f" over {lines:,} lines" if lines > 1 else ""
        reject = Reject(
            self.line,
            scan.head.decode("utf-8", errors="replace"),
            "row.too_long",
            f"line {self.line} starts a row of {scan.length:,} bytes{spanned} (a contact record is a few "
            "hundred); the row was skipped whole — check the export for a missing line end or a field "
            "that runs on",
        )
        self.line += scan.newlines
        return reject

    def _stray_quote(self, scan: _RowScan) -> Reject:
        """The row's quote is a stray: reject its first line and read on from the next one."""
        while not scan.first_line_done:  # the first line is still pending: skip to its end
            newline = self.buffer.find(b"\n", 0, self.end)
            if newline >= 0 or self.eof:
                size = newline + 1 if newline >= 0 else self.end
                scan.take_first_line(self.buffer, size)
                self._consume(size)
                break
            scan.take_first_line(self.buffer, self.end)
            self.end = 0
            self._fill(self.block_bytes)
        if scan.spool is not None:  # bytes after the first line were passed over: read them again
            with memoryview(self.buffer) as view:
                scan.spool.write(view[: self.end])
            self.end = 0
            scan.spool.seek(0)
            self.stream = cast(BinaryIO, _Replayed(scan.spool, self.stream))
            self.eof = False
        return self._unbalanced_reject(scan.first_line.rstrip(b"\r\n").decode("utf-8", errors="replace"))

    def __iter__(self) -> Iterator[CsvBlock]:
        while True:
            size, unbalanced = self._next_chunk()
            if unbalanced is not None:
                yield CsvBlock(_empty_batch(self.names), pa.array([], pa.int64()), [unbalanced])
                continue
            if not size:
                if self.eof and not self.end:
                    return
                continue
            block, cut = self._parse(size)
            if cut is None:
                self._consume(size)
                yield block
                continue
            # pyarrow ended the chunk inside a quoted field (a stray quote upset the quote count): the
            # rows before the open one are good; the open row is read again with what follows.
            self._consume(cut)
            if cut == 0:
                yield CsvBlock(_empty_batch(self.names), pa.array([], pa.int64()), [self._unbalanced()])
            elif block.batch.num_rows or block.rejects:
                yield block

    def _parse(self, size: int) -> tuple[CsvBlock, int | None]:
        """Parse the first ``size`` pending bytes; if pyarrow ended them inside quotes, also return where
        the open row starts."""
        invalid = _Invalid()
        try:
            table = pacsv.read_csv(
                pa.py_buffer(memoryview(self.buffer)[:size]),
                read_options=pacsv.ReadOptions(
                    column_names=self.names, use_threads=False, block_size=size + 1
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.delimiter,
                    newlines_in_values=True,
                    ignore_empty_lines=False,
                    invalid_row_handler=invalid,
                ),
                convert_options=self.convert,
            )
        except pa.ArrowInvalid as error:
            raise IngestError(
                "file.csv_unreadable", f"the CSV cannot be parsed after line {self.line}: {error}"
            ) from None
        batch = table.combine_chunks().to_batches()[0] if table.num_rows else _empty_batch(self.names)
        rejects = self._rejects(bytes(self.buffer[:size]), invalid.rows) if invalid.rows else []
        taken = {line for r in rejects for line in range(r.line or 0, (r.line or 0) + _span(r.raw_text))}
        physical = _physical_lines(self.buffer, size, batch.num_rows + len(invalid.rows))
        lines = _line_numbers(batch, self.line, taken, physical - len(taken))
        open_line = _open_row_line(batch, lines, invalid.rows, rejects)
        if open_line is None:
            self.line += physical
            return CsvBlock(batch, lines, rejects), None
        cut = 0
        for _ in range(open_line - self.line):
            cut = self.buffer.index(b"\n", cut, size) + 1
        keep = pc.less(lines, open_line)
        block = CsvBlock(
            batch.filter(keep), lines.filter(keep), [r for r in rejects if (r.line or 0) < open_line]
        )
        self.line = open_line
        return block, cut

    def _rejects(self, chunk: bytes, rows: list[pacsv.InvalidRow]) -> list[Reject]:
        rejects, cursor = [], 0
        for row in rows:
            text = row.text or ""
            pos = _locate(chunk, text, cursor)
            line = self.line + chunk.count(b"\n", 0, pos)
            cursor = pos + len(text.encode("utf-8")) + 1
            message = f"line {line} has {row.actual_columns} fields; the header has {row.expected_columns}"
            rejects.append(Reject(line, text[:MAX_FIELD_CHARS], "row.ragged", message))
        return rejects


def _open_row_line(
    batch: pa.RecordBatch, lines: pa.Array, invalid: list[pacsv.InvalidRow], rejects: list[Reject]
) -> int | None:
    """The line of the chunk's last row if pyarrow was still inside quotes when the chunk ended.

    pyarrow accepts a quoted field left open at the end of its input; the chunk's final newline then
    ends up *inside* the last row's value, so a parsed row ending in a newline is an open row. A
    rejected row's text comes without its newline: an odd number of quotes in it marks it open.
    """
    last_valid = lines[-1].as_py() if len(lines) else None
    last_invalid = rejects[-1].line if rejects else None
    if last_valid is not None and (last_invalid is None or last_valid > last_invalid):
        tail = batch.slice(batch.num_rows - 1)
        if any(pc.any(pc.ends_with(column, "\n")).as_py() for column in tail.columns):
            return int(last_valid)
        return None
    if last_invalid is not None and (invalid[-1].text or "").count('"') % 2:
        return last_invalid
    return None


def _span(text: str | None) -> int:
    return 1 + (text or "").count("\n")


def _empty_batch(names: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], pa.string()) for _ in names], names=names)


def _line_numbers(batch: pa.RecordBatch, first_line: int, taken: set[int], lines_for_rows: int) -> pa.Array:
    """Line of each parsed row: rows advance by 1 + the newlines inside their values; rejects are skipped.

    ``lines_for_rows`` is how many physical lines the parsed rows occupy: when it equals the row count no
    value holds a newline, and the lines are a plain range (the common case costs nothing per column).
    """
    n = batch.num_rows
    if lines_for_rows == n and not taken:
        return pa.array(np.arange(first_line, first_line + n, dtype=np.int64))
    extra = None
    for column in batch.columns:
        counts = pc.count_substring(column, "\n")
        if n and pc.max(counts).as_py():
            extra = counts if extra is None else pc.add(extra, counts)
    if extra is None and not taken:
        return pa.array(np.arange(first_line, first_line + n, dtype=np.int64))
    spans = extra.to_pylist() if extra is not None else [0] * n
    lines, line = [], first_line
    for span in spans:
        while line in taken:
            line += 1
        lines.append(line)
        line += 1 + span
    return pa.array(lines, pa.int64())


def iter_csv_blocks(
    stream: BinaryIO,
    delimiter: str,
    required: list[str],
    block_bytes: int = BLOCK_BYTES,
) -> tuple[list[str], Iterator[CsvBlock]]:
    """Header names (checked) and the file's blocks; ``stream`` is the decoded UTF-8 stream."""
    names, header_bytes = read_header(stream, delimiter)
    check_header(names, required, delimiter)
    stream.read(header_bytes)
    return names, iter(_Blocks(stream, names, delimiter, block_bytes, first_line=2))


#: Above this many runs of kept rows a batch is filtered (copied) rather than sliced.
MAX_KEPT_RUNS = 64


def kept_rows(table: pa.Table, keep: npt.NDArray[np.bool_]) -> pa.Table:
    """``table.filter(keep)``, without copying when only a few rows go.

    A batch of an export usually loses a handful of rejected rows; a filter would copy every column of
    the other hundred thousand (the costliest Arrow call of an ingest). The runs of kept rows are
    zero-copy slices instead, joined as the chunks of one table.
    """
    if keep.all():
        return table
    changes = np.flatnonzero(keep[1:] != keep[:-1]) + 1
    bounds = [0, *changes.tolist(), len(keep)]
    runs = [(start, end) for start, end in itertools.pairwise(bounds) if keep[start]]
    if len(runs) > MAX_KEPT_RUNS:
        return table.filter(pa.array(keep))
    if not runs:
        return table.slice(0, 0)
    return pa.concat_tables([table.slice(start, end - start) for start, end in runs])
