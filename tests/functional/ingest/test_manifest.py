"""The manifest and ingest_log record everything the issue lists; catalogue and event follow each commit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from contactlake import schema
from tests.fixtures.lakes import FIXTURES, LocalLake

EXPORT = (
    b"call_id,start_time,queue_start,answer_time,end_time,ivr_secs,wait_secs,talk_secs,hold_secs,hold_count,"
    b"wrap_secs,result,queue,agent,caller_number,channel,transfers,escalations,disposition,test_case\n"
    b"M-1,2024-01-15T09:00:00,2024-01-15T09:00:40,2024-01-15T09:01:00,2024-01-15T09:06:00,40,20,280,20,1,30,"
    b"ANS,billing,NOR001,+44 7700 900111,voice,0,0,resolved,\n"
    b"M-2,2024-01-15T23:50:00,2024-01-15T23:50:30,,2024-01-15T23:52:00,30,90,,,,,ABN,sales,,+44 7700 900222,"
    b"voice,0,0,,\n"
    b"M-3,2024-01-16T00:10:00,,,2024-01-16T00:11:00,60,,,,,,IVR,,,,voice,0,0,,\n"
    b"M-4,2024-01-16T00:20:00,,,2024-01-16T00:21:00,60,,,,,,???,,,,voice,0,0,,\n"
    b"\n"
)


class RecordingCatalog:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, str]]]] = []

    def add_partitions(self, table: str, partitions: Sequence[Mapping[str, str]]) -> None:
        self.calls.append((table, [dict(p) for p in partitions]))


def test_manifest_and_ingest_log_fields(lake: LocalLake) -> None:
    catalog = RecordingCatalog()
    lake.ports.catalog = catalog
    manifest = lake.ingest("north/acd/calls-2024-01-15.csv", EXPORT)
    info = lake.ports.store.head("raw", "north/acd/calls-2024-01-15.csv")
    day = info.last_modified.date().isoformat() if info.last_modified else ""
    assert manifest.source_key == "north/acd/calls-2024-01-15.csv"
    assert manifest.source_version == info.version
    assert manifest.fingerprint == info.etag == hashlib.md5(EXPORT, usedforsecurity=False).hexdigest()
    assert manifest.checksum_sha256 == hashlib.sha256(EXPORT).hexdigest()
    content = hashlib.sha256(manifest.fingerprint.encode()).hexdigest()[:16]
    assert (manifest.adapter, manifest.dataset_key, manifest.status, manifest.replaces) == (
        "generic_csv",
        f"north/acd/2024-01-15/calls-2024-01-15.csv@{content}",  # uploads add: the dataset is the object
        "stored",
        "nothing",
    )
    assert (manifest.ordered_by, manifest.ordered_by_utc) == ("first_arrival", manifest.source_last_modified)
    assert manifest.processing.startswith("generic_csv@2|mapping:")
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined, manifest.rows_excluded) == (
        5,
        3,
        1,
        1,
    )
    assert manifest.quarantined_by_rule == {"outcome.unknown_code": 1}
    assert manifest.excluded_by_rule == {"row.blank_line": 1}
    assert manifest.partitions == [
        "contacts/centre_id=north/2024-01-15",
        "contacts/centre_id=north/2024-01-16",
        f"quarantine/centre_id=north/{day}",
    ]
    uid = manifest.upload_id
    assert manifest.files == [
        f"curated/contacts/centre_id=north/contact_date=2024-01-15/{uid}-00000.parquet",
        f"curated/contacts/centre_id=north/contact_date=2024-01-16/{uid}-00000.parquet",
    ]
    assert manifest.quarantine_files == [f"rows/centre_id=north/ingest_date={day}/{uid}.parquet"]
    started = datetime.fromisoformat(manifest.started_utc)
    assert started <= datetime.fromisoformat(manifest.finished_utc)
    assert manifest.duration_ms >= 0
    assert json.loads((lake.home / "lake" / "manifests" / f"{uid}.json").read_text()) == manifest.__dict__

    log = lake.ingest_log().to_pylist()
    assert len(log) == 1
    row = log[0]
    assert {
        k: row[k]
        for k in (
            "upload_id",
            "source_system",
            "source_key",
            "source_version",
            "checksum_sha256",
            "dataset_key",
            "status",
            "rows_read",
            "rows_stored",
            "rows_quarantined",
            "rows_excluded",
            "files_written",
            "schema_version",
        )
    } == {
        "upload_id": uid,
        "source_system": "generic_csv",
        "source_key": manifest.source_key,
        "source_version": info.version,
        "checksum_sha256": hashlib.sha256(EXPORT).hexdigest(),
        "dataset_key": manifest.dataset_key,
        "status": "stored",
        "rows_read": 5,
        "rows_stored": 3,
        "rows_quarantined": 1,
        "rows_excluded": 1,
        "files_written": 2,
        "schema_version": schema.SCHEMA_VERSION,
    }
    assert json.loads(row["quarantined_by_rule"]) == {"outcome.unknown_code": 1}
    assert json.loads(row["excluded_by_rule"]) == {"row.blank_line": 1}

    assert catalog.calls == [
        ("contacts", [{"centre_id": "north", "contact_date": "2024-01-15"},
                      {"centre_id": "north", "contact_date": "2024-01-16"}]),
        ("quarantine", [{"centre_id": "north", "ingest_date": day}]),
        ("ingest_log", [{"centre_id": "north", "ingest_date": day}]),
    ]  # fmt: skip
    events = [json.loads(line) for line in (lake.home / "events.jsonl").read_text().splitlines()]
    assert [(e["detail-type"], e["detail"]["upload_id"], e["detail"]["rows_stored"]) for e in events] == [
        ("UploadValidated", uid, 3)
    ]
    # A duplicate event registers nothing again and announces nothing again.
    lake.ingest("north/acd/calls-2024-01-15.csv")
    assert len(catalog.calls) == 3
    assert len((lake.home / "events.jsonl").read_text().splitlines()) == 1


def test_pathway_steps_are_partitioned_with_their_contacts(lake: LocalLake) -> None:
    manifest = lake.ingest(
        "leeds/genesys/2024-03-05/page.json",
        (FIXTURES / "genesys_cloud" / "details-job-2024-03-05.json").read_bytes(),
    )
    steps = lake.steps()
    assert manifest.pathway_steps_stored == steps.num_rows == 13
    assert set(steps.column("contact_id").to_pylist()) == set(
        lake.contacts().column("contact_id").to_pylist()
    )
    assert sorted(p for p in manifest.partitions if p.startswith("pathway_steps")) == [
        "pathway_steps/centre_id=leeds/2024-03-05"
    ]
