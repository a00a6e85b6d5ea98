"""Generic CSV: any ACD's delimited export, mapped to canonical fields by a mapping file.

The hot path is Arrow from end to end: pyarrow's streaming CSV reader reads bounded blocks (all columns
as strings, so a bad value rejects one row and never a whole file), and every conversion and check is an
Arrow compute kernel over the block.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from contactlake.ingest.canonical import RowChecks, build_contacts, parse_numbers, parse_timestamps, utc_to_local
from contactlake.ingest.mapping import CONTACT_FIELDS, Mapping
from contactlake.ingest.model import IngestError, ParsedBatch, Reject, Upload
from contactlake.ingest.reader import open_decoded
from contactlake.ingest.sources.base import AdapterContext
from contactlake.schema import AGENT_ACTIVITY
from contactlake.validate.rules import check_contacts

__all__ = ["GenericCsvAdapter", "MAX_FIELD_CHARS", "read_header"]

#: A longer field is not a contact-centre value (it is usually a broken quote swallowing lines).
MAX_FIELD_CHARS = 32 * 1024
BLOCK_BYTES = 16 * 1024 * 1024
_DELIMITERS = (",", ";", "\t", "|")


def read_header(stream: BinaryIO, delimiter: str) -> tuple[list[str], int]:
    """Parse the header line without consuming it; returns the names and the header's length in bytes."""
    peek = getattr(stream, "peek", None)
    head = bytes(peek(256 * 1024)) if peek else b""
    if not head.strip():
        raise IngestError("file.empty", "the file is empty (zero bytes or only blank lines); export it again")
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    text = first.decode("utf-8", errors="replace")
    names = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    return [n.strip() for n in names], len(first)


def _check_header(names: list[str], mapping: Mapping) -> None:
    counts = Counter(names)
    duplicated = sorted(n for n, c in counts.items() if c > 1)
    if duplicated:
        raise IngestError(
            "header.duplicate_column",
            f"the header repeats column(s) {duplicated}; each column must appear once",
            line=1,
        )
    missing = [c for c in mapping.required_columns if c not in counts]
    if missing:
        hint = ""
        if len(names) == 1:
            found = [d for d in _DELIMITERS if d != mapping.delimiter and d in names[0]]
            if found:
                hint = f"; the header has one column — is the delimiter {found[0]!r}? Set [csv] delimiter"
        raise IngestError(
            "header.missing_column",
            f"required column(s) {missing} not in the header {names[:12]}{hint}",
            line=1,
        )


class _InvalidRows:
    """Collects rows the CSV parser could not split into the header's columns."""

    def __init__(self, delimiter: str) -> None:
        self.rows: list[Reject] = []
        self.blank_lines = 0
        self.delimiter = delimiter

    def __call__(self, row: pacsv.InvalidRow) -> str:
        text = row.text or ""
        if row.actual_columns == 1 and not text.strip():
            self.blank_lines += 1
            return "skip"
        if text.count('"') % 2 == 1:
            rule, message = "row.unbalanced_quote", f"line {row.number} opens a quote that is never closed"
        else:
            rule = "row.ragged"
            message = f"line {row.number} has {row.actual_columns} fields; the header has {row.expected_columns}"
        self.rows.append(Reject(row.number, text[:MAX_FIELD_CHARS], rule, message))
        return "skip"

    def drain(self) -> tuple[list[Reject], int]:
        rows, blanks = self.rows, self.blank_lines
        self.rows, self.blank_lines = [], 0
        return rows, blanks


def _line_numbers(batch: pa.RecordBatch, first_line: int, skipped: list[int]) -> tuple[pa.Array, int]:
    """Line number of each row (exact with quoted newlines and skipped rows); returns the next line."""
    n = batch.num_rows
    extra = None
    for column in batch.columns:
        counts = pc.count_substring(column, "\n")
        if pc.max(counts).as_py():
            extra = counts if extra is None else pc.add(extra, pc.fill_null(counts, 0))
    if extra is None and not skipped:
        return pa.array(range(first_line, first_line + n), pa.int64()), first_line + n
    spans = pc.fill_null(extra, 0).to_pylist() if extra is not None else [0] * n
    taken = set(skipped)
    lines, line = [], first_line
    for span in spans:
        while line in taken:
            line += 1
        lines.append(line)
        line += 1 + span
    while line in taken:
        line += 1
    return pa.array(lines, pa.int64()), line


def _raw_text(batch: pa.RecordBatch, delimiter: str) -> pa.Array:
    return pc.binary_join_element_wise(*[pc.fill_null(c, "") for c in batch.columns], delimiter)


class GenericCsvAdapter:
    name = "generic_csv"

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]:
        mapping = ctx.mapping
        if mapping is None:
            raise IngestError("config.mapping", f"source {upload.source!r} needs a mapping file in its configuration")
        decoded, _encoding = open_decoded(stream, upload.key, upload.size, mapping.encoding)
        names, _ = read_header(decoded, mapping.delimiter)
        _check_header(names, mapping)
        invalid = _InvalidRows(mapping.delimiter)
        reader = pacsv.open_csv(
            decoded,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=ctx.block_bytes),
            parse_options=pacsv.ParseOptions(
                delimiter=mapping.delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        zone = upload.centre.timezone if mapping.zone == "centre" else mapping.zone
        next_line = 2
        header_row = pa.array(names, pa.string())
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as error:
                raise IngestError("file.csv_unreadable", f"the CSV cannot be parsed after line {next_line}: {error}")
            rejects, blanks = invalid.drain()
            lines, next_line = _line_numbers(batch, next_line, [r.line for r in rejects if r.line])
            parsed = self._convert(batch, lines, names, header_row, mapping, upload, ctx, zone)
            parsed.rejects[:0] = rejects
            parsed.rows_read += len(rejects) + blanks
            if blanks:
                parsed.excluded["row.blank_line"] += blanks
            yield parsed
        rejects, blanks = invalid.drain()
        if rejects or blanks:
            tail = ParsedBatch(rows_read=len(rejects) + blanks, rejects=rejects)
            if blanks:
                tail.excluded["row.blank_line"] = blanks
            yield tail

    def _convert(
        self,
        batch: pa.RecordBatch,
        lines: pa.Array,
        names: list[str],
        header_row: pa.Array,
        mapping: Mapping,
        upload: Upload,
        ctx: AdapterContext,
        zone: str,
    ) -> ParsedBatch:
        n = batch.num_rows
        checks = RowChecks(n)
        # A header repeated mid-file (two exports concatenated) is rejected, never read as data.
        repeated = None
        for index, column in enumerate(batch.columns[: min(3, len(names))]):
            same = pc.equal(column, header_row[index])
            repeated = same if repeated is None else pc.and_(repeated, same)
        if repeated is not None:
            checks.fail(repeated, "row.repeated_header", "the header line appears again inside the file")
        for column_name, column in zip(names, batch.columns, strict=True):
            too_long = pc.greater(pc.utf8_length(column), MAX_FIELD_CHARS)
            checks.fail(too_long, "field.oversized", f"{column_name} is longer than {MAX_FIELD_CHARS} characters")
        if mapping.kind == "agent_activity":
            table = _activity(batch, names, mapping, upload, checks, zone)
            return _split(batch, lines, checks, mapping.delimiter, activity=table)
        columns: dict[str, pa.Array] = {}
        caller = None
        for field_name, kind in CONTACT_FIELDS.items():
            source = mapping.columns.get(field_name)
            if source is not None and source in names:
                raw = batch.column(names.index(source))
            elif field_name in mapping.defaults:
                raw = pa.array([mapping.defaults[field_name]] * n, pa.string())
            else:
                continue
            if kind == "timestamp":
                columns[f"{field_name}_utc"] = parse_timestamps(raw, checks, source or field_name, zone, mapping.time_format)
            elif kind == "number":
                number = parse_numbers(raw, checks, source or field_name, mapping.thousands)
                if field_name.endswith("_count"):
                    fractional = pc.not_equal(number, pc.floor(number))
                    checks.fail(fractional, "number.not_integer", f"{source} must be a whole number")
                    number = pc.cast(pc.floor(number), pa.int32())
                columns[field_name] = number
            elif kind == "pii":
                caller = raw
            else:
                columns[field_name] = _coded(raw, field_name, mapping, checks, source or field_name)
        for required in ("contact_id", "initiated_utc", "outcome"):
            value = columns.get(required)
            if value is not None:
                checks.fail(pc.is_null(value), "required.missing", f"{required.removesuffix('_utc')} is empty")
        table = build_contacts(
            columns,
            n,
            source_system=upload.adapter,
            upload_id=upload.upload_id,
            zone=upload.centre.timezone,
            pii_key=ctx.pii_key,
            caller=caller,
        )
        table = table.set_column(table.schema.get_field_index("source_line"), "source_line", lines)
        check_contacts(table, checks)
        return _split(batch, lines, checks, mapping.delimiter, contacts=table)


def _coded(raw: pa.Array, field_name: str, mapping: Mapping, checks: RowChecks, source: str) -> pa.Array:
    text = pc.utf8_trim_whitespace(raw)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    table = mapping.values.get(field_name)
    if not table:
        return text
    keys = pa.array(list(table), pa.string())
    mapped = pc.take(pa.array(list(table.values()), pa.string()), pc.index_in(text, keys))
    unknown = pc.and_(pc.is_valid(text), pc.is_null(mapped))
    checks.fail(
        unknown,
        f"{field_name}.unknown_code",
        f"{source} has a value not in the mapping's [values.{field_name}] table; add it there",
    )
    return mapped


def _activity(
    batch: pa.RecordBatch, names: list[str], mapping: Mapping, upload: Upload, checks: RowChecks, zone: str
) -> pa.Table:
    n = batch.num_rows

    def col(field_name: str) -> pa.Array:
        source = mapping.columns.get(field_name)
        if source is not None and source in names:
            return batch.column(names.index(source))
        return pa.array([mapping.defaults.get(field_name)] * n, pa.string())

    started = parse_timestamps(col("started"), checks, mapping.columns["started"], zone, mapping.time_format)
    ended = parse_timestamps(col("ended"), checks, mapping.columns["ended"], zone, mapping.time_format)
    state = _coded(col("state"), "state", mapping, checks, mapping.columns["state"])
    agent = pc.utf8_trim_whitespace(col("agent_id"))
    checks.fail(pc.equal(agent, ""), "required.missing", "agent_id is empty")
    checks.fail(pc.is_null(state), "required.missing", "state is empty")
    duration = pc.divide(pc.cast(pc.subtract(ended, started), pa.int64()), 1000.0)
    checks.fail(pc.less(duration, 0), "time.end_before_start", "activity ends before it starts")
    arrays = {
        "agent_id": agent,
        "team": col("team"),
        "state": state,
        "started_utc": started,
        "ended_utc": ended,
        "started_local": utc_to_local(started, upload.centre.timezone),
        "duration_seconds": duration,
        "source_system": pa.array([upload.adapter] * n, pa.string()),
        "upload_id": pa.array([upload.upload_id] * n, pa.string()),
        "source_line": pa.nulls(n, pa.int64()),
    }
    return pa.Table.from_arrays([arrays[f.name] for f in AGENT_ACTIVITY], schema=AGENT_ACTIVITY)


def _split(
    batch: pa.RecordBatch,
    lines: pa.Array,
    checks: RowChecks,
    delimiter: str,
    contacts: pa.Table | None = None,
    activity: pa.Table | None = None,
) -> ParsedBatch:
    ok = checks.ok
    parsed = ParsedBatch(rows_read=batch.num_rows)
    if contacts is not None:
        parsed.contacts = contacts.filter(ok)
    if activity is not None:
        activity = activity.set_column(activity.schema.get_field_index("source_line"), "source_line", lines)
        parsed.agent_activity = activity.filter(ok)
    bad = pc.invert(ok)
    if pc.any(bad).as_py():
        raw = _raw_text(batch.filter(bad), delimiter)
        for line, text, rule in zip(
            lines.filter(bad).to_pylist(), raw.to_pylist(), checks.rule.filter(bad).to_pylist(), strict=True
        ):
            parsed.rejects.append(Reject(line, text, rule, checks.message_for(rule)))
    return parsed
