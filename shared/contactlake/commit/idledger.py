"""Which contact ids of an upload were already stored by an earlier batch, in bounded memory.

The rule (docs/validation.md): a contact id repeated within one upload keeps its first occurrence.
Batches are stored as they stream in, so a repeat in a later batch is found at the end of the upload.
Each stored id is reduced to a 128-bit hash (:func:`contactlake.kernels.idhash.hash_ids`), computed once
per batch and used for both checks: repeats inside the batch and repeats across batches (this ledger).
The ledger holds each batch's hashes, with its batch and day, in memory up to :data:`MEMORY_RECORDS`; a
bigger upload spills them to scratch files partitioned by the hash's top bits and at the end reads and
sorts each partition on its own. Memory is therefore bounded whatever the file size (at most
:data:`MEMORY_RECORDS` records, then 1/64 of the upload's ids), and the committer re-reads only the
files (batch and day) that hold a repeat.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from types import TracebackType
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from contactlake.kernels.idhash import U64, rows_sharing_high_bits

__all__ = ["MEMORY_RECORDS", "IdLedger"]

_BUCKET_BITS = 6
_RECORD = np.dtype([("high", "<u8"), ("low", "<u8"), ("batch", "<u4"), ("day", "<i4")])
#: Records (24 bytes each, so 48 MB) held in memory before the ledger spills to scratch files: an
#: export of up to two million contacts is checked with one sort and no disk, a bigger one in bounded
#: memory (docs/benchmarks.md has what a higher limit costs in peak memory). Read at construction, so a
#: test can lower it.
MEMORY_RECORDS = 2_000_000

Records = npt.NDArray[np.void]


class IdLedger:
    """Collects each batch's stored id hashes; :meth:`repeats` names the later batches' repeats.

    An upload of one batch (a normal night) has nothing to compare and never touches the disk.
    """

    def __init__(self, scratch_dir: str | None = None) -> None:
        self._scratch_dir = scratch_dir
        self._limit = MEMORY_RECORDS
        self._held: list[Records] = []
        self._held_records = 0
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._files: list[BinaryIO] = []

    def __enter__(self) -> IdLedger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def add(self, batch_index: int, hashes: U64, days: npt.NDArray[np.int32]) -> None:
        """Record the hashes of the ids ``batch_index`` stored (unique within the batch) and their days."""
        records = np.empty(len(hashes), dtype=_RECORD)
        records["high"] = hashes[:, 0]
        records["low"] = hashes[:, 1]
        records["batch"] = batch_index
        records["day"] = days
        self._held.append(records)
        self._held_records += len(records)
        if self._held_records > self._limit:
            self._spill()

    def _spill(self) -> None:
        """Append the held records to the scratch partitions (created on first use) and forget them."""
        if not self._held:
            return
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="contactlake-ids-", dir=self._scratch_dir)
            self._files = [
                open(os.path.join(self._folder.name, f"{bucket:02x}.ids"), "w+b")  # noqa: SIM115 (kept open)
                for bucket in range(1 << _BUCKET_BITS)
            ]
        held, self._held, self._held_records = self._held, [], 0
        for records in held:  # batch by batch: a spill never copies more than one batch
            buckets = (records["high"] >> np.uint64(64 - _BUCKET_BITS)).astype(np.uint8)
            order = np.argsort(buckets, kind="stable")  # a radix sort for one-byte keys
            ordered, buckets = records[order], buckets[order]
            bounds = np.searchsorted(buckets, np.arange((1 << _BUCKET_BITS) + 1, dtype=np.uint16))
            for bucket, (start, end) in enumerate(itertools.pairwise(bounds.tolist())):
                if end > start:
                    self._files[bucket].write(ordered[start:end].tobytes())

    def repeats(self) -> dict[tuple[int, int], U64]:
        """Per later (batch, day): hashes (``(k, 2)``) of ids it stored that an earlier batch stored first.

        Days are days since 1970-01-01, as Arrow's ``date32``.
        """
        found: dict[tuple[int, int], list[U64]] = {}
        if not self._files:
            if len(self._held) > 1:
                _collect_candidate_repeats(self._held_candidates(), found)
        else:
            self._spill()
            for handle in self._files:
                handle.flush()
                handle.seek(0)
                _collect_repeats(np.frombuffer(handle.read(), dtype=_RECORD), found)
        return {where: np.concatenate(parts) for where, parts in found.items()}

    def _held_candidates(self) -> Records:
        """The held records whose high 64 bits occur more than once, in batch order.

        Only the high halves are gathered and sorted: the records themselves are never copied whole,
        so finding the repeats costs a fraction of what is held.
        """
        rows = rows_sharing_high_bits(np.concatenate([records["high"] for records in self._held]))
        starts = np.cumsum([0, *(len(records) for records in self._held)])
        batch_of_row = np.searchsorted(starts, rows, side="right") - 1
        return np.concatenate(
            [records[rows[batch_of_row == index] - starts[index]] for index, records in enumerate(self._held)]
        )

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        self._files = []
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
        self._held, self._held_records = [], 0


def _collect_repeats(records: Records, found: dict[tuple[int, int], list[U64]]) -> None:
    """Add the repeats among ``records`` (appended batch by batch) to ``found``, by later (batch, day)."""
    rows = rows_sharing_high_bits(records["high"])
    if len(rows):
        _collect_candidate_repeats(records[rows], found)


def _collect_candidate_repeats(candidates: Records, found: dict[tuple[int, int], list[U64]]) -> None:
    """The repeats among records that share their high bits with another, given in batch order."""
    # A stable sort keeps equal hashes in batch order: a record equal to the one before it is a later
    # batch's repeat.
    candidates = candidates[np.lexsort((candidates["low"], candidates["high"]))]
    high, low = candidates["high"], candidates["low"]
    later = candidates[1:][(high[1:] == high[:-1]) & (low[1:] == low[:-1])]
    for batch, day in {(int(b), int(d)) for b, d in zip(later["batch"], later["day"], strict=True)}:
        pick = later[(later["batch"] == batch) & (later["day"] == day)]
        found.setdefault((batch, day), []).append(np.stack([pick["high"], pick["low"]], axis=1))
