"""Generic CSV: any ACD's delimited export, mapped to canonical fields by a mapping file.

The hot path is Arrow from end to end: :mod:`contactlake.kernels.csvblocks` cuts the stream into bounded,
row-aligned blocks parsed by pyarrow (all columns as strings, so a bad value rejects one row and never a
whole file), and every conversion and check is an Arrow compute kernel over the block. The same adapter
reads agent-activity exports (``kind = "agent_activity"`` mappings).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from contactlake.contract import IngestError, ParsedBatch, Upload
from contactlake.ingest.canonical import (
    RowChecks,
    build_contacts,
    parse_numbers,
    parse_timestamps,
    utc_to_local,
)
from contactlake.ingest.delimited import split_rows, structural_checks
from contactlake.ingest.mapping import ACTIVITY_FIELDS, CONTACT_FIELDS, Mapping
from contactlake.ingest.reader import open_decoded
from contactlake.ingest.rules import check_contacts
from contactlake.ingest.sources.base import AdapterContext
from contactlake.kernels.arrowtext import blank_as_null, trim_whitespace
from contactlake.kernels.csvblocks import MAX_FIELD_CHARS, CsvBlock, check_header, iter_csv_blocks
from contactlake.schema import AGENT_ACTIVITY

__all__ = ["MAX_FIELD_CHARS", "GenericCsvAdapter", "coded_values"]


class GenericCsvAdapter:
    name = "generic_csv"
    version = "2"
    #: A nightly export per centre/source/day: a corrected re-export replaces the earlier one.
    dataset_grain = "day"

    def read(self, stream: BinaryIO, upload: Upload, ctx: AdapterContext) -> Iterator[ParsedBatch]:
        mapping = ctx.mapping
        if mapping is None:
            raise IngestError(
                "config.mapping", f"source {upload.source!r} needs a mapping file in its configuration"
            )
        decoded, _encoding = open_decoded(stream, upload.key, upload.size, mapping.encoding)
        names, blocks = iter_csv_blocks(decoded, mapping.delimiter, [], ctx.block_bytes)
        mapping = _with_header_names(mapping, names)
        for block in blocks:
            yield self._convert(block, names, mapping, upload, ctx, upload.centre.timezone)

    def _convert(
        self,
        block: CsvBlock,
        names: list[str],
        mapping: Mapping,
        upload: Upload,
        ctx: AdapterContext,
        zone: str,
    ) -> ParsedBatch:
        batch = block.batch
        n = batch.num_rows
        checks = RowChecks(n, upload.centre.reject_flags)
        blank = structural_checks(batch, names, checks)
        excluded = {"row.blank_line": blank, **_exclusions(batch, names, mapping)}
        if mapping.kind == "agent_activity":
            activity = _activity(batch, block.lines, names, mapping, upload, checks, zone)
            return split_rows(block, checks, mapping.delimiter, excluded, agent_activity=activity)
        columns: dict[str, pa.Array] = {}
        caller = None
        for field_name, kind in CONTACT_FIELDS.items():
            raw = _field_text(batch, names, mapping, field_name, kind)
            chosen = _conditional(batch, names, mapping, field_name)
            if raw is None and chosen is None:
                continue
            if raw is None:
                raw = pa.nulls(n, pa.string())
            if chosen is not None:  # rows a condition set are not read from the column
                raw = pc.if_else(pc.is_valid(chosen), pa.scalar(None, pa.string()), raw)
            label = "+".join(mapping.sources(field_name)) or field_name
            if kind == "timestamp":
                columns[f"{field_name}_utc"] = parse_timestamps(
                    raw,
                    checks,
                    label,
                    mapping.zone_of(field_name, zone),
                    mapping.time_format_of(field_name),
                    measure=field_name != "initiated",  # only the start places the contact in time
                )
            elif kind == "number":
                number = parse_numbers(raw, checks, label, mapping.thousands, measure=True)
                if field_name.endswith("_count"):
                    fractional = pc.not_equal(number, pc.floor(number))
                    checks.fail(fractional, "number.not_integer", f"{label} must be a whole number")
                    number = pc.cast(pc.floor(number), pa.int32())
                columns[field_name] = number
            elif kind == "pii":
                caller = raw
            else:
                columns[field_name] = coded_values(
                    raw, field_name, mapping.values.get(field_name), checks, label
                )
                if chosen is not None:
                    columns[field_name] = pc.coalesce(blank_as_null(chosen), columns[field_name])
        for required in ("contact_id", "initiated_utc", "outcome"):
            value = columns.get(required)
            if value is not None:
                checks.fail(
                    pc.is_null(value), "required.missing", f"{required.removesuffix('_utc')} is empty"
                )
        table = build_contacts(
            columns,
            n,
            source_system=upload.adapter,
            upload_id=upload.upload_id,
            zone=upload.centre.timezone,
            pii_key=ctx.pii_key,
            caller=caller,
            source_line=block.lines,
        )
        table = check_contacts(table, checks)
        return split_rows(block, checks, mapping.delimiter, excluded, contacts=table)


def _text(batch: pa.RecordBatch, names: list[str], column: str) -> pa.Array:
    return pc.fill_null(trim_whitespace(batch.column(names.index(column))), "")


def _field_text(
    batch: pa.RecordBatch, names: list[str], mapping: Mapping, field_name: str, kind: str
) -> pa.Array | None:
    """A field's text: its column, or its columns joined (" " for times, "-" otherwise); blanks (or an
    absent column) take the mapping's default; None when the mapping gives neither."""
    sources = mapping.sources(field_name)
    default = mapping.defaults.get(field_name)
    if sources and all(s in names for s in sources):
        if len(sources) == 1:
            text = batch.column(names.index(sources[0]))
        else:
            separator = " " if kind == "timestamp" else "-"
            text = pc.binary_join_element_wise(*(_text(batch, names, s) for s in sources), separator)
        if default is not None:
            text = pc.if_else(pc.is_valid(blank_as_null(text)), text, pa.scalar(default))
        return text
    if default is not None:
        return pa.repeat(pa.scalar(default, pa.string()), batch.num_rows)
    return None


def _matches(batch: pa.RecordBatch, names: list[str], condition: dict[str, str]) -> pa.Array:
    """Rows where every column of ``condition`` holds its value ("!x": anything but x; "": blank)."""
    mask = pa.repeat(pa.scalar(True), batch.num_rows)
    for column, expected in condition.items():
        text = _text(batch, names, column)
        test = pc.not_equal(text, expected[1:]) if expected.startswith("!") else pc.equal(text, expected)
        mask = pc.and_(mask, test)
    return mask


def _conditional(
    batch: pa.RecordBatch, names: list[str], mapping: Mapping, field_name: str
) -> pa.Array | None:
    """The value the mapping's first matching condition sets for each row (null where none matches)."""
    entries = mapping.conditions.get(field_name)
    if not entries:
        return None
    chosen = pa.nulls(batch.num_rows, pa.string())
    for value, condition in entries:
        hit = pc.and_(_matches(batch, names, condition), pc.is_null(chosen))
        chosen = pc.if_else(hit, pa.scalar(value), chosen)
    return chosen  # "" where a condition blanked the field: the column is not read there


def _exclusions(batch: pa.RecordBatch, names: list[str], mapping: Mapping) -> dict[str, pa.Array]:
    """The mapping's ``[[exclude]]`` rules: rule id → rows it excludes."""
    found: dict[str, pa.Array] = {}
    for rule, condition in mapping.exclusions:
        mask = _matches(batch, names, condition)
        found[rule] = pc.or_(found[rule], mask) if rule in found else mask
    return found


def _with_header_names(mapping: Mapping, names: list[str]) -> Mapping:
    """The mapping with each mapped column named as the header spells it; every mapped column must exist.

    Headers are matched exactly, else ignoring letter case and surrounding spaces (``Queue`` for
    ``queue``, ``TALK_SECS`` for ``talk_secs``). A mapped column the header does not have at all rejects
    the file: storing its field as empty would change the figures with a clean manifest (a missing
    ``talk_secs`` makes every handle time zero). The mapping is fixed (remove the column) or the export
    is, then the upload replayed.
    """
    folded: dict[str, str] = {}
    for name in names:
        folded.setdefault(name.strip().casefold(), name)

    def find(source: str) -> str | None:
        return source if source in names else folded.get(source.strip().casefold())

    resolved: dict[str, str | list[str]] = {}
    missing: list[str] = []
    for field_name, source in mapping.columns.items():
        sources = [source] if isinstance(source, str) else source  # a field composed of several columns
        found = [find(column) for column in sources]
        missing += [column for column, hit in zip(sources, found, strict=True) if hit is None]
        if None not in found:
            hits = [hit for hit in found if hit is not None]
            resolved[field_name] = hits[0] if isinstance(source, str) else hits
    mapped = {
        c for source in mapping.columns.values() for c in ([source] if isinstance(source, str) else source)
    }
    # Required columns include those the mapping's conditions and exclusions test, matched exactly.
    missing_required = [
        c for c in mapping.required_columns if c in missing or (c not in mapped and c not in names)
    ]
    if missing_required:  # the kernel's message, with its hint when the delimiter is wrong
        check_header(names, missing_required, mapping.delimiter)
    if missing:
        raise IngestError(
            "header.missing_column",
            f"mapped column(s) {sorted(missing)} not in the header {names[:12]}; export them, or remove them "
            f"from the mapping's [columns] ({mapping.name}) and replay the upload",
            line=1,
        )
    return replace(mapping, columns=resolved)


def coded_values(
    raw: pa.Array, field_name: str, table: dict[str, str] | None, checks: RowChecks, source: str
) -> pa.Array:
    """Trimmed text (blank = null), translated through a code table when one is given.

    A value missing from the table is rejected with ``<field>.unknown_code``: the centre adds it to the
    mapping's ``[values.<field>]`` and replays the upload.
    """
    text = blank_as_null(trim_whitespace(raw))
    if not table:
        return text
    keys = pa.array(list(table), pa.string())
    mapped = pc.take(pa.array(list(table.values()), pa.string()), pc.index_in(text, keys))
    unknown = pc.and_(pc.is_valid(text), pc.is_null(mapped))
    if pc.any(unknown).as_py():
        messages = pc.binary_join_element_wise(
            f"{source} has the value '",
            text,
            f"', which is not in the mapping's [values.{field_name}] table; add it there",
            "",
        )
        checks.fail_rows(pc.fill_null(unknown, False), f"{field_name}.unknown_code", messages)
    return mapped


def _activity(
    batch: pa.RecordBatch,
    lines: pa.Array,
    names: list[str],
    mapping: Mapping,
    upload: Upload,
    checks: RowChecks,
    zone: str,
) -> pa.Table:
    n = batch.num_rows

    def col(field_name: str) -> pa.Array:
        text = _field_text(batch, names, mapping, field_name, ACTIVITY_FIELDS[field_name])
        return text if text is not None else pa.nulls(n, pa.string())

    def label(field_name: str) -> str:
        return "+".join(mapping.sources(field_name)) or field_name

    def when(field_name: str) -> pa.Array:
        zone_ = mapping.zone_of(field_name, zone)
        return parse_timestamps(
            col(field_name), checks, label(field_name), zone_, mapping.time_format_of(field_name)
        )

    started, ended = when("started"), when("ended")
    state = coded_values(col("state"), "state", mapping.values.get("state"), checks, label("state"))
    agent = trim_whitespace(col("agent_id"))
    checks.fail(pc.equal(agent, ""), "required.missing", "agent_id is empty")
    checks.fail(pc.is_null(state), "required.missing", "state is empty")
    duration = pc.divide(pc.cast(pc.subtract(ended, started), pa.int64()), 1000.0)
    checks.fail(pc.less(duration, 0), "time.end_before_start", "activity ends before it starts")
    team = trim_whitespace(col("team"))
    arrays = {
        "agent_id": agent,
        "team": blank_as_null(team),
        "state": pc.fill_null(state, "other"),
        "started_utc": pc.fill_null(started, pa.scalar(0, pa.timestamp("ms"))),
        "ended_utc": pc.fill_null(ended, pa.scalar(0, pa.timestamp("ms"))),
        "started_local": pc.fill_null(
            utc_to_local(started, upload.centre.timezone), pa.scalar(0, pa.timestamp("ms"))
        ),
        "duration_seconds": pc.fill_null(duration, 0.0),
        "source_system": pa.repeat(pa.scalar(upload.adapter, pa.string()), n),
        "upload_id": pa.repeat(pa.scalar(upload.upload_id, pa.string()), n),
        "source_line": lines,
        "quality_flags": checks.quality_flags,
    }
    return pa.Table.from_arrays([arrays[f.name] for f in AGENT_ACTIVITY], schema=AGENT_ACTIVITY)
