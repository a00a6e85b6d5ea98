"""The in-file duplicate-id rule, written once and used by both stages, and the note that saves rehashing."""

from __future__ import annotations

import gc

import numpy as np
import pyarrow as pa

from contactlake.ingest.rules import first_of_each_id
from contactlake.kernels import idhash
from contactlake.kernels.idhash import hash_ids, recall_unique, remember_unique


def _contacts(*ids: str) -> pa.Table:
    return pa.table({"contact_id": pa.array(ids, pa.string()), "n": pa.array(range(len(ids)))})


def test_the_first_row_of_each_id_is_kept() -> None:
    contacts = _contacts("a", "b", "a", "c", "b", "a")
    hashes, keep = first_of_each_id(contacts)
    assert keep is not None
    assert keep.tolist() == [True, True, False, True, False, False]
    assert np.array_equal(hashes, hash_ids(contacts.column("contact_id")))


def test_distinct_ids_need_no_mask() -> None:
    hashes, keep = first_of_each_id(_contacts("a", "b", "c"))
    assert keep is None
    assert hashes.shape == (3, 2)


def test_a_table_noted_as_checked_is_not_hashed_or_checked_again() -> None:
    contacts = _contacts("a", "b")
    noted = np.array([[1, 2], [3, 4]], dtype=np.uint64)  # not the real hashes: proves they are reused
    remember_unique(contacts, noted)
    hashes, keep = first_of_each_id(contacts)
    assert keep is None
    assert hashes is noted


def test_the_note_belongs_to_that_table_only_and_goes_with_it() -> None:
    contacts = _contacts("a", "a")
    remember_unique(contacts, hash_ids(contacts.column("contact_id"))[:1])
    same_ids_other_table = _contacts("a", "a")
    assert recall_unique(same_ids_other_table) is None
    _, keep = first_of_each_id(same_ids_other_table)
    assert keep is not None
    assert keep.tolist() == [True, False]
    before = len(idhash._unique)
    del contacts
    gc.collect()
    assert len(idhash._unique) == before - 1
