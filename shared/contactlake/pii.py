"""Pseudonymisation: caller numbers and customer ids become a keyed hash before anything is written.

Keyed SipHash-2-4 with 128-bit output (:mod:`contactlake.kernels.keyedhash`), keyed from configuration
(``CONTACTLAKE_PII_KEY``, on AWS an SSM SecureString) through
:func:`~contactlake.kernels.keyedhash.derive_key` with the purpose ``"contactlake-pii"``, so the same
caller gets the same key across uploads (first-contact resolution needs that) while nobody without the
key can reverse it by hashing the whole phone-number space. Stored as 32 lower-case hex characters.

Why SipHash: a night's export has hundreds of thousands of distinct callers, and any keyed hash called
once per value from Python (keyed BLAKE2b was the previous choice) spends its time in the per-call
overhead, not in hashing. SipHash is the standard keyed PRF for short inputs and is built from 64-bit
add/rotate/xor, so it runs over a whole Arrow array with numpy; it is checked against the reference test
vectors. Numbers are normalised first (letters and digits only, and a leading '+'), so
"+44 20 7946 0000" and "+442079460000" match.

The array version normalises in Arrow, then hashes and builds the hex column in numpy — no per-value
Python.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from contactlake.kernels.arrowtext import trim_whitespace
from contactlake.kernels.keyedhash import derive_key, siphash128

__all__ = ["NUMBER_MASK", "mask_numbers", "mask_numbers_array", "pseudonymise", "pseudonymise_array"]

_ANONYMOUS = ("", "0", "anonymous", "unknown", "withheld", "private", "restricted")
_NOT_ALNUM = r"[^\p{L}\p{N}]"
_PURPOSE = "contactlake-pii"
_HEX_WIDTH = 32  # 16 digest bytes
# Byte b → its two lower-case hex digits, as the bytes of one little-endian uint16; then the same for
# two bytes (a little-endian uint16 → its four digits as one uint32): a 256 KiB table, half the gathers.
_HEX_PAIRS = np.array([int.from_bytes(f"{b:02x}".encode(), "little") for b in range(256)], dtype="<u4")
_HEX_QUADS = (_HEX_PAIRS[np.arange(1 << 16) & 0xFF] | (_HEX_PAIRS[np.arange(1 << 16) >> 8] << 16)).astype(
    "<u4"
)


#: What a phone number in quarantined text becomes. The original line stays in the raw area (upload id +
#: line), which only the ingest role reads.
NUMBER_MASK = "[number]"
#: Phone numbers as exports write them, and nothing a timestamp, date, duration or id looks like:
#: international (``+44 7700 900111``, ``tel:+44…``); national with a trunk 0 (``07700 900111``,
#: ``(020) 7946-0000``); North American (``1-555-123-4567``); any other run of 9 or more digits. The
#: character before must not be a letter, digit, ``-``, ``+`` or ``.``, so the digit groups of a UUID
#: (``…-8002-000000000001``) and a second's fraction (``.123456789``) stay; dates (``2024-01-15``,
#: ``20240115``), times and offsets (``+05:30``) never match. RE2 syntax (Arrow), also valid for ``re``.
_PHONE = (
    r"(^|[^\w\-+.])"
    r"(?:\+\s?\(?\d[\d ()\-./]{5,}\d"
    r"|(?:\(0\d{1,4}\)|0\d{1,4})[ \-]?\d{3,4}[ \-]?\d{3,4}\b"
    r"|(?:1[\-. ])?\d{3}[\-. ]\d{3}[\-. ]\d{4}\b"
    r"|\d{9,}\b)"
)
_PHONE_RE = re.compile(_PHONE)


def mask_numbers(text: str) -> str:
    """``text`` with every phone number replaced by :data:`NUMBER_MASK` (quarantine, messages, logs)."""
    return _PHONE_RE.sub(lambda match: match.group(1) + NUMBER_MASK, text)


def mask_numbers_array(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """:func:`mask_numbers` over an Arrow string array, in Arrow (RE2), no per-value Python."""
    return pc.replace_substring_regex(values, _PHONE, rf"\1{NUMBER_MASK}")


def _normalise(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Trimmed; anonymous markers → null; letters and digits kept, with a leading '+'; nothing left → null."""
    text = trim_whitespace(values)
    anonymous = pc.is_in(pc.utf8_lower(text), pa.array(_ANONYMOUS))
    core = pc.replace_substring(pc.replace_substring(text, " ", ""), "+", "")
    # The regex (slow) only for values with other separators: "(0)20-7946", "tel:+44…".
    odd = pc.invert(pc.fill_null(pc.or_(pc.utf8_is_alnum(core), pc.equal(core, "")), True))
    if pc.any(odd).as_py():
        core = pc.if_else(odd, pc.replace_substring_regex(core, _NOT_ALNUM, ""), core)
    plus = pc.starts_with(text, "+")
    normalised = pc.if_else(plus, pc.binary_join_element_wise("+", core, ""), core)
    empty = pc.or_(anonymous, pc.equal(core, ""))
    return pc.if_else(empty, pa.scalar(None, pa.string()), normalised)


def pseudonymise(value: str | None, key: bytes) -> str | None:
    """Keyed hash of one identifier; empty, zero and 'anonymous' callers have no key (None)."""
    if value is None:
        return None
    result = pseudonymise_array(pa.array([value], pa.string()), key)[0].as_py()
    return str(result) if result is not None else None


def pseudonymise_array(values: pa.Array | pa.ChunkedArray, key: bytes) -> pa.Array:
    """Vectorised: normalise in Arrow, SipHash every row in numpy, hex in numpy — no per-value Python.

    ``key`` is the configured secret (any length, not empty). Returns a ``string`` array of 32-character
    lower-case hex digests, null where the input is null or anonymous. Every row is hashed, repeats
    included: Arrow's ``dictionary_encode`` (which the per-value BLAKE2b loop needed, to hash each
    distinct caller once) costs more per row than SipHash itself, even with ten rows per caller.
    """
    normalised = _normalise(values)
    if isinstance(normalised, pa.ChunkedArray):
        normalised = normalised.combine_chunks()
    digests = siphash128(normalised, derive_key(key, _PURPOSE))
    return _hex(digests, _validity_bitmap(normalised))


def _hex(digests: npt.NDArray[np.uint64], validity: pa.Buffer | None) -> pa.Array:
    """(n, 2) uint64 SipHash-128 outputs → ``string`` array of the 16 digest bytes in lower-case hex.

    A lookup table maps each pair of digest bytes to its four hex digits (one little-endian uint32), so
    one gather fills an (n, 32) byte matrix that becomes the string array's data buffer (offsets 0, 32,
    64, …).
    """
    n = len(digests)
    if (n + 1) * _HEX_WIDTH > np.iinfo(np.int32).max:
        raise ValueError(f"{n} values exceed a string array's 2 GiB (int32 offsets)")
    digest_pairs = digests.astype("<u8", copy=False).view("<u2")
    text = _HEX_QUADS[digest_pairs]
    offsets = np.arange(0, (n + 1) * _HEX_WIDTH, _HEX_WIDTH, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text), validity)


def _validity_bitmap(array: pa.Array) -> pa.Buffer | None:
    """The array's validity as a bitmap starting at bit 0 (Arrow's own buffer when not sliced)."""
    if array.null_count == 0:
        return None
    if array.offset == 0:
        return array.buffers()[0]
    valid = pc.is_valid(array).to_numpy(zero_copy_only=False)
    return pa.py_buffer(np.packbits(valid, bitorder="little"))
