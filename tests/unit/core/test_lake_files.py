"""Lake files: per-column encodings that make writing fast, and bytes that repeat for the same input."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from contactlake import schema
from contactlake.lake import parquet_bytes


def _contacts(rows: int) -> pa.Table:
    values = {
        "contact_id": [f"C-{i:06d}" for i in range(rows)],
        "source_system": ["generic_csv"] * rows,
        "upload_id": ["u1"] * rows,
        "initiated_local": [datetime(2025, 1, 6, 9, i % 60) for i in range(rows)],
        "outcome": ["answered"] * rows,
        "source_line": list(range(2, rows + 2)),
        "queue": ["sales", "service"] * (rows // 2),
        "initiated_utc": [datetime(2025, 1, 6, 9, i % 60) for i in range(rows)],
        "talk_seconds": [float(i) for i in range(rows)],
        "transfer_count": [i % 2 for i in range(rows)],
    }
    columns = [
        pa.array(values[f.name], f.type) if f.name in values else pa.nulls(rows, f.type)
        for f in schema.CONTACTS
    ]
    return pa.Table.from_arrays(columns, schema=schema.CONTACTS)


def _encodings(data: bytes) -> dict[str, set[str]]:
    meta = pq.ParquetFile(pa.BufferReader(data)).metadata.row_group(0)
    return {meta.column(i).path_in_schema: set(meta.column(i).encodings) for i in range(meta.num_columns)}


def test_repeated_text_is_dictionary_encoded_and_integers_and_times_are_delta_packed() -> None:
    table = _contacts(1000)
    data = parquet_bytes(table)
    encodings = _encodings(data)
    assert "RLE_DICTIONARY" in encodings["queue"]
    assert "RLE_DICTIONARY" not in encodings["contact_id"]  # distinct ids: a dictionary only costs
    assert "DELTA_BINARY_PACKED" in encodings["initiated_utc"]
    assert "DELTA_BINARY_PACKED" in encodings["source_line"]
    assert "DELTA_BINARY_PACKED" in encodings["transfer_count"]
    assert "RLE_DICTIONARY" not in encodings["talk_seconds"]
    assert pq.read_table(pa.BufferReader(data)).equals(table)
    assert parquet_bytes(table) == data


def test_duckdb_reads_the_encodings_the_writer_chooses(tmp_path: object) -> None:
    import duckdb

    table = _contacts(1000)
    path = f"{tmp_path}/contacts.parquet"
    with open(path, "wb") as handle:
        handle.write(parquet_bytes(table))
    rows = duckdb.sql(
        f"select count(*), max(source_line), min(initiated_utc), sum(transfer_count) from '{path}'"
    ).fetchall()
    assert rows == [(1000, 1001, datetime(2025, 1, 6, 9, 0), 500)]
