"""Vectorised building blocks every adapter uses to turn source columns into canonical contacts.

Checks are accumulated per row as "the first rule that failed" (:class:`RowChecks`), so a batch is
parsed in a handful of Arrow kernels whatever its size, and every rejected row carries one rule id and
one message that says what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import pyarrow.compute as pc

from contactlake import schema
from contactlake.kernels.arrowtext import blank_as_null, trim_whitespace
from contactlake.kernels.isotimes import plain_iso_ms
from contactlake.pii import pseudonymise_array

__all__ = [
    "RowChecks",
    "build_contacts",
    "local_to_utc",
    "parse_numbers",
    "parse_timestamps",
    "pathway_table",
    "utc_to_local",
]

_ISO = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
_MS = pa.timestamp("ms")
#: Seconds' fractions beyond milliseconds (the first three digits kept by the replacement).
_LONG_FRACTION = r"(\.\d{3})\d{1,6}"
_MINUTES_ONLY = r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})([^:\d]|$)"
_NO_TEXT = pa.scalar(None, pa.string())
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"
_ISO_PARTS = (
    ((0, 4), pc.year), ((5, 7), pc.month), ((8, 10), pc.day),
    ((11, 13), pc.hour), ((14, 16), pc.minute), ((17, 19), pc.second),
)  # fmt: skip
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


@dataclass
class RowChecks:
    """Per-row first-failure bookkeeping for one batch: which rule rejected a row, and why.

    Each failing rule keeps its boolean mask; only the union is maintained while checks run, so a
    check costs one kernel whatever the batch size. The rule id and message of a row (the *first* rule
    that failed it, in the order the checks ran) are worked out only for the rows that are rejected —
    usually a handful — instead of rewriting string columns on every check. One rule id can carry
    different messages (``time.duration_mismatch`` names the stage that disagrees), so messages are per
    failure, and may be per row (``fail_rows``).
    """

    length: int
    #: Flag rules the centre raised to rejections (``reject_flags`` in its configuration).
    rejecting: frozenset[str] = frozenset()
    _failures: list[tuple[pa.Array, str, str | pa.Array]] = field(init=False, default_factory=list)
    _failed: pa.Array | None = field(init=False, default=None)
    _flags: dict[str, pa.Array] = field(init=False, default_factory=dict)

    def flag(self, mask: pa.Array | pa.ChunkedArray, rule_id: str, message: str | pa.Array) -> None:
        """Mark rows where ``mask`` is true with the flag ``rule_id``: stored, with the rule id in
        ``quality_flags`` — or rejected with ``message`` (one, or one per row) when the centre raised the
        flag to a rejection."""
        if rule_id not in schema.QUALITY_FLAGS:
            raise ValueError(f"{rule_id!r} is not a flag rule; add it to schema.QUALITY_FLAGS")
        if rule_id in self.rejecting:
            self._record(mask, rule_id, message)
            return
        if isinstance(mask, pa.ChunkedArray):
            mask = mask.combine_chunks()
        if not pc.any(mask).as_py():
            return
        mask = pc.fill_null(mask, False)
        earlier = self._flags.get(rule_id)
        self._flags[rule_id] = mask if earlier is None else pc.or_(earlier, mask)

    def flagged(self, rule_id: str) -> pa.Array:
        """Rows flagged with ``rule_id`` (all false if none was)."""
        return self._flags.get(rule_id, pa.repeat(pa.scalar(False), self.length))

    @property
    def quality_flags(self) -> pa.Array:
        """Each row's flag rule ids, comma-separated in ``schema.QUALITY_FLAGS`` order; null if none."""
        if not self._flags:
            return pa.nulls(self.length, pa.string())
        joined: pa.Array = pa.nulls(self.length, pa.string())
        for rule_id in schema.QUALITY_FLAGS:
            mask = self._flags.get(rule_id)
            if mask is None:
                continue
            # Built flag by flag: binary_join_element_wise with null_handling="skip" drops rows (pyarrow 25).
            added = pc.binary_join_element_wise(joined, pa.scalar(rule_id), ",")
            joined = pc.if_else(mask, pc.coalesce(added, pa.scalar(rule_id)), joined)
        return joined

    def fail(self, mask: pa.Array | pa.ChunkedArray | pa.Scalar, rule_id: str, message: str) -> None:
        """Mark rows where ``mask`` is true (nulls count as false) with ``rule_id``, unless already marked."""
        self._record(mask, rule_id, message)

    def fail_rows(self, mask: pa.Array, rule_id: str, messages: pa.Array) -> None:
        """Like :meth:`fail`, with one message per row (adapters that know each row's own reason)."""
        self._record(mask, rule_id, messages)

    def _record(
        self, mask: pa.Array | pa.ChunkedArray | pa.Scalar, rule_id: str, message: str | pa.Array
    ) -> None:
        if isinstance(mask, pa.Scalar):
            if not mask.as_py():
                return
            mask = pa.repeat(pa.scalar(True), self.length)
        if isinstance(mask, pa.ChunkedArray):
            mask = mask.combine_chunks()
        if not pc.any(mask).as_py():  # nulls are skipped: most checks pass every row of a batch
            return
        if mask.null_count:
            mask = pc.fill_null(mask, False)
        self._failures.append((mask, rule_id, message))
        self._failed = mask if self._failed is None else pc.or_(self._failed, mask)

    def absorb(self, sub: RowChecks, rows: pa.Array) -> None:
        """Take over the failures of ``sub``, which checked the rows where ``rows`` (a mask) is true."""
        for mask, rule_id, message in sub._failures:
            spread = pc.replace_with_mask(pa.repeat(pa.scalar(False), self.length), rows, mask)
            if isinstance(message, pa.Array):
                message = pc.replace_with_mask(pa.nulls(self.length, pa.string()), rows, message)
            self._record(spread, rule_id, message)
        for rule_id, mask in sub._flags.items():
            spread = pc.replace_with_mask(pa.repeat(pa.scalar(False), self.length), rows, mask)
            self.flag(spread, rule_id, rule_id)

    @property
    def ok(self) -> pa.Array:
        """True for rows no check has failed."""
        if self._failed is None:
            return pa.repeat(pa.scalar(True), self.length)
        return pc.invert(self._failed)

    def first_failures(self, rows: pa.Array) -> tuple[list[str], list[str]]:
        """Rule id and message of the first failure of each row in ``rows`` (indices of rejected rows)."""
        found = self._first(rows)
        if any(f is None for f in found):
            raise ValueError("first_failures was given a row that passed every check")
        return [f[0] for f in found if f], [f[1] for f in found if f]

    def _first(self, rows: pa.Array) -> list[tuple[str, str] | None]:
        found: list[tuple[str, str] | None] = [None] * len(rows)
        pending = set(range(len(rows)))
        for mask, rule_id, message in self._failures:
            if not pending:
                break
            hits = pc.take(mask, rows).to_pylist()
            per_row = pc.take(message, rows).to_pylist() if isinstance(message, pa.Array) else None
            for position in [p for p in pending if hits[p]]:
                found[position] = (rule_id, per_row[position] if per_row is not None else message)
                pending.discard(position)
        return found

    @property
    def rule(self) -> pa.Array:
        """Every row's first failing rule (null where it passed); for tests and small batches."""
        found = self._first(pa.array(range(self.length), pa.int64()))
        return pa.array([f[0] if f else None for f in found], pa.string())

    @property
    def message(self) -> pa.Array:
        """Every row's first failure message (null where it passed); for tests and small batches."""
        found = self._first(pa.array(range(self.length), pa.int64()))
        return pa.array([f[1] if f else None for f in found], pa.string())


def parse_numbers(
    values: pa.Array | pa.ChunkedArray,
    checks: RowChecks,
    column: str,
    thousands: str | None = None,
    *,
    measure: bool = False,
) -> pa.Array:
    """Strings to float64; blanks become null; '1,234' (with a thousands separator) and '1.2e3' parse.

    A value that is not a number rejects its row (``number.invalid``), unless the column is a ``measure``
    (a duration or count, which neither identifies nor places the contact): then the row is stored with
    the flag ``number.invalid`` and the value as null (``schema.QUALITY_FLAGS``).
    """
    text = blank_as_null(values)
    if thousands:
        text = pc.replace_substring(text, thousands, "")
    message = f"{column} is not a number (use digits, '.', optional exponent)"
    try:
        number = pc.cast(text, pa.float64())  # the usual export: plain numbers, no padding
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = blank_as_null(trim_whitespace(text))
    else:
        return _finite(number, checks, message, measure)
    try:
        # Fast path: one cast for the whole column; Arrow's parser also takes "nan"/"inf", not numbers.
        number = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        valid_shape = pc.match_substring_regex(text, _NUMBER)
        bad = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(valid_shape, False)))
        _invalid(checks, bad, "number.invalid", message, measure)
        return pc.cast(pc.if_else(bad, pa.scalar(None, pa.string()), text), pa.float64())
    return _finite(number, checks, message, measure)


def _invalid(checks: RowChecks, mask: pa.Array, rule_id: str, message: str, measure: bool) -> None:
    """An unreadable value: a flag on a measure (the value nulled by the caller), else a rejection."""
    if measure:
        checks.flag(mask, rule_id, message)
    else:
        checks.fail(mask, rule_id, message)


def _finite(number: pa.Array, checks: RowChecks, message: str, measure: bool) -> pa.Array:
    """Arrow's parser also reads "nan" and "inf": they are not numbers a contact centre exports."""
    not_finite = pc.invert(pc.fill_null(pc.is_finite(number), True))
    if pc.any(not_finite).as_py():
        _invalid(checks, not_finite, "number.invalid", message, measure)
        number = pc.if_else(not_finite, pa.scalar(None, pa.float64()), number)
    return number


def _cast_each(text: pa.Array, target: pa.DataType) -> pa.Array:
    """Last resort, per row: only reached when a value passes every vectorised check and still fails."""
    out = []
    for value in text.to_pylist():
        try:
            out.append(pa.array([value], pa.string()).cast(target)[0].as_py() if value else None)
        except (pa.ArrowInvalid, ValueError):
            out.append(None)
    return pa.array(out, target)


def _real_dates(text: pa.Array) -> pa.Array:
    """True where the date and time of an ISO-shaped string exist (no 2024-02-30, no 25:61).

    strptime alone rolls 30 February over to 1 March, so each field of the parsed value must equal the
    digits written (``text`` is ISO-shaped, so the slices are digits).
    """
    # Seconds written out where only HH:MM is (also before an offset: "09:30+05:30"), then the first 19.
    body = pc.replace_substring_regex(text, _MINUTES_ONLY, r"\1T\2:00\3")
    body = pc.utf8_slice_codeunits(pc.replace_substring(body, " ", "T", max_replacements=1), 0, 19)
    parsed = pc.strptime(body, format=_ISO_FORMAT, unit="s", error_is_null=True)
    real = pc.is_valid(parsed)
    for (start, end), part in _ISO_PARTS:
        written = pc.cast(pc.utf8_slice_codeunits(body, start, end), pa.int64())
        real = pc.and_(real, pc.equal(part(parsed), written))
    return pc.fill_null(real, False)


def _cast_timestamps(text: pa.Array, target: pa.DataType) -> pa.Array:
    """ISO strings to timestamps in one cast; a batch with impossible dates nulls those rows first."""
    try:
        return pc.cast(text, target)
    except pa.ArrowInvalid:
        pass
    try:
        cleaned = pc.if_else(_real_dates(text), text, _NO_TEXT)
    except pa.ArrowInvalid:
        return _cast_each(text, target)
    try:
        return pc.cast(cleaned, target)
    except pa.ArrowInvalid:
        return _cast_each(cleaned, target)


def _fixed_offset(values: pa.Array | pa.ChunkedArray, zone: str) -> timedelta | None:
    """The zone's UTC offset if it is the same throughout the values' span (±1 day), else None.

    A night's export spans a day or two, so almost every batch lies between two DST changes: then one
    subtraction converts the whole column, exactly, instead of a time-zone lookup per value. The offset
    is sampled at every midnight of the span (no zone changes its offset twice within a day), so a batch
    containing a change takes the general path with its per-row DST rules.
    """
    bounds = pc.min_max(values)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is None or high is None:
        return timedelta(0)
    try:
        tz = ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        return None
    day = datetime(low.year, low.month, low.day) - timedelta(days=1)
    last = high + timedelta(days=1)
    offset = tz.utcoffset(day)
    while day <= last:
        day += timedelta(days=1)
        if tz.utcoffset(day) != offset:
            return None
    return offset


def local_to_utc(
    naive: pa.Array, zone: str, checks: RowChecks | None = None, column: str = "timestamp"
) -> pa.Array:
    """Wall-clock times in ``zone`` to zone-less UTC; nonexistent or ambiguous (DST) times are rejected.

    Never shifted silently: a time that exists twice (clocks back) or not at all (clocks forward) is
    marked with its own rule so the centre can re-export it with an offset.
    """
    offset = _fixed_offset(naive, zone)
    if offset is not None:  # no DST change anywhere near the batch: every time exists exactly once
        return pc.cast(pc.subtract(pc.cast(naive, _MS), pa.scalar(offset, pa.duration("ms"))), _MS)
    try:
        exact = pc.assume_timezone(naive, timezone=zone, ambiguous="raise", nonexistent="raise")
        return pc.cast(pc.cast(exact, pa.timestamp("ms", tz="UTC")), _MS)
    except pa.ArrowInvalid:
        pass
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
            f"{column} is a local time that does not exist (clocks went forward); export it with an offset",
        )
        checks.fail(
            ambiguous,
            "timestamp.dst_ambiguous",
            f"{column} is a local time that happened twice (clocks went back); export it with a UTC offset",
        )
    return pc.cast(pc.cast(early, pa.timestamp("ms", tz="UTC")), _MS)


def utc_to_local(utc: pa.Array | pa.ChunkedArray, zone: str) -> pa.Array:
    """Zone-less UTC to the zone's wall-clock time (zone-less), for local-time grains."""
    offset = _fixed_offset(utc, zone)
    if offset is not None:
        shifted = pc.add(pc.cast(utc, _MS), pa.scalar(offset, pa.duration("ms")))
        return shifted.combine_chunks() if isinstance(shifted, pa.ChunkedArray) else shifted
    aware = pc.assume_timezone(utc, timezone="UTC")
    return pc.cast(pc.local_timestamp(pc.cast(aware, pa.timestamp("ms", tz=zone))), _MS)


def parse_timestamps(
    values: pa.Array | pa.ChunkedArray,
    checks: RowChecks,
    column: str,
    zone: str,
    fmt: str = "iso8601",
    *,
    measure: bool = False,
) -> pa.Array:
    """Strings to zone-less UTC ``timestamp[ms]``.

    ``fmt`` is ``iso8601`` (offsets honoured per row, so mixed offsets are fine; rows without one are in
    ``zone``) or a strptime pattern for wall-clock times in ``zone``. A value that is not a time rejects
    its row (``timestamp.invalid``), unless the column is a ``measure`` (a time that does not place the
    contact: answer, end…): then the row is stored with the flag ``timestamp.invalid`` and a null time.
    """
    text = blank_as_null(values)
    if fmt == "iso8601":
        fast = _naive_iso(text)
        if fast is None:
            text = _to_milliseconds(text)
            fast = _naive_iso(text)
        if fast is not None:  # the usual export: clean local ISO times, one cast for the column
            return local_to_utc(fast, zone, checks, column)
        return _parse_iso_mixed(text, checks, column, zone, measure)
    return _parse_general(text, checks, column, zone, fmt, measure)


def _parse_iso_mixed(text: pa.Array, checks: RowChecks, column: str, zone: str, measure: bool) -> pa.Array:
    """A column the one-cast path refused: plain local times in one numpy pass, the rest row by rule.

    Rows in the plain ``YYYY-MM-DDTHH:MM:SS`` shape are parsed together; the others (offsets, fractions,
    a space for the 'T', impossible dates, junk) — usually a handful — go through the general path on
    their own, and their failures are mapped back onto the batch.
    """
    plain_rows, millis = plain_iso_ms(text)
    plain = pa.array(plain_rows)
    parsed = pa.array(millis, pa.int64(), mask=~plain_rows).cast(_MS)
    result = local_to_utc(parsed, zone, checks, column)
    rest = pc.and_(pc.is_valid(text), pc.invert(plain))
    if not pc.any(rest).as_py():
        return result
    rows = pc.indices_nonzero(rest)
    sub = RowChecks(len(rows), checks.rejecting)
    converted = _parse_general(pc.take(text, rows), sub, column, zone, "iso8601", measure)
    checks.absorb(sub, rest)
    return pc.replace_with_mask(result, rest, converted)


def _parse_general(
    text: pa.Array, checks: RowChecks, column: str, zone: str, fmt: str, measure: bool = False
) -> pa.Array:
    """Every accepted shape, with a rule for each row that fits none (the slow path: few rows reach it)."""
    text = blank_as_null(trim_whitespace(text))
    if fmt == "iso8601":
        shaped = pc.fill_null(pc.match_substring_regex(text, _ISO), False)
        has_offset = pc.fill_null(pc.match_substring_regex(text, _OFFSET), False)
        all_shaped = pc.all(pc.or_(shaped, pc.is_null(text))).as_py()
        if not pc.any(has_offset).as_py():  # the usual export: every time is local, none has an offset
            naive = _cast_timestamps(text if all_shaped else pc.if_else(shaped, text, _NO_TEXT), _MS)
            result = local_to_utc(naive, zone, checks, column)
        else:
            local_text = pc.if_else(pc.and_(shaped, pc.invert(has_offset)), text, _NO_TEXT)
            offset_text = pc.if_else(pc.and_(shaped, has_offset), text, _NO_TEXT)
            naive = _cast_timestamps(local_text, _MS)
            aware = pc.cast(_cast_timestamps(offset_text, pa.timestamp("ms", tz="UTC")), _MS)
            result = pc.coalesce(aware, local_to_utc(naive, zone, checks, column))
    else:
        naive = pc.strptime(text, format=fmt, unit="ms", error_is_null=True)
        result = local_to_utc(naive, zone, checks, column)
    unparsed = pc.and_(pc.is_valid(text), pc.is_null(result))
    message = (
        _iso_message(column) if fmt == "iso8601" else f"{column} is not a timestamp in the format {fmt!r}"
    )
    _invalid(checks, unparsed, "timestamp.invalid", message, measure)
    return result


def _to_milliseconds(text: pa.Array) -> pa.Array:
    """Fractions of a second cut to milliseconds (the lake's unit): ISO 8601 allows any number of
    digits, Arrow's millisecond cast accepts at most three. Only a batch that has longer ones pays."""
    longer = pc.match_substring_regex(text, _LONG_FRACTION)
    if not pc.any(longer).as_py():
        return text
    return pc.replace_substring_regex(text, _LONG_FRACTION, r"\1")


def _iso_message(column: str) -> str:
    return f"{column} is not a timestamp in the format ISO 8601 (2024-03-01T09:30:00, optional offset)"


def _naive_iso(text: pa.Array) -> pa.Array | None:
    """One cast when every value is a full local ISO time (date and at least hours:minutes), else None.

    Arrow's cast refuses offsets, blanks around values and impossible dates, and the length check
    refuses a bare date, so anything unusual takes the general path with its per-row rules.
    """
    if text.null_count == len(text):
        return None
    if pc.min(pc.binary_length(text)).as_py() < 16:
        return None
    try:
        return pc.cast(text, _MS)
    except pa.ArrowInvalid:
        return None


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
    source_line: pa.Array | None = None,
    customer_key: pa.Array | None = None,
) -> pa.Table:
    """Assemble a canonical contacts table: fills constants, local time and the caller's keyed hash.

    ``columns`` holds canonical column names; any not given are null. ``caller`` (raw numbers or ids) is
    hashed here and never leaves this function; an adapter that had to spool its records to scratch
    space hashed them before (:func:`contactlake.pii.pseudonymise_array`) and passes ``customer_key``.
    """
    values = dict(columns)
    if source_line is not None:
        values["source_line"] = source_line
    values["source_system"] = pa.repeat(pa.scalar(source_system, pa.string()), length)
    values["upload_id"] = pa.repeat(pa.scalar(upload_id, pa.string()), length)
    if "initiated_utc" in values:
        values["initiated_local"] = utc_to_local(values["initiated_utc"], zone)
    if caller is not None:
        values["customer_key"] = pseudonymise_array(caller, pii_key)
    elif customer_key is not None:
        values["customer_key"] = customer_key
    arrays = [_column(values, f.name, length) for f in schema.CONTACTS]
    return pa.Table.from_arrays(arrays, schema=schema.CONTACTS.remove_metadata().with_metadata(None))


def pathway_table(
    *,
    contact_id: pa.Array,
    step_index: pa.Array,
    step_type: str | pa.Array,
    step_name: pa.Array | None,
    started_utc: pa.Array | None,
    ended_utc: pa.Array | None,
    duration_seconds: pa.Array | None,
    step_outcome: str | pa.Array | None,
    source_system: str,
    upload_id: str,
    quality_flags: pa.Array | None = None,
) -> pa.Table:
    """One pathway step per row of the given (aligned) arrays; strings broadcast to every row."""
    n = len(contact_id)
    given: dict[str, object] = {
        "contact_id": contact_id,
        "source_system": source_system,
        "upload_id": upload_id,
        "step_index": step_index,
        "step_type": step_type,
        "step_name": step_name,
        "started_utc": started_utc,
        "ended_utc": ended_utc,
        "duration_seconds": duration_seconds,
        "step_outcome": step_outcome,
        "quality_flags": quality_flags,
    }
    arrays = []
    for f in schema.PATHWAY_STEPS:
        value = given[f.name]
        if value is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(value, str):
            arrays.append(pa.repeat(pa.scalar(value, f.type), n))
        else:
            array = value.combine_chunks() if isinstance(value, pa.ChunkedArray) else value
            arrays.append(array if array.type == f.type else pc.cast(array, f.type))  # type: ignore[union-attr]
    return pa.Table.from_arrays(arrays, schema=schema.PATHWAY_STEPS.remove_metadata())
