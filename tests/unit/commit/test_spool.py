"""The quarantine spool: rejected rows written out in row groups, so memory stays flat."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from contactlake.adapters.local import LocalObjectStore
from contactlake.commit.spool import QuarantineSpool
from contactlake.contract import Reject

STAMP = datetime(2024, 1, 15, 6, 0)


def _rejects(start: int, count: int) -> list[Reject]:
    rules = ("outcome.unknown_code", "time.end_before_start")
    return [
        Reject(line, f"row {line},x", rules[line % 2], f"message {line}")
        for line in range(start, start + count)
    ]


def _scratch_files() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("contactlake-quarantine-*.parquet"))


def test_many_rejects_are_written_in_row_groups_and_read_back_in_order(tmp_path: Path) -> None:
    before = _scratch_files()
    spool = QuarantineSpool("u-1", "north/acd/a.csv", STAMP, flush_rows=100)
    for start in range(1, 1001, 250):
        spool.add(_rejects(start, 250))
        assert len(spool.pending) < 100  # flushed as it goes
    assert _scratch_files() - before  # the rows went to a scratch file
    store = LocalObjectStore(tmp_path)
    assert spool.store(store, "rows/a.parquet")

    stored = pq.ParquetFile(tmp_path / "quarantine" / "rows" / "a.parquet")
    assert stored.metadata.num_row_groups == 4
    table = stored.read()
    assert table.column("source_line").to_pylist() == list(range(1, 1001))
    assert table.column("raw_text")[9].as_py() == "row 10,x"
    assert set(table.column("upload_id").to_pylist()) == {"u-1"}
    assert set(table.column("quarantined_utc").to_pylist()) == {STAMP}
    assert (spool.count, dict(spool.by_rule)) == (
        1000,
        {"outcome.unknown_code": 500, "time.end_before_start": 500},
    )
    assert stored.metadata.row_group(0).column(0).compression == "ZSTD"
    assert _scratch_files() == before  # removed once stored


def test_few_rejects_never_touch_the_disk_and_none_write_nothing(tmp_path: Path) -> None:
    before = _scratch_files()
    spool = QuarantineSpool("u-1", "k", STAMP, flush_rows=100)
    spool.add(_rejects(1, 3))
    assert _scratch_files() == before
    store = LocalObjectStore(tmp_path)
    assert spool.store(store, "rows/a.parquet")
    assert pq.read_table(tmp_path / "quarantine" / "rows" / "a.parquet").num_rows == 3
    assert not QuarantineSpool("u-2", "k", STAMP).store(store, "rows/b.parquet")
    assert not (tmp_path / "quarantine" / "rows" / "b.parquet").exists()


def test_the_same_rejects_give_the_same_bytes(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    for name in ("a", "b"):
        spool = QuarantineSpool("u-1", "k", STAMP, flush_rows=100)
        spool.add(_rejects(1, 450))
        spool.store(store, f"rows/{name}.parquet")
    folder = tmp_path / "quarantine" / "rows"
    assert (folder / "a.parquet").read_bytes() == (folder / "b.parquet").read_bytes()


def test_close_after_a_failure_removes_the_scratch_file() -> None:
    before = _scratch_files()
    spool = QuarantineSpool("u-1", "k", STAMP, flush_rows=10)
    spool.add(_rejects(1, 25))
    assert _scratch_files() - before
    spool.close()
    assert _scratch_files() == before


@pytest.mark.parametrize("count", [0, 1])
def test_an_empty_table_is_never_a_row_group(count: int, tmp_path: Path) -> None:
    spool = QuarantineSpool("u-1", "k", STAMP, flush_rows=1)
    spool.add(_rejects(1, count))
    assert spool.store(LocalObjectStore(tmp_path), "rows/a.parquet") is bool(count)
    if count:
        assert pq.ParquetFile(tmp_path / "quarantine" / "rows" / "a.parquet").metadata.num_row_groups == 1
