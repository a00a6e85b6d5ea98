"""Bounded batches: block size changes nothing in the lake, bombs are stopped, memory stays bounded."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from contactlake.commit import idledger, spool
from contactlake.ingest import reader
from tests.fixtures.lakes import REPO, LocalLake
from tests.functional.ingest.test_idempotency import HEADER, ROWS, export


@pytest.mark.parametrize(
    "ledger_records", [idledger.MEMORY_RECORDS, 1], ids=["ledger-in-memory", "ledger-spilled"]
)
def test_block_size_does_not_change_what_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger_records: int
) -> None:
    """Also whether the ids of earlier batches are held in memory or spilled to scratch files."""
    monkeypatch.setattr(idledger, "MEMORY_RECORDS", ledger_records)
    noted = ROWS[0].replace(",resolved,", ',"line one\nline two",')
    rows = [
        noted,
        *ROWS,
        "N-9,2024-01-15T09:00:00,ANS",
        ROWS[1].replace("sales", '"sales'),
        ROWS[2].replace("N-3", "N-7"),
    ]
    data = export(*rows * 3)
    results = []
    for block in (64, 700, 1 << 20):
        lake = LocalLake.create(tmp_path / str(block))
        manifest = lake.ingest("north/acd/calls-2024-01-15.csv", data, block_bytes=block)
        results.append((
            manifest.rows_read, manifest.rows_stored, manifest.quarantined_by_rule,
            lake.rows(lake.contacts(), "contact_id", "source_line", "disposition"),
            lake.rows(lake.quarantine(), "source_line", "rule_id"),
        ))  # fmt: skip
    assert results[0] == results[1] == results[2]
    # Three copies of the rows: the stray quote of copies 1 and 2 pairs with the next copy's quoted note
    # (one ragged row over three lines, then "line two" alone); the last stray never closes.
    assert results[0][2] == {
        "duplicate.contact_id_in_file": 9,
        "row.ragged": 7,
        "row.unbalanced_quote": 1,
        "timestamp.invalid": 3,
    }
    ragged = [(line, "row.ragged") for line in (9, 10, 13, 19, 20, 23, 29)]
    duplicates = [(line, "duplicate.contact_id_in_file") for line in (4, 14, 15, 16, 18, 24, 25, 26, 28)]
    invalid = [(line, "timestamp.invalid") for line in (7, 17, 27)]
    assert results[0][4] == sorted([*ragged, (30, "row.unbalanced_quote"), *duplicates, *invalid])


def test_gzip_bomb_is_quarantined_whole(lake: LocalLake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MIN_RATIO_CAP", 256 * 1024)
    bomb = gzip.compress(export(*ROWS) + b"\n" * (16 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 40_000
    manifest = lake.ingest("north/acd/calls-2024-01-15.csv.gz", bomb)
    assert (manifest.status, manifest.rows_stored) == ("rejected", 0)
    assert lake.rows(lake.quarantine(), "source_line", "rule_id") == [(None, "file.decompression_limit")]
    assert not list((lake.home / "lake" / "curated" / "contacts").rglob("*.parquet"))


PROBE = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    import pyarrow as pa
    from contactlake.config import Settings, parse_app_config
    from contactlake.adapters.local import build_local_ports
    from contactlake.pipeline import process_upload
    home, key, block = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    config = parse_app_config({"centres": {"north": {"timezone": "Europe/London", "sources": {
        "acd": {"adapter": "generic_csv", "mapping": "mappings/acd_calls.toml"}}}}})
    settings = Settings(home=home)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    manifest = process_upload(build_local_ports(settings), config, settings, key, block_bytes=block)
    print(json.dumps({"rows": manifest.rows_stored, "arrow_peak": pa.default_memory_pool().max_memory(),
                      "rss_before_kb": before, "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    """
)


@pytest.mark.slow
def test_peak_memory_is_bounded_by_the_block_not_the_file(tmp_path: Path) -> None:
    key = "north/acd/calls-2024-01-15.csv"
    path = tmp_path / "lake" / "raw" / key
    path.parent.mkdir(parents=True)
    template = ROWS[0].split(",", 1)[1]
    with path.open("w") as handle:
        handle.write(HEADER + "\n")
        for n in range(220_000):
            handle.write(f"N-{n},{template}\n")
    size = path.stat().st_size
    assert size > 30 * 1024 * 1024
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "lake"), key, str(1024 * 1024)],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    result = json.loads(probe.stdout)
    assert result["rows"] == 220_000
    # Arrow never holds more than a few blocks' worth, whatever the file size (here 1 MiB blocks of a
    # ~33 MB file): the whole file as Arrow strings would be several times the file size.
    assert result["arrow_peak"] < size / 3
    assert (result["rss_peak_kb"] - result["rss_before_kb"]) * 1024 < size * 2


def test_an_export_where_every_row_fails_is_quarantined_in_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mapping mistake can reject a whole multi-GB file: rejects are written out as they come."""
    monkeypatch.setattr(spool, "FLUSH_ROWS", 40)
    rows = [
        f"B-{n},2024-01-15T09:{n % 60:02d}:00,,,2024-01-15T09:59:00,5,,,,,,WHAT,,,,voice,0,0,,"
        for n in range(300)
    ]
    lake = LocalLake.create(tmp_path)
    manifest = lake.ingest("north/acd/calls-2024-01-15.csv", export(*rows), block_bytes=4096)
    assert (manifest.rows_read, manifest.rows_stored, manifest.quarantined_by_rule) == (
        300, 0, {"outcome.unknown_code": 300}
    )  # fmt: skip
    assert manifest.reconciles
    (quarantine_file,) = (lake.home / "quarantine").rglob("*.parquet")
    stored = pq.ParquetFile(quarantine_file)
    assert stored.metadata.num_row_groups > 1
    table = stored.read()
    assert table.column("source_line").to_pylist() == list(range(2, 302))
    assert table.column("raw_text").to_pylist() == rows
    before = lake.digest()
    lake.ingest("north/acd/calls-2024-01-15.csv")
    assert lake.digest() == before
