"""Exactly once: duplicate events, crashes and retries, re-uploads, corrected re-exports, late old versions.

Data files (curated tables and quarantine) must be byte-identical to a clean run; manifests and the
ingest_log also record timings, so for them everything but the timings must be equal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from contactlake.commit.committer import Manifest
from tests.fixtures.lakes import LocalLake, lake_digest

KEY = "north/acd/calls-2024-01-15.csv"
HEADER = (
    "call_id,start_time,queue_start,answer_time,end_time,ivr_secs,wait_secs,talk_secs,hold_secs,hold_count,"
    "wrap_secs,result,queue,agent,caller_number,channel,transfers,escalations,disposition,test_case"
)
ROWS = [
    "N-1,2024-01-15T09:00:00,2024-01-15T09:00:40,2024-01-15T09:01:00,2024-01-15T09:06:00,40,20,280,20,1,30,ANS,billing,NOR001,+44 7700 900111,voice,0,0,resolved,",
    "N-2,2024-01-15T09:10:00,2024-01-15T09:10:30,,2024-01-15T09:12:00,30,90,,,,,ABN,sales,,+44 7700 900222,voice,0,0,,",
    "N-3,2024-01-15T09:20:00,,,2024-01-15T09:21:00,60,,,,,,IVR,,,+44 7700 900333,voice,0,0,,",
    "N-4,2024-01-15T25:61:00,,,,,,,,,,ANS,billing,,,voice,0,0,,",
    "N-5,2024-01-16T00:30:00,2024-01-16T00:30:30,2024-01-16T00:31:00,2024-01-16T00:35:00,30,30,240,0,0,20,ANS,billing,NOR002,+44 7700 900555,voice,0,0,resolved,",
]  # fmt: skip
TIMINGS = {"started_utc", "finished_utc", "duration_ms"}


def export(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def data_files(lake: LocalLake) -> dict[str, str]:
    """Curated tables and quarantine: everything but the manifests and the ingest_log (they hold timings)."""
    return {
        key: digest
        for key, digest in lake.digest().items()
        if key.startswith(("lake/curated/contacts", "lake/curated/pathway_steps", "quarantine/"))
    }


def without_timings(manifest: Manifest | dict[str, Any]) -> dict[str, Any]:
    data = manifest if isinstance(manifest, dict) else manifest.__dict__
    return {k: v for k, v in data.items() if k not in TIMINGS}


class Crash(Exception):
    """A storage failure part-way through a commit."""


class HardKill(BaseException):
    """The process dies (Lambda timeout, OOM): no ``except Exception`` cleanup runs."""


def crash_after(
    lake: LocalLake, monkeypatch: pytest.MonkeyPatch, puts: int, error: type[BaseException]
) -> None:
    store = lake.ports.store
    real_put = store.put
    count = {"n": 0}

    def put(area: Any, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        if area != "raw":
            count["n"] += 1
            if count["n"] > puts:
                raise error(f"crashed before writing {key}")
        real_put(area, key, data, content_type)

    monkeypatch.setattr(store, "put", put)


@pytest.fixture
def clean(tmp_path: Path) -> tuple[LocalLake, Manifest]:
    lake = LocalLake.create(tmp_path / "clean")
    return lake, lake.ingest(KEY, export(*ROWS))


def test_duplicate_event_changes_nothing(lake: LocalLake) -> None:
    first = lake.ingest(KEY, export(*ROWS))
    before = lake.digest()
    assert lake.ingest(KEY) == first
    assert lake.digest() == before
    assert (first.rows_read, first.rows_stored, first.rows_quarantined) == (5, 4, 1)


@pytest.mark.parametrize("error", [Crash, HardKill], ids=["exception", "hard-kill"])
@pytest.mark.parametrize("puts", [1, 2, 3, 4], ids=lambda n: f"after-{n}-puts")
def test_retry_after_a_crash_mid_write_equals_a_clean_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clean: tuple[LocalLake, Manifest],
    puts: int,
    error: type[BaseException],
) -> None:
    clean_lake, clean_manifest = clean
    lake = LocalLake.create(tmp_path / "crashy")
    lake.put(KEY, export(*ROWS))
    # The same upload (same bytes, same upload time) as the clean run's.
    os.utime(lake.home / "raw" / KEY, ns=(_mtime(clean_lake), _mtime(clean_lake)))
    with monkeypatch.context() as patch:
        crash_after(lake, patch, puts, error)
        with pytest.raises(error):
            lake.ingest(KEY)
    assert not (lake.home / "lake" / "manifests" / f"{clean_manifest.upload_id}.json").exists()
    retried = lake.ingest(KEY)
    assert data_files(lake) == data_files(clean_lake)
    assert without_timings(retried) == without_timings(clean_manifest)
    assert lake.contacts().num_rows == 4


def _mtime(lake: LocalLake) -> int:
    return os.stat(lake.home / "raw" / KEY).st_mtime_ns


def test_crash_between_data_and_manifest_then_retry_completes(
    lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = lake.ports.store
    real_put = store.put

    def put(area: Any, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        if key.startswith("manifests/") and not key.startswith("manifests/current/"):
            raise HardKill("killed just before the manifest")
        real_put(area, key, data, content_type)

    lake.put(KEY, export(*ROWS))
    with monkeypatch.context() as patch:
        patch.setattr(store, "put", put)
        with pytest.raises(HardKill):
            lake.ingest(KEY)
    written = data_files(lake)
    assert written  # the data was written, only the commit record is missing
    manifest = lake.ingest(KEY)
    assert manifest.status == "stored"
    assert manifest.reconciles
    assert data_files(lake) == written
    assert lake.contacts().num_rows == 4
    log = lake.ingest_log().to_pylist()
    assert [(r["upload_id"], r["status"], r["rows_stored"]) for r in log] == [
        (manifest.upload_id, "stored", 4)
    ]


def test_reupload_of_the_same_bytes_leaves_the_lake_byte_for_byte(lake: LocalLake) -> None:
    first = lake.ingest(KEY, export(*ROWS))
    before = {k: v for k, v in lake.digest().items() if not k.startswith("raw/")}
    second = lake.ingest(KEY, export(*ROWS))  # uploaded again: a new object version, the same content
    assert second.upload_id == first.upload_id
    assert {k: v for k, v in lake.digest().items() if not k.startswith("raw/")} == before


@pytest.fixture
def daily(tmp_path: Path) -> LocalLake:
    """A lake whose ``north/acd`` source is configured so that each upload replaces the day it names."""
    return LocalLake.create(tmp_path, acd_replaces="day")


def test_corrected_reexport_replaces_the_earlier_one_completely(daily: LocalLake) -> None:
    lake = daily
    first = lake.ingest(KEY, export(*ROWS))
    corrected_n2 = (
        "N-2,2024-01-15T09:10:00,2024-01-15T09:10:30,2024-01-15T09:12:00,2024-01-15T09:15:00,30,90,180,0,0,10,"
        "ANS,sales,NOR003,+44 7700 900222,voice,0,0,resolved,"
    )
    corrected_rows = [ROWS[0], corrected_n2, ROWS[2]]
    second = lake.ingest("north/acd/calls-2024-01-15-corrected.csv", export(*corrected_rows))
    assert second.dataset_key == first.dataset_key == "north/acd/2024-01-15"
    assert (second.status, second.replaced_upload_id, second.rows_stored) == ("stored", first.upload_id, 3)
    assert second.replaces == "day"
    assert f"replaced upload {first.upload_id} ({KEY}" in second.message
    assert lake.rows(lake.contacts(), "contact_id", "outcome", "upload_id") == [
        ("N-1", "answered", second.upload_id),
        ("N-2", "answered", second.upload_id),
        ("N-3", "self_served", second.upload_id),
    ]
    # The earlier upload's files, also on other days (N-5 was on the 16th), and its quarantined rows are
    # gone; only its manifest and ingest_log row remain, as history.
    assert not any(first.upload_id in key for key in data_files(lake))
    assert sorted(key for key in lake.digest() if first.upload_id in key) == [
        f"lake/curated/ingest_log/centre_id=north/ingest_date={(first.source_last_modified or '')[:10]}/{first.upload_id}.parquet",
        f"lake/manifests/{first.upload_id}.json",
    ]
    assert lake.quarantine().num_rows == 0
    assert lake.manifest(first.upload_id)["status"] == "replaced"
    assert lake.manifest(first.upload_id)["replaced_by"] == second.upload_id
    log = sorted((r["upload_id"], r["status"]) for r in lake.ingest_log().to_pylist())
    assert log == sorted([(first.upload_id, "replaced"), (second.upload_id, "stored")])


def test_late_arriving_older_version_never_overwrites_a_newer_one(daily: LocalLake) -> None:
    lake = daily
    lake.put("north/acd/calls-2024-01-15-v1.csv", export(*ROWS))
    newer = lake.ingest("north/acd/calls-2024-01-15-v2.csv", export(ROWS[0]))
    # v1 was exported (and uploaded) an hour before v2, but its event arrives late.
    v2_time = os.stat(lake.home / "raw" / "north/acd/calls-2024-01-15-v2.csv").st_mtime_ns
    os.utime(lake.home / "raw" / "north/acd/calls-2024-01-15-v1.csv", ns=(v2_time - 3_600 * 10**9,) * 2)
    before = data_files(lake)
    late = lake.ingest("north/acd/calls-2024-01-15-v1.csv")
    assert (late.status, late.rows_stored) == ("superseded", 0)
    assert newer.upload_id in late.message
    assert data_files(lake) == before
    assert lake.rows(lake.contacts(), "contact_id") == [("N-1",)]


def test_raw_objects_are_never_modified_or_deleted(lake: LocalLake) -> None:
    lake.put(KEY, export(*ROWS))
    lake.put("north/acd/calls-2024-01-15-corrected.csv", export(ROWS[0]))
    raw_before = lake_digest(lake.home / "raw")
    lake.ingest(KEY)
    lake.ingest("north/acd/calls-2024-01-15-corrected.csv")
    lake.ingest(KEY)
    assert lake_digest(lake.home / "raw") == raw_before


# Upload identity is the object (key + content), never a name stem: uploads add unless the source is
# configured to replace (issue 15, items 1 and 4; docs/adr/0014-upload-identity-and-replacement.md).


def test_a_constant_file_name_on_two_nights_adds_and_keeps_both_raw_versions(lake: LocalLake) -> None:
    first = lake.ingest("north/acd/export.csv", export(ROWS[0], ROWS[1]))
    second = lake.ingest("north/acd/export.csv", export(ROWS[2], ROWS[4]))
    assert first.upload_id != second.upload_id
    assert (first.status, second.status, second.replaced_upload_id) == ("stored", "stored", None)
    assert lake.manifest(first.upload_id)["status"] == "stored"
    assert lake.rows(lake.contacts(), "contact_id") == [("N-1",), ("N-2",), ("N-3",), ("N-5",)]
    # The first night's bytes are still in the store (locally as S3 versioning keeps them).
    kept = lake.home / ".versions" / "raw" / "north/acd/export.csv" / first.fingerprint
    assert kept.read_bytes() == export(ROWS[0], ROWS[1])


def test_hourly_files_of_one_day_add_up(lake: LocalLake) -> None:
    nine = lake.ingest("north/acd/calls-2024-01-15-0900.csv", export(ROWS[0]))
    ten = lake.ingest("north/acd/calls-2024-01-15-1000.csv", export(ROWS[1], ROWS[2]))
    assert nine.dataset_key != ten.dataset_key
    assert (lake.manifest(nine.upload_id)["status"], ten.replaced_upload_id) == ("stored", None)
    assert lake.contacts().num_rows == 3


def test_uploads_that_add_never_store_a_contact_twice(lake: LocalLake) -> None:
    lake.ingest("north/acd/export.csv", export(ROWS[0], ROWS[1]))
    again = lake.ingest("north/acd/export-copy.csv", export(ROWS[0], ROWS[1]))
    assert (again.rows_stored, again.quarantined_by_rule) == (0, {"duplicate.contact_id_across_uploads": 2})
    assert lake.contacts().num_rows == 2


def test_a_day_without_a_day_in_its_name_is_replaced_only_by_the_same_key(daily: LocalLake) -> None:
    first = daily.ingest("north/acd/export.csv", export(ROWS[0]))
    other = daily.ingest("north/acd/other.csv", export(ROWS[1]))
    assert (first.dataset_key, other.replaced_upload_id) == ("north/acd/export.csv", None)
    newer = daily.ingest("north/acd/export.csv", export(ROWS[2]))
    assert newer.replaced_upload_id == first.upload_id
    assert daily.rows(daily.contacts(), "contact_id") == [("N-2",), ("N-3",)]


def test_a_late_reupload_of_the_old_export_never_undoes_a_correction(daily: LocalLake) -> None:
    lake = daily
    old = lake.ingest(KEY, export(*ROWS))
    corrected = lake.ingest("north/acd/calls-2024-01-15-corrected.csv", export(ROWS[0]))
    assert corrected.replaced_upload_id == old.upload_id
    before = data_files(lake)
    # The old export uploaded again, after the correction: a newer LastModified, the old bytes.
    late_time = os.stat(lake.home / "raw" / "north/acd/calls-2024-01-15-corrected.csv").st_mtime_ns + 10**9
    lake.put(KEY, export(*ROWS))
    os.utime(lake.home / "raw" / KEY, ns=(late_time, late_time))
    late = lake.ingest(KEY)
    assert late.upload_id == old.upload_id
    assert (late.status, late.replaced_by) == ("replaced", corrected.upload_id)
    assert data_files(lake) == before
    assert lake.rows(lake.contacts(), "contact_id", "upload_id") == [("N-1", corrected.upload_id)]
    # The same old bytes under another name of the same day: ordered by their first arrival.
    renamed = lake.ingest("north/acd/calls-2024-01-15 (1).csv", export(*ROWS))
    assert renamed.status == "replaced"
    assert data_files(lake) == before
    assert lake.manifest(corrected.upload_id)["ordered_by_utc"] > (old.ordered_by_utc or "")


def test_reordered_deliveries_of_a_day_end_as_in_order(daily: LocalLake, tmp_path: Path) -> None:
    """The corrected export's event arrives first, the original's second: the correction stays."""
    lake = daily
    lake.put(KEY, export(*ROWS))
    lake.put("north/acd/calls-2024-01-15-corrected.csv", export(ROWS[0]))
    corrected_time = os.stat(lake.home / "raw" / "north/acd/calls-2024-01-15-corrected.csv").st_mtime_ns
    os.utime(lake.home / "raw" / KEY, ns=(corrected_time - 10**9,) * 2)  # uploaded a second earlier
    corrected = lake.ingest("north/acd/calls-2024-01-15-corrected.csv")
    original = lake.ingest(KEY)
    assert (corrected.status, original.status) == ("stored", "superseded")
    assert lake.rows(lake.contacts(), "contact_id", "upload_id") == [("N-1", corrected.upload_id)]
    in_order = LocalLake.create(tmp_path / "in-order", acd_replaces="day")
    in_order.put(KEY, export(*ROWS))
    in_order.put("north/acd/calls-2024-01-15-corrected.csv", export(ROWS[0]))
    in_order.ingest(KEY)
    again = in_order.ingest("north/acd/calls-2024-01-15-corrected.csv")
    assert again.replaced_upload_id is not None
    assert in_order.rows(in_order.contacts(), "contact_id", "outcome") == lake.rows(
        lake.contacts(), "contact_id", "outcome"
    )
    assert in_order.quarantine().num_rows == lake.quarantine().num_rows == 0
