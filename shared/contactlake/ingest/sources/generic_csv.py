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
from contactlake.ingest.mapping import CONTACT_FIELDS, Mapping
from contactlake.ingest.reader import open_decoded
from contactlake.ingest.rules import check_contacts
from contactlake.ingest.sources.base import AdapterContext
from contactlake.kernels.arrowtext import blank_as_null, trim_whitespace
from contactlake.kernels.csvblocks import MAX_FIELD_CHARS, CsvBlock, check_header, iter_csv_blocks
from contactlake.schema import AGENT_ACTIVITY

__all__ = ["MAX_FIELD_CHARS", "GenericCsvAdapter", "coded_values"]


class GenericCsvAdapter:
    name = "generic_csv"
    version = "1"
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
        zone = upload.centre.timezone if mapping.zone == "centre" else mapping.zone
        for block in blocks:
            yield self._convert(block, names, mapping, upload, ctx, zone)

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
        checks = RowChecks(n)
        blank = structural_checks(batch, names, checks)
        if mapping.kind == "agent_activity":
            activity = _activity(batch, block.lines, names, mapping, upload, checks, zone)
            return split_rows(
                block, checks, mapping.delimiter, {"row.blank_line": blank}, agent_activity=activity
            )
        columns: dict[str, pa.Array] = {}
        caller = None
        for field_name, kind in CONTACT_FIELDS.items():
            source = mapping.columns.get(field_name)
            if source is not None and source in names:
                raw = batch.column(names.index(source))
            elif field_name in mapping.defaults:
                raw = pa.repeat(pa.scalar(mapping.defaults[field_name], pa.string()), n)
            else:
                continue
            label = source or field_name
            if kind == "timestamp":
                columns[f"{field_name}_utc"] = parse_timestamps(raw, checks, label, zone, mapping.time_format)
            elif kind == "number":
                number = parse_numbers(raw, checks, label, mapping.thousands)
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
        check_contacts(table, checks)
        return split_rows(block, checks, mapping.delimiter, {"row.blank_line": blank}, contacts=table)


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
    resolved, missing = {}, []
    for field_name, source in mapping.columns.items():
        found = source if source in names else folded.get(source.strip().casefold())
        if found is None:
            missing.append(source)
        else:
            resolved[field_name] = found
    missing_required = [c for c in mapping.required_columns if c in missing]
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
    checks.fail(
        unknown,
        f"{field_name}.unknown_code",
        f"{source} has a value not in the mapping's [values.{field_name}] table; add it there",
    )
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
        source = mapping.columns.get(field_name)
        if source is not None and source in names:
            return batch.column(names.index(source))
        return pa.repeat(pa.scalar(mapping.defaults.get(field_name), pa.string()), n)

    started = parse_timestamps(col("started"), checks, mapping.columns["started"], zone, mapping.time_format)
    ended = parse_timestamps(col("ended"), checks, mapping.columns["ended"], zone, mapping.time_format)
    state = coded_values(col("state"), "state", mapping.values.get("state"), checks, mapping.columns["state"])
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
    }
    return pa.Table.from_arrays([arrays[f.name] for f in AGENT_ACTIVITY], schema=AGENT_ACTIVITY)
