"""SipHash-2-4 over whole Arrow string/binary arrays, vectorised with numpy.

Why: pseudonymisation hashes hundreds of thousands of distinct caller numbers per upload. Every keyed
hash in the standard library (``hashlib.blake2b(key=…)``, ``hmac``) costs a Python call per value, and
for 8–16-byte phone numbers that per-call overhead, not the hash, is the bill (docs/benchmarks.md has
the figures). Here the *same* operation is applied to every row at once: one numpy
operation per SipHash step over a chunk of rows, so the Python overhead is paid per chunk, not per value.

Why SipHash-2-4 (Aumasson & Bernstein, 2012): it is the standard keyed pseudo-random function for short
inputs — hash-table keys; Python's ``str`` hash from 3.4 to 3.10 — built only from 64-bit additions,
rotations and xors, which vectorise directly in numpy. With a secret 128-bit key its outputs cannot
be computed (so the phone-number space cannot be enumerated) without the key. The code follows the
reference implementation (https://github.com/veorq/SipHash, ``siphash.c``) and is checked against its
published test vectors (``vectors.h``, 64- and 128-bit outputs) in ``tests/unit/kernels/test_keyedhash.py``.
The round counts are a parameter: SipHash-1-3, the variant CPython uses for ``hash()`` since 3.11, is
checked against CPython's own ``hash`` of bytes (with ``PYTHONHASHSEED=0``, whose key is all zeros).

A *key* is exactly 16 secret bytes. Use :func:`derive_key` to turn a configured secret of any length
into one, with a purpose label so one configured secret yields independent keys for different uses.

How the vectorisation works: the Arrow offsets and data buffers are read with numpy (no copy of the
values); each 8-byte message word is read with one gather from an unaligned ``uint64`` view of the data
bytes; rows are processed in chunks of ~64k rows, sorted by word count, so while compressing word *j*
only the rows that still have a word *j* — a suffix of the sorted chunk — are touched, and the rows whose
last (zero-padded, length-tagged) word is *j* are a contiguous slice of it. Values of any length are
therefore exact, and memory stays a few arrays of one chunk's size (plus one chunk's bytes).
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["KEY_BYTES", "SIPHASH_1_3", "SIPHASH_2_4", "derive_key", "siphash64", "siphash128"]

KEY_BYTES = 16
_CHUNK_ROWS = 1 << 16  # rows hashed together: the numpy-call overhead is paid once per chunk
_CHUNK_BYTES = 8 << 20  # and at most this many bytes of values (a chunk near the end is copied)
#: (compression rounds per message word, finalisation rounds): SipHash-2-4, the standard PRF.
SIPHASH_2_4 = (2, 4)
#: SipHash-1-3: the faster variant Python (3.11+) and Rust use for their hash tables. For hashes that
#: need collision resistance on honest data, not a secret or a conservative PRF margin.
SIPHASH_1_3 = (1, 3)
_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)
# MASKS[k] keeps the low k bytes of a little-endian word (k = 0..7): the final word's real bytes.
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)], dtype=np.uint64)
_OFFSET_TYPES = {
    pa.string(): np.int32,
    pa.binary(): np.int32,
    pa.large_string(): np.int64,
    pa.large_binary(): np.int64,
}

U64 = npt.NDArray[np.uint64]


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 16-byte SipHash key from a configured secret of any length, separate per ``purpose``.

    BLAKE2b of the secret, personalised with ``purpose`` (at most 16 UTF-8 bytes): the same configured
    secret gives unrelated keys for different purposes, and a secret longer than 16 bytes still counts
    in full. An empty secret is refused: a keyed hash with a known key protects nothing.
    """
    if not secret:
        raise ValueError("the secret must not be empty")
    person = purpose.encode()
    if not 0 < len(person) <= 16:
        raise ValueError(f"purpose must be 1-16 UTF-8 bytes, got {len(person)}")
    return hashlib.blake2b(secret, digest_size=KEY_BYTES, person=person).digest()


def siphash64(values: pa.Array | pa.ChunkedArray, key: bytes, rounds: tuple[int, int] = SIPHASH_2_4) -> U64:
    """SipHash-2-4 (or ``rounds``, e.g. :data:`SIPHASH_1_3`), 64-bit output, of every value's bytes: a
    ``uint64`` array, one per row.

    ``values`` is string, large_string, binary or large_binary (strings hash their UTF-8 bytes); ``key``
    is exactly 16 bytes. A null row gives 0 — check validity separately if 0 must be told apart from a
    (one-in-2**64) real hash of 0. The integer is the reference's 8 output bytes read little-endian.
    """
    return _siphash(values, key, rounds, double=False)[:, 0]


def siphash128(values: pa.Array | pa.ChunkedArray, key: bytes, rounds: tuple[int, int] = SIPHASH_2_4) -> U64:
    """SipHash-2-4 (or ``rounds``) with 128-bit output (the reference's ``outlen == 16`` variant), shape
    ``(n, 2)``.

    Column 0 holds output bytes 0-7 and column 1 bytes 8-15, each read little-endian, so
    ``result.astype("<u8").view(np.uint8).reshape(n, 16)`` is the reference's 16-byte digest per row.
    Input, key and null rows (``[0, 0]``) as for :func:`siphash64`.
    """
    return _siphash(values, key, rounds, double=True)


def _siphash(values: pa.Array | pa.ChunkedArray, key: bytes, rounds: tuple[int, int], *, double: bool) -> U64:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a SipHash key is exactly {KEY_BYTES} bytes, got {len(key)}")
    k0 = int.from_bytes(key[:8], "little")
    k1 = int.from_bytes(key[8:], "little")
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    width = 2 if double else 1
    parts = [_hash_array(chunk, k0, k1, rounds, double) for chunk in chunks]
    # Per Arrow chunk, so chunked input is never copied into one buffer first.
    return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.uint64)


def _hash_array(array: pa.Array, k0: int, k1: int, rounds: tuple[int, int], double: bool) -> U64:
    offset_type = _OFFSET_TYPES.get(array.type)
    if offset_type is None:
        raise TypeError(f"expected string, large_string, binary or large_binary, got {array.type}")
    n = len(array)
    out = np.zeros((n, 2 if double else 1), dtype=np.uint64)
    if n == 0:
        return out
    validity_buf, offsets_buf, data_buf = array.buffers()
    # Buffers belong to the unsliced parent: a slice starts ``array.offset`` entries in.
    offsets = np.frombuffer(offsets_buf, dtype=offset_type, count=array.offset + n + 1)[array.offset :]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    valid = _validity(validity_buf, array.offset, n) if array.null_count else None
    start = 0
    while start < n:
        stop = min(start + _CHUNK_ROWS, n)
        bounds = offsets[start : stop + 1].astype(np.int64)
        if bounds[-1] - bounds[0] > _CHUNK_BYTES:  # long values: fewer rows (at least one)
            fit = int(np.searchsorted(bounds, bounds[0] + _CHUNK_BYTES, side="right")) - 1
            stop = start + max(1, fit)
        chunk_valid = valid[start:stop] if valid is not None else None
        _hash_rows(offsets[start : stop + 1], data, chunk_valid, (k0, k1), rounds, out[start:stop])
        start = stop
    return out


def _validity(buffer: pa.Buffer | None, offset: int, n: int) -> npt.NDArray[np.bool_]:
    """Arrow's LSB-first validity bitmap → one bool per row (only the bytes that cover the slice)."""
    if buffer is None:
        return np.ones(n, dtype=np.bool_)
    first, last = offset // 8, (offset + n + 7) // 8
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8)[first:last], bitorder="little")
    return bits[offset - 8 * first : offset - 8 * first + n].astype(np.bool_)


def _hash_rows(
    offsets: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    data: npt.NDArray[np.uint8],
    valid: npt.NDArray[np.bool_] | None,
    key: tuple[int, int],
    rounds: tuple[int, int],
    out: U64,
) -> None:
    """Hash ``len(offsets) - 1`` consecutive rows into ``out`` (m, 1 or 2)."""
    k0, k1 = key
    compression, finalisation = rounds
    lo, hi = int(offsets[0]), int(offsets[-1])
    starts = offsets[:-1].astype(np.int64) - lo
    lengths = np.diff(offsets).astype(np.int64)
    if valid is not None:
        lengths[~valid] = 0  # a null slot may still span bytes; hash it as empty, zero it below
    # The rows' bytes plus 8 bytes of slack, so a final word can always be read as 8 whole bytes.
    if hi + 8 <= len(data):
        window = data[lo : hi + 8]
    else:
        window = np.zeros(hi - lo + 8, dtype=np.uint8)
        window[: hi - lo] = data[lo:hi]
    # words_at[i] = the 8 bytes from window[i] as a little-endian integer (an unaligned view, no copy).
    words_at: npt.NDArray[np.uint64] = np.ndarray(
        shape=(len(window) - 7,), dtype="<u8", buffer=window, strides=(1,)
    )

    # Sort by word count (a message of L bytes has L // 8 full words and one final word) — unless all
    # rows have the same count, as a column of phone numbers usually does.
    n_words = (lengths >> 3) + 1
    order: npt.NDArray[np.intp] | None = None
    if n_words.min() != n_words.max():
        # (a stable sort of 16-bit keys is a radix sort: cheap)
        keys = n_words.astype(np.uint16) if n_words.max() < 1 << 16 else n_words
        order = np.argsort(keys, kind="stable")
        n_words, starts, lengths = n_words[order], starts[order], lengths[order]
    # Rows [first[j], n) have a word j; rows [first[j], first[j+1]) end with it.
    first = np.searchsorted(n_words, np.arange(int(n_words[-1]) + 1), side="right")
    final_mask = _MASKS[lengths & 7]
    final_tag = lengths.astype(np.uint64) << 56  # (len mod 256) << 56, as the reference

    # The state as two (2, m) blocks, so each SipRound step updates both independent lanes of the round
    # (v0/v1 and v2/v3) in one numpy call: ``a`` = [v0, v2], ``b`` = [v1, v3].
    m = len(lengths)
    double = out.shape[1] == 2
    a = np.empty((2, m), dtype=np.uint64)
    b = np.empty((2, m), dtype=np.uint64)
    a[0], a[1] = _INIT[0] ^ k0, _INIT[2] ^ k0
    b[0], b[1] = _INIT[1] ^ k1 ^ (0xEE if double else 0), _INIT[3] ^ k1
    tmp = np.empty((2, m), dtype=np.uint64)

    for j in range(len(first) - 1):
        s, e = int(first[j]), int(first[j + 1])
        word = words_at[starts[s:] + 8 * j].astype(np.uint64, copy=False)
        ending = word[: e - s]
        np.bitwise_and(ending, final_mask[s:e], out=ending)
        np.bitwise_or(ending, final_tag[s:e], out=ending)
        v3 = b[1, s:]
        np.bitwise_xor(v3, word, out=v3)
        _rounds(compression, a[:, s:], b[:, s:], tmp[:, s:])
        v0 = a[0, s:]
        np.bitwise_xor(v0, word, out=v0)

    digest = out if order is None else np.empty_like(out)
    np.bitwise_xor(a[1], 0xEE if double else 0xFF, out=a[1])
    _rounds(finalisation, a, b, tmp)
    _fold(a, b, digest[:, 0])
    if double:
        np.bitwise_xor(b[0], 0xDD, out=b[0])
        _rounds(finalisation, a, b, tmp)
        _fold(a, b, digest[:, 1])
    if order is not None:
        # Unsort; whole rows as one opaque 8- or 16-byte item is several times faster than (m, 2) rows.
        row = np.dtype((np.void, out.itemsize * out.shape[1]))
        out.view(row)[order] = digest.view(row)
    if valid is not None:
        out[~valid] = 0


def _fold(a: U64, b: U64, into: U64) -> None:
    """``into = v0 ^ v1 ^ v2 ^ v3``."""
    np.bitwise_xor(a[0], a[1], out=into)
    np.bitwise_xor(into, b[0], out=into)
    np.bitwise_xor(into, b[1], out=into)


def _shifts(*bits: int) -> tuple[U64, U64]:
    """Left and right shift counts for rotations by ``bits``, one per state row, as uint64 arrays
    (a Python int operand costs numpy a conversion on every call)."""
    left = np.array(bits, dtype=np.uint64).reshape(-1, 1)
    return left, np.uint64(64) - left


_ROT_32 = _shifts(32)
_ROT_FIRST = _shifts(13, 16)  # v1 <<< 13, v3 <<< 16
_ROT_SECOND = _shifts(17, 21)  # v1 <<< 17, v3 <<< 21


def _rounds(count: int, a: U64, b: U64, tmp: U64) -> None:
    """``count`` SipRounds in place on ``a`` = [v0, v2] and ``b`` = [v1, v3] (views allowed).

    The reference round, two independent half-rounds per line::

        v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32  |  v2 += v3; v3 <<<= 16; v3 ^= v2
        v0 += v3; v3 <<<= 21; v3 ^= v0              |  v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32

    numpy's element-wise integer arithmetic on arrays wraps modulo 2**64 silently (only numpy *scalar*
    arithmetic warns on overflow), which is exactly SipHash's addition.
    """
    for _ in range(count):
        np.add(a, b, out=a)  # v0 += v1, v2 += v3
        _rotl(b, _ROT_FIRST, tmp)
        np.bitwise_xor(b, a, out=b)  # v1 ^= v0, v3 ^= v2
        _rotl(a[:1], _ROT_32, tmp[:1])
        np.add(a, b[::-1], out=a)  # v0 += v3, v2 += v1
        _rotl(b, _ROT_SECOND, tmp)
        np.bitwise_xor(b, a[::-1], out=b)  # v1 ^= v2, v3 ^= v0
        _rotl(a[1:], _ROT_32, tmp[1:])


def _rotl(v: U64, shifts: tuple[U64, U64], tmp: U64) -> None:
    """``v = v <<< bits`` in place, row by row (``shifts`` from :func:`_shifts`); ``tmp`` for the carry."""
    left, right = shifts
    np.right_shift(v, right, out=tmp)
    np.left_shift(v, left, out=v)
    np.bitwise_or(v, tmp, out=v)
