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
