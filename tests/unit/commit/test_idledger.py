"""The id ledger: repeats across an upload's batches, in memory or via scratch partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from contactlake.commit import idledger
from contactlake.commit.idledger import IdLedger
from contactlake.kernels.idhash import first_occurrences, hash_ids, hashes_as_arrow


def _ids(*values: str) -> pa.Array:
    return pa.array(values, pa.string())


def _hashes(*values: str) -> np.ndarray:
    return hash_ids(_ids(*values))


def _days(count: int, day: int = 20_000) -> np.ndarray:
    return np.full(count, day, dtype=np.int32)


def _as_set(hashes: np.ndarray) -> set[bytes]:
    return set(hashes_as_arrow(hashes).to_pylist())


def test_a_single_batch_never_touches_the_disk(tmp_path: Path) -> None:
    with IdLedger(str(tmp_path)) as ledger:
        ledger.add(0, _hashes("a", "b", "c"), _days(3))
        assert ledger.repeats() == {}
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("memory_records", [idledger.MEMORY_RECORDS, 5_000], ids=["in-memory", "spilled"])
def test_repeats_are_named_for_the_later_batch_and_its_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_records: int
) -> None:
    monkeypatch.setattr(idledger, "MEMORY_RECORDS", memory_records)
    ids = [f"CALL-{n:07d}" for n in range(20_000)]  # enough to fill every scratch partition
    with IdLedger(str(tmp_path)) as ledger:
        ledger.add(0, _hashes(*ids[:10_000]), _days(10_000))
        second = _hashes(*ids[10_000:], "CALL-0000001", "CALL-0000002")
        ledger.add(1, second, np.concatenate([_days(10_000), _days(1, 20_001), _days(1, 20_002)]))
        ledger.add(2, _hashes("CALL-0000002", "CALL-0015000", "NEW"), _days(3, 20_003))
        spilled = memory_records < 20_000
        assert len(list(tmp_path.iterdir())) == (1 if spilled else 0)  # a scratch folder only if spilled
        repeats = ledger.repeats()
    assert sorted(repeats) == [(1, 20_001), (1, 20_002), (2, 20_003)]
    assert _as_set(repeats[1, 20_001]) == _as_set(_hashes("CALL-0000001"))
    assert _as_set(repeats[1, 20_002]) == _as_set(_hashes("CALL-0000002"))
    assert _as_set(repeats[2, 20_003]) == _as_set(_hashes("CALL-0000002", "CALL-0015000"))
    assert list(tmp_path.iterdir()) == []  # closed: the scratch folder is gone


def test_records_held_before_a_spill_and_after_it_are_all_compared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first batches spill when the limit is passed; the last one is still in memory at the end."""
    monkeypatch.setattr(idledger, "MEMORY_RECORDS", 3)
    with IdLedger(str(tmp_path)) as ledger:
        ledger.add(0, _hashes("a", "b"), _days(2))
        ledger.add(1, _hashes("c", "d"), _days(2, 20_001))  # 4 > 3: both batches go to disk
        ledger.add(2, _hashes("a", "d", "e"), _days(3, 20_002))  # held in memory
        repeats = ledger.repeats()
    assert list(repeats) == [(2, 20_002)]
    assert _as_set(repeats[2, 20_002]) == _as_set(_hashes("a", "d"))


def test_first_occurrences_keep_the_earliest_row_of_each_id() -> None:
    assert first_occurrences(_hashes("a", "b", "c")) is None
    assert first_occurrences(_hashes("a")) is None
    keep = first_occurrences(_hashes("a", "b", "a", "c", "b", "a"))
    assert keep is not None
    assert keep.tolist() == [True, True, False, True, False, False]


def test_first_occurrences_compare_all_128_bits_when_the_high_halves_collide() -> None:
    hashes = np.array([[7, 1], [7, 2], [7, 1], [9, 2]], dtype=np.uint64)
    keep = first_occurrences(hashes)
    assert keep is not None
    assert keep.tolist() == [True, True, False, True]
    assert first_occurrences(np.array([[7, 1], [7, 2]], dtype=np.uint64)) is None


def test_hashes_are_stable_distinct_and_128_bits() -> None:
    first = hash_ids(_ids("N-1", "N-2", "N-1"))
    assert first.shape == (3, 2)
    assert (first[0] == first[2]).all()
    assert not (first[0] == first[1]).all()
    assert (hash_ids(_ids("N-1"))[0] == first[0]).all()
    assert hashes_as_arrow(first).type == pa.binary(16)


def test_ids_sharing_only_the_high_64_bits_are_not_repeats(tmp_path: Path) -> None:
    with IdLedger(str(tmp_path)) as ledger:
        ledger.add(0, np.array([[7, 1], [8, 1]], dtype=np.uint64), _days(2))
        ledger.add(1, np.array([[7, 2], [8, 1]], dtype=np.uint64), _days(2, 20_001))
        ledger.add(2, np.array([[7, 2], [7, 3]], dtype=np.uint64), _days(2, 20_002))
        repeats = ledger.repeats()
    assert sorted(repeats) == [(1, 20_001), (2, 20_002)]
    assert repeats[1, 20_001].tolist() == [[8, 1]]
    assert repeats[2, 20_002].tolist() == [[7, 2]]
