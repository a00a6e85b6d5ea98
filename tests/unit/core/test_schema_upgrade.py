"""Local lakes written under an older schema version: files are upgraded once, so DuckDB sees every column."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from contactlake import schema
from contactlake.adapters.local import DuckDBEngine, LocalObjectStore, upgrade_files
from contactlake.lake import parquet_bytes
from contactlake.tables import LAKE_TABLES


def _contacts(contact_id: str, updated: datetime | None) -> pa.Table:
    row = {field.name: None for field in schema.CONTACTS}
    row |= {
        "contact_id": contact_id,
        "source_system": "amazon_connect",
        "upload_id": "u",
        "outcome": "answered",
        "initiated_utc": datetime(2024, 3, 5, 9),
        "initiated_local": datetime(2024, 3, 5, 9),
        "source_updated_utc": updated,
    }
    return pa.Table.from_pylist([row], schema=schema.CONTACTS)


def _put(store: LocalObjectStore, day: str, table: pa.Table) -> Path:
    key = f"curated/contacts/centre_id=leeds/contact_date={day}/u-00000.parquet"
    store.put("lake", key, parquet_bytes(table))
    return store.path("lake", key)


def test_an_old_file_first_in_the_glob_no_longer_hides_a_new_column(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    old = _put(store, "2024-03-04", _contacts("A", None).drop(["source_updated_utc"]))  # version 1
    _put(store, "2024-03-05", _contacts("B", datetime(2024, 3, 5, 9, 7)))

    engine = DuckDBEngine(store)
    rows = engine.query("SELECT contact_id, source_updated_utc FROM contacts ORDER BY contact_id").to_pylist()
    assert rows == [
        {"contact_id": "A", "source_updated_utc": None},
        {"contact_id": "B", "source_updated_utc": datetime(2024, 3, 5, 9, 7)},
    ]
    upgraded = pq.read_schema(old)
    assert upgraded.names == schema.CONTACTS.names
    assert upgraded.metadata[b"contactlake.schema_version"] == str(schema.SCHEMA_VERSION).encode()
    assert (tmp_path / ".schema" / "contacts.json").is_file()


def test_the_check_runs_once_per_lake_and_version(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    _put(store, "2024-03-04", _contacts("A", None).drop(["source_updated_utc"]))
    table = LAKE_TABLES["contacts"]
    assert upgrade_files(store, table) == 1
    assert upgrade_files(store, table) == 0  # the marker answers; no footer is read
    (tmp_path / ".schema" / "contacts.json").write_text('{"schema_version": 1}')
    assert upgrade_files(store, table) == 0  # checked again: nothing left to rewrite


def test_pathway_steps_and_agent_activity_written_before_version_4_gain_quality_flags(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    step = {f.name: None for f in schema.PATHWAY_STEPS} | {
        "contact_id": "A", "source_system": "asterisk_queue_log", "upload_id": "u", "step_index": 0,
        "step_type": "queue",
    }  # fmt: skip
    span = {
        "agent_id": "PJSIP/1002", "team": None, "state": "staffed", "started_utc": datetime(2024, 3, 5, 9),
        "ended_utc": datetime(2024, 3, 5, 10), "started_local": datetime(2024, 3, 5, 9),
        "duration_seconds": 3600.0, "source_system": "asterisk_queue_log", "upload_id": "u", "source_line": 1,
    }  # fmt: skip
    old = {
        "curated/pathway_steps/centre_id=leeds/contact_date=2024-03-05/u-00000.parquet": pa.Table.from_pylist(
            [step], schema=schema.PATHWAY_STEPS
        ).drop(["quality_flags"]),
        "curated/agent_activity/centre_id=leeds/activity_date=2024-03-05/u-00000.parquet": pa.Table.from_pylist(
            [span],
            schema=schema.AGENT_ACTIVITY.remove(schema.AGENT_ACTIVITY.get_field_index("quality_flags")),
        ),
    }
    for key, table in old.items():
        store.put("lake", key, parquet_bytes(table))
    engine = DuckDBEngine(store)
    assert engine.query("SELECT contact_id, quality_flags FROM pathway_steps").to_pylist() == [
        {"contact_id": "A", "quality_flags": None}
    ]
    assert engine.query("SELECT agent_id, quality_flags FROM agent_activity").to_pylist() == [
        {"agent_id": "PJSIP/1002", "quality_flags": None}
    ]
    for key in old:
        assert pq.read_schema(store.path("lake", key)).names[-1] == "quality_flags"
