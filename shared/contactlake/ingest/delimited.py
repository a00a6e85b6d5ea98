"""Rules every delimited source shares, and the split of a parsed block into stored, quarantined and
excluded rows.

The blocks come from the scanning kernel (:mod:`contactlake.kernels.csvblocks`); an adapter converts a
block's text columns to canonical tables, marks failures in a :class:`RowChecks`, and :func:`split_rows`
turns the block into a :class:`~contactlake.contract.ParsedBatch`: the kept rows, and every other row
quarantined with its own text and line, or counted under the exclusion that applied.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from contactlake.contract import ParsedBatch, Reject
from contactlake.ingest.canonical import RowChecks
from contactlake.ingest.rules import IN_FILE_MESSAGE, IN_FILE_RULE, first_of_each_id
from contactlake.kernels.csvblocks import MAX_FIELD_CHARS, CsvBlock, kept_rows
from contactlake.kernels.idhash import U64, remember_unique

__all__ = ["kept_mask", "raw_text", "split_rows", "structural_checks"]


def structural_checks(batch: pa.RecordBatch, names: list[str], checks: RowChecks) -> pa.Array:
    """Checks every delimited format shares; returns the mask of blank lines (all fields empty).

    A header repeated mid-file (two exports concatenated) is rejected, never read as data; an oversized
    field is rejected before any conversion looks at it.
    """
    repeated = None
    for index, column in enumerate(batch.columns[: min(3, len(names))]):
        same = pc.equal(column, names[index])
        repeated = same if repeated is None else pc.and_(repeated, same)
    if repeated is not None:
        checks.fail(repeated, "row.repeated_header", "the header line appears again inside the file")
    for column_name, column in zip(names, batch.columns, strict=True):
        # binary_length reads the offsets only; the limit is in bytes.
        too_long = pc.greater(pc.binary_length(column), MAX_FIELD_CHARS)
        checks.fail(too_long, "field.oversized", f"{column_name} is longer than {MAX_FIELD_CHARS} bytes")
    # pyarrow reads an empty line as a row of empty fields; a line of only spaces is a ragged row.
    blank = pc.equal(pc.binary_length(batch.column(0)), 0) if batch.num_columns else pa.array([], pa.bool_())
    if batch.num_rows and pc.any(blank).as_py():
        for column in batch.columns[1:]:
            blank = pc.and_(blank, pc.equal(pc.binary_length(column), 0))
    return blank


def raw_text(batch: pa.RecordBatch | pa.Table, delimiter: str) -> pa.Array:
    """The row's fields joined again: the quarantine keeps what the centre sent."""
    columns = [pc.fill_null(c, "") for c in batch.columns]
    return pc.binary_join_element_wise(*columns, delimiter)


def kept_mask(checks: RowChecks, excluded: Mapping[str, pa.Array] | None = None) -> pa.Array:
    """Rows that are stored: they passed every check and no exclusion applies."""
    ok = checks.ok
    for mask in (excluded or {}).values():
        if len(mask):
            ok = pc.and_(ok, pc.invert(pc.fill_null(mask, False)))
    return ok


def split_rows(
    block: CsvBlock,
    checks: RowChecks,
    delimiter: str,
    excluded: Mapping[str, pa.Array] | None = None,
    **tables: pa.Table,
) -> ParsedBatch:
    """Keep the rows that passed, quarantine the rest (with raw text and line), count exclusions.

    ``excluded`` maps a rule id (``row.blank_line``, ``excluded.phantom``…) to the rows it excludes; an
    excluded row is neither stored nor quarantined, whatever else is wrong with it (the first matching
    rule counts it). ``tables`` are canonical tables aligned row for row with ``block.batch``
    (``contacts=…``, ``agent_activity=…``); ``rows_read`` counts the block's rows plus its structural
    rejects, so ``rows_read == stored + quarantined + excluded`` holds for every block.
    """
    batch, lines = block.batch, block.lines
    parsed = ParsedBatch(rows_read=batch.num_rows + len(block.rejects), rejects=list(block.rejects))
    contacts = tables.get("contacts")
    stored_ids = None
    if contacts is not None:
        stored_ids = _reject_repeated_ids(contacts, kept_mask(checks, excluded), checks)
    ok = kept_mask(checks, excluded)
    bad = pc.invert(checks.ok)
    for rule_id, mask in (excluded or {}).items():
        if not len(mask):
            continue
        mask = pc.fill_null(mask, False)
        hit = pc.and_(mask, pc.invert(pc.fill_null(_excluded_before(excluded or {}, rule_id), False)))
        count = int(pc.sum(pc.cast(hit, pa.int64())).as_py() or 0)
        if count:
            parsed.excluded[rule_id] += count
        bad = pc.and_(bad, pc.invert(mask))
    keep = pc.fill_null(ok, False).to_numpy(zero_copy_only=False)
    for name, table in tables.items():
        setattr(parsed, name, kept_rows(table, keep))
    if stored_ids is not None and parsed.contacts is not None:
        positions, hashes = stored_ids
        remember_unique(parsed.contacts, hashes if keep.all() else hashes[keep[positions]])
    if len(bad) and pc.any(bad).as_py():
        rows = pc.indices_nonzero(bad)  # few rows: take them rather than filter every column
        texts = raw_text(batch.take(rows), delimiter)
        rules, messages = checks.first_failures(rows)
        parsed.rejects.extend(
            Reject(line, text, rule, message)
            for line, text, rule, message in zip(
                lines.take(rows).to_pylist(), texts.to_pylist(), rules, messages, strict=True
            )
        )
    return parsed


def _reject_repeated_ids(
    contacts: pa.Table, kept: pa.Array, checks: RowChecks
) -> tuple[npt.NDArray[np.intp], U64]:
    """Apply the in-file duplicate-id rule to the rows that are to be stored.

    Done here, before the one filter of the batch, so the quarantine keeps the row's own text. Returns
    the rows that were to be stored and their ids' hashes; the kept rows' hashes are noted beside the
    batch's contacts, so the commit stage neither hashes them again nor checks them twice.
    """
    stored = kept.to_numpy(zero_copy_only=False)
    positions = np.flatnonzero(stored)
    ids = contacts.select(["contact_id"])
    hashes, first = first_of_each_id(ids if len(positions) == len(stored) else ids.take(pa.array(positions)))
    if first is not None:
        repeated = np.zeros(len(stored), dtype=np.bool_)
        repeated[positions[~first]] = True
        checks.fail(pa.array(repeated), IN_FILE_RULE, IN_FILE_MESSAGE)
    return positions, hashes


def _excluded_before(excluded: Mapping[str, pa.Array], rule_id: str) -> pa.Array | None:
    """Rows already counted by an exclusion listed before ``rule_id`` (each row counts once)."""
    union = None
    for other, mask in excluded.items():
        if other == rule_id:
            break
        if len(mask):
            union = mask if union is None else pc.or_(union, mask)
    return union if union is not None else pa.scalar(False)
