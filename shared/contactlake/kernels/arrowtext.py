"""Text columns cleaned through their Arrow buffers: no value is copied unless one must change.

Every column of a CSV export arrives as text and is trimmed and blank-checked before it is parsed. The
Arrow kernels for that copy every value of every column to find, usually, that nothing changes; these
helpers read the offsets (and a byte or two per value) with numpy first.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["blank_as_null", "string_offsets", "trim_whitespace"]


def _as_string(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    text = values if values.type == pa.string() else pc.cast(values, pa.string())
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def string_offsets(text: pa.Array) -> npt.NDArray[np.int32]:
    """The array's own ``len + 1`` offsets (a slice starts ``text.offset`` entries into the buffer)."""
    return np.frombuffer(text.buffers()[1], dtype=np.int32, count=text.offset + len(text) + 1)[text.offset :]


#: Bytes that may start or end a value Arrow's ``utf8_trim_whitespace`` changes: the ASCII characters it
#: trims (tab to carriage return, the four separators, space) and any byte of a multi-byte character.
_MAY_BE_SPACE = np.zeros(256, dtype=np.bool_)
_MAY_BE_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_MAY_BE_SPACE[0x80:] = True


def trim_whitespace(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``utf8_trim_whitespace`` as a ``string`` array, returned as it is when no value needs trimming.

    Exports are rarely padded, and the kernel copies every value to find that out: here only the first
    and last byte of each value are looked at, and the kernel runs when any of them may be whitespace.
    """
    text = _as_string(values)
    data_buffer = text.buffers()[2]
    if not len(text) or data_buffer is None:
        return text
    offsets, data = string_offsets(text), np.frombuffer(data_buffer, dtype=np.uint8)
    if offsets[-1] == offsets[0]:  # every value empty (or null): nothing to trim
        return text
    # Each value's first and last byte, in one gather. An empty value points at a neighbour's byte
    # instead (or the buffer's last): a false alarm only costs the kernel, never a missed trim.
    n, last = len(text), len(data) - 1
    ends = np.empty(2 * n, dtype=np.int32)
    np.minimum(offsets[:-1], last, out=ends[:n])
    np.subtract(offsets[1:], 1, out=ends[n:])
    np.maximum(ends[n:], 0, out=ends[n:])
    if _MAY_BE_SPACE.take(data.take(ends)).any():
        return pc.utf8_trim_whitespace(text)
    return text


def blank_as_null(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Text with empty strings made null, as a ``string`` array.

    Only a new validity bitmap is built from the offsets; the text itself is not copied (an
    ``if_else(equal(text, ""), null, text)`` compared and copied every value of every column).
    """
    text = _as_string(values)
    n = len(text)
    _, offsets_buffer, data_buffer = text.buffers()
    if n == 0 or offsets_buffer is None:
        return text
    filled = np.diff(string_offsets(text)) != 0
    if text.null_count:
        filled &= np.asarray(text.is_valid())
    elif filled.all():
        return text
    validity = pa.py_buffer(np.packbits(filled, bitorder="little"))
    own_offsets = offsets_buffer.slice(text.offset * 4, (n + 1) * 4)
    return pa.Array.from_buffers(pa.string(), n, [validity, own_offsets, data_buffer])
