"""The id ledger: repeats across an upload's batches, found in bounded memory via scratch partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from contactlake.validate.idledger import IdLedger, hash_ids, hashes_as_arrow


def _ids(*values: str) -> pa.Array:
    return pa.array(values, pa.string())


def _days(count: int, day: int = 20_000) -> np.ndarray:
    return np.full(count, day, dtype=np.int32)


def _as_set(hashes: np.ndarray) -> set[bytes]:
    return set(hashes_as_arrow(hashes).to_pylist())


def test_a_single_batch_never_touches_the_disk(tmp_path: Path) -> None:
    with IdLedger(str(tmp_path)) as ledger:
        ledger.add(0, _ids("a", "b", "c"), _days(3))
        assert ledger.repeats() == {}
        assert list(tmp_path.iterdir()) == []


def test_repeats_are_named_for_the_later_batch_and_its_day(tmp_path: Path) -> None:
    ids = [f"CALL-{n:07d}" for n in range(20_000)]  # enough to fill every scratch partition
    with IdLedger(str(tmp_path)) as ledger:
        ledger.add(0, _ids(*ids[:10_000]), _days(10_000))
        second = _ids(*ids[10_000:], "CALL-0000001", "CALL-0000002")
        ledger.add(1, second, np.concatenate([_days(10_000), _days(1, 20_001), _days(1, 20_002)]))
        ledger.add(2, _ids("CALL-0000002", "CALL-0015000", "NEW"), _days(3, 20_003))
        assert len(list(tmp_path.iterdir())) == 1  # one scratch folder, while the upload runs
        repeats = ledger.repeats()
    assert sorted(repeats) == [(1, 20_001), (1, 20_002), (2, 20_003)]
    assert _as_set(repeats[1, 20_001]) == _as_set(hash_ids(_ids("CALL-0000001")))
    assert _as_set(repeats[1, 20_002]) == _as_set(hash_ids(_ids("CALL-0000002")))
    assert _as_set(repeats[2, 20_003]) == _as_set(hash_ids(_ids("CALL-0000002", "CALL-0015000")))
    assert list(tmp_path.iterdir()) == []  # closed: the scratch folder is gone


def test_hashes_are_stable_distinct_and_128_bits() -> None:
    first = hash_ids(_ids("N-1", "N-2", "N-1"))
    assert first.shape == (3, 2)
    assert (first[0] == first[2]).all()
    assert not (first[0] == first[1]).all()
    assert (hash_ids(_ids("N-1"))[0] == first[0]).all()
    assert hashes_as_arrow(first).type == pa.binary(16)
