"""Vectorised building blocks every adapter uses to turn source columns into canonical contacts.

Checks are accumulated per row as "the first rule that failed" (:class:`RowChecks`), so a batch is
parsed in a handful of Arrow kernels whatever its size, and every rejected row carries one rule id and
one message that says what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from contactlake import schema
from contactlake.pii import pseudonymise_array

__all__ = [
    "RowChecks",
    "build_contacts",
    "local_to_utc",
    "parse_numbers",
    "parse_timestamps",
    "utc_to_local",
]

_ISO = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
_MS = pa.timestamp("ms")


@dataclass
class RowChecks:
    """Per-row first-failure bookkeeping for one batch."""

    length: int
    rule: pa.Array = field(init=False)
    messages: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rule = pa.nulls(self.length, pa.string())

    def fail(self, mask: pa.Array | pa.ChunkedArray, rule_id: str, message: str) -> None:
        """Mark rows where ``mask`` is true (nulls count as false) with ``rule_id``, unless already marked."""
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return
        fresh = pc.and_(mask, pc.is_null(self.rule))
        self.rule = pc.if_else(fresh, pa.scalar(rule_id), self.rule)
        self.messages.setdefault(rule_id, message)

    @property
    def ok(self) -> pa.Array:
        return pc.is_null(self.rule)

    def message_for(self, rule_id: str) -> str:
        return self.messages.get(rule_id, rule_id)


def parse_numbers(
    values: pa.Array | pa.ChunkedArray, checks: RowChecks, column: str, thousands: str | None = None
) -> pa.Array:
    """Strings to float64; blanks become null; '1,234' (with a thousands separator) and '1.2e3' parse."""
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    if thousands:
        text = pc.replace_substring(text, thousands, "")
    valid_shape = pc.match_substring_regex(text, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
    bad = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(valid_shape, False)))
    checks.fail(bad, "number.invalid", f"{column} is not a number (use digits, '.', optional exponent)")
    clean = pc.if_else(bad, pa.scalar(None, pa.string()), text)
    return pc.cast(clean, pa.float64())


def _cast_each(text: pa.Array, target: pa.DataType) -> pa.Array:
    """Slow path for a batch where a well-shaped value is still not a date (e.g. 2024-02-30)."""
    out = []
    for value in text.to_pylist():
        try:
            out.append(pa.array([value], pa.string()).cast(target)[0].as_py() if value else None)
        except (pa.ArrowInvalid, ValueError):
            out.append(None)
    return pa.array(out, target)


def _cast_timestamps(text: pa.Array, target: pa.DataType) -> pa.Array:
    try:
        return pc.cast(text, target)
    except pa.ArrowInvalid:
        return _cast_each(text, target)


def local_to_utc(
    naive: pa.Array, zone: str, checks: RowChecks | None = None, column: str = "timestamp"
) -> pa.Array:
    """Wall-clock times in ``zone`` to zone-less UTC; nonexistent or ambiguous (DST) times are rejected.

    Never shifted silently: a time that exists twice (clocks back) or not at all (clocks forward) is
    marked with its own rule so the centre can re-export it with an offset.
    """
    early = pc.assume_timezone(naive, timezone=zone, ambiguous="earliest", nonexistent="earliest")
    late = pc.assume_timezone(naive, timezone=zone, ambiguous="latest", nonexistent="latest")
    if checks is not None:
        differs = pc.not_equal(early, late)
        # Both resolutions of a nonexistent time land on the gap's edges, one of which is not the input.
        roundtrip = pc.cast(pc.local_timestamp(early), _MS)
        nonexistent = pc.and_(differs, pc.not_equal(roundtrip, pc.cast(naive, _MS)))
        ambiguous = pc.and_(differs, pc.invert(nonexistent))
        checks.fail(
            nonexistent,
            "timestamp.dst_nonexistent",
            f"{column} is a local time that does not exist (clocks went forward); export it with a UTC offset",
        )
        checks.fail(
            ambiguous,
            "timestamp.dst_ambiguous",
            f"{column} is a local time that happened twice (clocks went back); export it with a UTC offset",
        )
    return pc.cast(pc.cast(early, pa.timestamp("ms", tz="UTC")), _MS)


def utc_to_local(utc: pa.Array | pa.ChunkedArray, zone: str) -> pa.Array:
    """Zone-less UTC to the zone's wall-clock time (zone-less), for local-time grains."""
    aware = pc.assume_timezone(utc, timezone="UTC")
    return pc.cast(pc.local_timestamp(pc.cast(aware, pa.timestamp("ms", tz=zone))), _MS)


def parse_timestamps(
    values: pa.Array | pa.ChunkedArray,
    checks: RowChecks,
    column: str,
    zone: str,
    fmt: str = "iso8601",
) -> pa.Array:
    """Strings to zone-less UTC ``timestamp[ms]``.

    ``fmt`` is ``iso8601`` (offsets honoured per row, so mixed offsets are fine; rows without one are in
    ``zone``) or a strptime pattern for wall-clock times in ``zone``.
    """
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if fmt == "iso8601":
        shaped = pc.fill_null(pc.match_substring_regex(text, _ISO), False)
        has_offset = pc.fill_null(pc.match_substring_regex(text, _OFFSET), False)
        local_text = pc.if_else(pc.and_(shaped, pc.invert(has_offset)), text, pa.scalar(None, pa.string()))
        offset_text = pc.if_else(pc.and_(shaped, has_offset), text, pa.scalar(None, pa.string()))
        naive = _cast_timestamps(local_text, _MS)
        aware = pc.cast(_cast_timestamps(offset_text, pa.timestamp("ms", tz="UTC")), _MS)
        parsed_local = local_to_utc(naive, zone, checks, column)
        result = pc.coalesce(aware, parsed_local)
    else:
        naive = pc.strptime(text, format=fmt, unit="ms", error_is_null=True)
        result = local_to_utc(naive, zone, checks, column)
    unparsed = pc.and_(pc.is_valid(text), pc.is_null(result))
    expected = "ISO 8601 (2024-03-01T09:30:00, optional offset)" if fmt == "iso8601" else repr(fmt)
    checks.fail(unparsed, "timestamp.invalid", f"{column} is not a timestamp in the format {expected}")
    return result


def _column(columns: Mapping[str, pa.Array], name: str, length: int) -> pa.Array:
    field_type = schema.CONTACTS.field(name).type
    value = columns.get(name)
    if value is None:
        return pa.nulls(length, field_type)
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    return value if value.type == field_type else pc.cast(value, field_type)


def build_contacts(
    columns: Mapping[str, pa.Array],
    length: int,
    *,
    source_system: str,
    upload_id: str,
    zone: str,
    pii_key: bytes,
    caller: pa.Array | None = None,
) -> pa.Table:
    """Assemble a canonical contacts table: fills constants, local time and the caller's keyed hash.

    ``columns`` holds canonical column names; any not given are null. ``caller`` (raw numbers or ids) is
    hashed here and never leaves this function.
    """
    values = dict(columns)
    values["source_system"] = pa.array([source_system] * length, pa.string())
    values["upload_id"] = pa.array([upload_id] * length, pa.string())
    if "initiated_utc" in values:
        values["initiated_local"] = utc_to_local(values["initiated_utc"], zone)
    if caller is not None:
        values["customer_key"] = pseudonymise_array(caller, pii_key)
    arrays = [_column(values, f.name, length) for f in schema.CONTACTS]
    return pa.Table.from_arrays(arrays, schema=schema.CONTACTS.remove_metadata().with_metadata(None))


_SAFE_ID = re.compile(r"^[A-Za-z0-9._:@/+-]{1,128}$")


def safe_identifier_mask(values: pa.Array) -> pa.Array:
    """True where an id is a plain token (ids end up in file names of test cases and in URLs)."""
    return pc.fill_null(pc.match_substring_regex(values, _SAFE_ID.pattern), False)
