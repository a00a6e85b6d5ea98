"""Which contact ids of an upload were already stored by an earlier batch, in bounded memory.

The rule (docs/validation.md): a contact id repeated within one upload keeps its first occurrence.
Batches are stored as they stream in, so a repeat in a later batch is found at the end of the upload.
Keeping every id of a multi-gigabyte export in memory would make memory grow with the file; instead each
stored id is reduced to a 128-bit SipHash and, from the second batch on, spilled with its batch and day
to scratch files partitioned by the hash's top bits. At the end each partition is read and sorted on
its own, so memory is bounded by one partition (1/64 of the upload's ids, 24 bytes each) whatever the
file size, and the committer re-reads only the files (batch and day) that hold a repeat.

Two different ids share a 128-bit hash with probability about n²/2¹²⁹ — 10⁻²³ for a hundred million
ids — so equal hashes are taken as equal ids, as content-addressed stores do.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from types import TracebackType
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from contactlake.keyedhash import siphash128

__all__ = ["IdLedger", "hash_ids", "hashes_as_arrow"]

#: Not a secret: these hashes never leave the process, and every match is confirmed on the ids.
_ID_KEY = b"contactlake-ids!"
_BUCKET_BITS = 6
_RECORD = np.dtype([("high", "<u8"), ("low", "<u8"), ("batch", "<u4"), ("day", "<i4")])

U64 = npt.NDArray[np.uint64]


def hash_ids(ids: pa.Array | pa.ChunkedArray) -> U64:
    """128-bit hash of each contact id, shape ``(n, 2)`` (stored contacts always have an id)."""
    return siphash128(ids, _ID_KEY)


def hashes_as_arrow(hashes: U64) -> pa.Array:
    """The ``(n, 2)`` hashes as 16-byte values, for Arrow's ``is_in`` and ``unique``."""
    data = np.ascontiguousarray(hashes, dtype="<u8")
    return pa.Array.from_buffers(pa.binary(16), len(data), [None, pa.py_buffer(data.tobytes())])


class IdLedger:
    """Collects each batch's stored id hashes; :meth:`repeats` names the later batches' repeats.

    An upload of one batch (a normal night) never hashes and never touches the disk: the first batch's
    ids stay in memory and spilling starts with the second.
    """

    def __init__(self, scratch_dir: str | None = None) -> None:
        self._scratch_dir = scratch_dir
        self._first: tuple[int, pa.Array, npt.NDArray[np.int32]] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._files: list[BinaryIO] = []

    def __enter__(self) -> IdLedger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def add(self, batch_index: int, ids: pa.Array, days: npt.NDArray[np.int32]) -> None:
        """Record the ids ``batch_index`` stored (unique within the batch) and each one's partition day."""
        if self._first is None and self._folder is None:
            self._first = (batch_index, ids, days)
            return
        if self._first is not None:
            first = self._first
            self._first = None
            self._spill(*first)
        self._spill(batch_index, ids, days)

    def _spill(self, batch_index: int, ids: pa.Array, days: npt.NDArray[np.int32]) -> None:
        hashes = hash_ids(ids)
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="contactlake-ids-", dir=self._scratch_dir)
            self._files = [
                open(os.path.join(self._folder.name, f"{bucket:02x}.ids"), "w+b")  # noqa: SIM115 (kept open)
                for bucket in range(1 << _BUCKET_BITS)
            ]
        records = np.empty(len(hashes), dtype=_RECORD)
        records["high"] = hashes[:, 0]
        records["low"] = hashes[:, 1]
        records["batch"] = batch_index
        records["day"] = days
        buckets = (records["high"] >> np.uint64(64 - _BUCKET_BITS)).astype(np.uint8)
        order = np.argsort(buckets, kind="stable")  # a radix sort for one-byte keys
        records, buckets = records[order], buckets[order]
        bounds = np.searchsorted(buckets, np.arange((1 << _BUCKET_BITS) + 1, dtype=np.uint16))
        for bucket, (start, end) in enumerate(itertools.pairwise(bounds.tolist())):
            if end > start:
                self._files[bucket].write(records[start:end].tobytes())

    def repeats(self) -> dict[tuple[int, int], U64]:
        """Per later (batch, day): hashes (``(k, 2)``) of ids it stored that an earlier batch stored first.

        Days are days since 1970-01-01, as Arrow's ``date32``.
        """
        found: dict[tuple[int, int], list[U64]] = {}
        for handle in self._files:
            handle.flush()
            handle.seek(0)
            records = np.frombuffer(handle.read(), dtype=_RECORD)
            if len(records) < 2:
                continue
            # Records were appended batch by batch, so a stable sort keeps equal hashes in batch order:
            # a record equal to the one before it is a later batch's repeat.
            records = records[np.argsort(records["high"], kind="stable")]
            high, low = records["high"], records["low"]
            same_high = high[1:] == high[:-1]
            if (same_high & (low[1:] != low[:-1])).any():  # two ids share 64 bits: sort on all 128
                records = records[np.lexsort((records["batch"], records["low"], records["high"]))]
                high, low = records["high"], records["low"]
                same_high = high[1:] == high[:-1]
            later = records[1:][same_high & (low[1:] == low[:-1])]
            for batch, day in {(int(b), int(d)) for b, d in zip(later["batch"], later["day"], strict=True)}:
                pick = later[(later["batch"] == batch) & (later["day"] == day)]
                found.setdefault((batch, day), []).append(np.stack([pick["high"], pick["low"]], axis=1))
        return {where: np.concatenate(parts) for where, parts in found.items()}

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        self._files = []
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
        self._first = None
