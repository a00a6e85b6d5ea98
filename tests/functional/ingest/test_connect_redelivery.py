"""Amazon Connect re-delivers a contact whenever it changes: across files the latest LastUpdateTimestamp wins.

The fixture's first two records are two deliveries of one contact: 09:06:05 (before after-contact work
ended) and 09:07:00 (with 30 s of after-contact work). Each file here is its own upload (Firehose objects
are separate datasets), so the copies meet in the commit stage, not in the adapter.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from contactlake.pii import pseudonymise
from contactlake.ports import ObjectStore
from tests.fixtures.lakes import FIXTURES, PII_KEY, LocalLake

RECORDS = (FIXTURES / "amazon_connect" / "ctr-2024-03-05.jsonl").read_bytes().splitlines()
FIRST, UPDATED, OTHER = RECORDS[0], RECORDS[1], RECORDS[2]
CONTACT = "c0a80001-1111-4aaa-8001-000000000001"
EARLY_KEY = "leeds/ctr/2024/03/05/09/part-a.jsonl"
LATE_KEY = "leeds/ctr/2024/03/05/10/part-b.jsonl"


def _is(table: pa.Table, contact_id: str) -> pa.ChunkedArray:
    return pc.equal(table.column("contact_id"), contact_id)


def _stored_copy(lake: LocalLake) -> list[tuple[Any, ...]]:
    contacts = lake.contacts()
    return lake.rows(
        contacts.filter(_is(contacts, CONTACT)), "upload_id", "acw_seconds", "source_updated_utc"
    )


def _curated(digest: dict[str, str]) -> dict[str, str]:
    """The contacts and pathway files (what readers see), not logs, manifests or raw uploads."""
    return {
        k: v for k, v in digest.items() if k.startswith(("lake/curated/contacts/", "lake/curated/pathway"))
    }


def _reconciles(manifest: dict[str, Any]) -> bool:
    return bool(
        manifest["rows_read"]
        == manifest["rows_stored"] + manifest["rows_quarantined"] + manifest["rows_excluded"]
    )


def test_a_newer_delivery_in_a_later_file_replaces_the_stored_copy(lake: LocalLake) -> None:
    early = lake.ingest(EARLY_KEY, FIRST + b"\n" + OTHER)
    late = lake.ingest(LATE_KEY, UPDATED)

    assert _stored_copy(lake) == [(late.upload_id, 30.0, datetime(2024, 3, 5, 9, 7))]
    assert lake.contacts().num_rows == 2  # the other contact of the early file stays
    steps = lake.steps()
    assert set(steps.filter(_is(steps, CONTACT)).column("upload_id").to_pylist()) == {late.upload_id}

    assert (late.rows_stored, late.rows_excluded, late.rows_quarantined) == (1, 0, 0)
    assert "contacts/centre_id=leeds/2024-03-05" in late.partitions
    before = lake.manifest(early.upload_id)
    assert (before["rows_read"], before["rows_stored"], before["rows_excluded"]) == (2, 1, 1)
    assert before["excluded_by_rule"] == {"duplicate.superseded_by_later_upload": 1}
    assert before["displaced_by"] == {late.upload_id: 1}
    early_steps = steps.filter(pc.equal(steps.column("upload_id"), early.upload_id)).num_rows
    assert before["pathway_steps_stored"] == early_steps < early.pathway_steps_stored
    assert _reconciles(before)
    assert _reconciles(lake.manifest(late.upload_id))
    log = {row["upload_id"]: row for row in lake.ingest_log().to_pylist()}
    assert (log[early.upload_id]["rows_stored"], log[early.upload_id]["rows_excluded"]) == (1, 1)


def test_the_emptied_file_of_the_earlier_upload_is_removed(lake: LocalLake) -> None:
    early = lake.ingest(EARLY_KEY, FIRST)
    contacts_file = next(key for key in early.files if key.startswith("curated/contacts/"))
    lake.ingest(LATE_KEY, UPDATED)

    assert not (lake.home / "lake" / contacts_file).exists()
    assert contacts_file not in lake.manifest(early.upload_id)["files"]
    assert lake.manifest(early.upload_id)["rows_stored"] == 0
    assert lake.contacts().num_rows == 1


def test_an_older_delivery_arriving_late_is_excluded_and_changes_nothing(lake: LocalLake) -> None:
    late = lake.ingest(LATE_KEY, UPDATED)
    before = lake.digest()
    early = lake.ingest(EARLY_KEY, FIRST)

    assert (early.rows_stored, early.excluded_by_rule) == (0, {"duplicate.superseded_update": 1})
    assert _stored_copy(lake) == [(late.upload_id, 30.0, datetime(2024, 3, 5, 9, 7))]
    assert _curated(lake.digest()) == _curated(before)
    assert lake.manifest(late.upload_id)["displaced_by"] == {}


def test_the_same_delivery_in_two_files_is_stored_once(lake: LocalLake) -> None:
    first = lake.ingest(EARLY_KEY, UPDATED)
    again = lake.ingest(LATE_KEY, UPDATED)

    assert (again.rows_stored, again.excluded_by_rule) == (0, {"duplicate.superseded_update": 1})
    assert _stored_copy(lake) == [(first.upload_id, 30.0, datetime(2024, 3, 5, 9, 7))]


def test_reprocessing_the_later_upload_changes_nothing(lake: LocalLake) -> None:
    lake.ingest(EARLY_KEY, FIRST + b"\n" + OTHER)
    lake.ingest(LATE_KEY, UPDATED)
    before = lake.digest()
    lake.ingest(LATE_KEY)
    assert lake.digest() == before


def test_a_crash_between_the_manifest_and_the_file_rewrite_is_repaired_by_the_retry(
    lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    early = lake.ingest(EARLY_KEY, FIRST + b"\n" + OTHER)
    early_file = next(key for key in early.files if key.startswith("curated/contacts/"))
    store: ObjectStore = lake.ports.store
    real_put = store.put

    def crash_on_rewrite(area: Any, key: str, data: bytes, *args: Any) -> None:
        if key == early_file:
            raise ConnectionError("simulated crash while rewriting the earlier upload's file")
        real_put(area, key, data, *args)

    monkeypatch.setattr(store, "put", crash_on_rewrite)
    lake.put(LATE_KEY, UPDATED)
    with pytest.raises(ConnectionError):
        lake.ingest(LATE_KEY)
    assert lake.manifest(early.upload_id)["rows_stored"] == 1  # recorded before the files changed
    monkeypatch.setattr(store, "put", real_put)

    late = lake.ingest(LATE_KEY)
    assert _stored_copy(lake) == [(late.upload_id, 30.0, datetime(2024, 3, 5, 9, 7))]
    assert lake.contacts().num_rows == 2
    after = lake.manifest(early.upload_id)
    assert (after["rows_stored"], after["rows_excluded"], after["displaced_by"]) == (
        1,
        1,
        {late.upload_id: 1},
    )


def test_files_written_before_schema_version_2_stay_readable_and_win_as_undated(lake: LocalLake) -> None:
    """A lake from before ``source_updated_utc`` existed: its copies cannot be ordered, so they are kept."""
    early = lake.ingest(EARLY_KEY, FIRST + b"\n" + OTHER)
    early_file = lake.home / "lake" / next(key for key in early.files if key.startswith("curated/contacts/"))
    pq.write_table(pq.read_table(early_file).drop(["source_updated_utc"]), early_file)

    late = lake.ingest(LATE_KEY, UPDATED)
    assert late.quarantined_by_rule == {"duplicate.contact_id_across_uploads": 1}
    counts = lake.ports.engine.query("SELECT count(*) AS n, count(source_updated_utc) AS dated FROM contacts")
    assert counts.to_pylist() == [{"n": 2, "dated": 0}]


class _KeptScratch:
    """``tempfile.TemporaryFile`` for the Connect adapter, keeping what it wrote to be looked at."""

    written: ClassVar[list[bytes]] = []

    def __init__(self, **_: Any) -> None:
        import io

        self.file = io.BytesIO()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)

    def close(self) -> None:
        _KeptScratch.written.append(self.file.getvalue())
        self.file.close()


def test_the_scratch_file_of_the_first_pass_holds_no_caller_number(
    lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: the first pass's scratch file (in the ingest Lambda's /tmp) held every caller number;
    its records are now spooled with the callers hashed and the JSON texts masked."""
    import json
    import re

    addresses = [
        (json.loads(record).get("CustomerEndpoint") or {}).get("Address") or "" for record in RECORDS
    ]
    numbers = {
        text
        for address in addresses
        if len(re.sub(r"\D", "", address)) > 6  # a number, not "anonymous"
        for text in (address, re.sub(r"\D", "", address))
    }
    assert numbers
    _KeptScratch.written = []
    # Only the adapter's scratch file (the commit stage's own scratch files are not this test's subject).
    monkeypatch.setattr(
        "contactlake.ingest.sources.amazon_connect.tempfile", SimpleNamespace(TemporaryFile=_KeptScratch)
    )
    manifest = lake.ingest(EARLY_KEY, b"\n".join(RECORDS))
    assert manifest.rows_stored > 0
    (scratch,) = _KeptScratch.written
    assert b"c0a80001-1111-4aaa-8001" in scratch  # it is the records' spool
    assert not [number for number in numbers if number.encode() in scratch]
    # The stored contacts carry the same keyed hashes as when the callers were hashed in the batch.
    by_id = {
        json.loads(r)["ContactId"]: (json.loads(r).get("CustomerEndpoint") or {}).get("Address")
        for r in RECORDS
    }
    stored = lake.rows(lake.contacts(), "contact_id", "customer_key")
    assert [key for _, key in stored] == [
        pseudonymise(by_id[contact_id], PII_KEY) for contact_id, _ in stored
    ]
    assert any(key for _, key in stored)


def test_the_latest_copy_of_a_contact_in_one_file_wins_whatever_its_place(lake: LocalLake) -> None:
    manifest = lake.ingest(EARLY_KEY, UPDATED + b"\n" + OTHER + b"\n" + FIRST)
    assert _stored_copy(lake) == [(manifest.upload_id, 30.0, datetime(2024, 3, 5, 9, 7))]
    assert manifest.excluded_by_rule == {"duplicate.superseded_update": 1}
    assert (manifest.rows_read, manifest.rows_stored) == (3, 2)
