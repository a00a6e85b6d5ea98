"""Contact ids reduced to 128-bit hashes, and the first occurrence of each id found by sorting them.

Both duplicate checks rest on these: repeats within a batch (:func:`first_occurrences`, applied by the
rule in :mod:`contactlake.ingest.rules`) and repeats across an upload's batches (the commit stage's
:class:`~contactlake.commit.idledger.IdLedger`). An id is hashed once per batch: the stage that hashed a
batch's ids notes the hashes beside the table (:func:`remember_unique`), and a later stage given the same
table finds them there (:func:`recall_unique`) instead of hashing again. That note is a side channel
owned by this module, not part of the contract between the stages: a stage given a table nobody noted
(a staged batch read back from Parquet) simply hashes it.

Two different ids share a 128-bit hash with probability about n²/2¹²⁹ — 10⁻²³ for a hundred million
ids — so equal hashes are taken as equal ids, as content-addressed stores do.
"""

from __future__ import annotations

import weakref

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from contactlake.kernels.keyedhash import SIPHASH_1_3, siphash128

__all__ = [
    "U64",
    "first_occurrences",
    "hash_ids",
    "hashes_as_arrow",
    "recall_unique",
    "remember_unique",
    "rows_sharing_high_bits",
]

#: Not a secret: these hashes never leave the process.
_ID_KEY = b"contactlake-ids!"

U64 = npt.NDArray[np.uint64]


def hash_ids(ids: pa.Array | pa.ChunkedArray) -> U64:
    """128-bit hash of each contact id, shape ``(n, 2)`` (stored contacts always have an id).

    SipHash-1-3: these hashes only need to tell honest ids apart, never leave the process and protect
    no secret, so the faster variant serves (a third fewer rounds than the SipHash-2-4 that
    pseudonymises callers).
    """
    return siphash128(ids, _ID_KEY, SIPHASH_1_3)


def hashes_as_arrow(hashes: U64) -> pa.Array:
    """The ``(n, 2)`` hashes as 16-byte values, for Arrow's ``is_in`` and ``unique``."""
    data = np.ascontiguousarray(hashes, dtype="<u8")
    return pa.Array.from_buffers(pa.binary(16), len(data), [None, pa.py_buffer(data.tobytes())])


def first_occurrences(hashes: U64) -> npt.NDArray[np.bool_] | None:
    """True for the first row of each hash (the first occurrence of an id wins); None if all differ.

    One sort of the high 64 bits answers the usual case (every id distinct); only the rows that share
    those bits with another row are then compared on all 128, in a stable sort so the earliest row of
    each id comes first.
    """
    rows = rows_sharing_high_bits(hashes[:, 0])
    if not len(rows):
        return None
    candidates = hashes[rows]
    order = np.lexsort((candidates[:, 1], candidates[:, 0]))
    ordered = candidates[order]
    repeated = (ordered[1:] == ordered[:-1]).all(axis=1)
    if not repeated.any():
        return None
    keep = np.ones(len(hashes), dtype=np.bool_)
    keep[rows[order[1:][repeated]]] = False
    return keep


def rows_sharing_high_bits(high: U64) -> npt.NDArray[np.intp]:
    """Rows (ascending) whose value occurs more than once in ``high``: usually none, always few.

    A plain sort of the values is several times faster than an argsort or a lexsort of the rows, so
    the rows themselves are only sorted once they are known to be candidates.
    """
    if len(high) < 2:
        return np.zeros(0, dtype=np.intp)
    ordered = np.sort(high)
    shared = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not len(shared):
        return np.zeros(0, dtype=np.intp)
    where = np.minimum(np.searchsorted(shared, high), len(shared) - 1)
    return np.flatnonzero(shared[where] == high)


#: Tables whose ``contact_id`` column is known to hold distinct ids, with those ids' hashes, by ``id()``
#: of the table; an entry goes when its table does (a weak reference's callback).
_unique: dict[int, tuple[weakref.ref[pa.Table], U64]] = {}


def remember_unique(table: pa.Table, hashes: U64) -> None:
    """Note that ``table``'s contact ids are distinct and hash to ``hashes`` (row for row)."""
    key = id(table)
    _unique[key] = (weakref.ref(table, lambda _gone: _unique.pop(key, None)), hashes)


def recall_unique(table: pa.Table) -> U64 | None:
    """The hashes noted for ``table`` by :func:`remember_unique`, or None if none were."""
    noted = _unique.get(id(table))
    if noted is None or noted[0]() is not table:
        return None
    return noted[1]
