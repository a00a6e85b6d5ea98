"""A day that straddles two batches is written once: the committer holds back each batch's last day.

Exports come in day order, read in bounded batches; without holding back, every day cut by a batch
boundary became two files, and an id repeated across the boundary was only found after both were
written (and one rewritten). These tests pin what holding back must keep: the same rows as reading the
whole file at once, one file per day, repeats caught before anything is written, and memory bounded by
the batch (a one-day export is still written batch by batch).
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from contactlake.adapters.local import LocalObjectStore
from tests.fixtures.lakes import SAMPLE_DATA, LocalLake
from tests.functional.ingest.test_idempotency import export

KEY = "north/acd/calls-2024-01-15.csv"
SMALL_BLOCK = 700  # about six rows a batch
WHOLE_FILE = 1 << 20


def day_rows(day: int, count: int = 4, prefix: str = "N") -> list[str]:
    """``count`` answered calls on 2024-01-``day``, ten minutes apart from 08:00."""
    rows = []
    for n in range(count):
        hour, minute = 8 + n // 6, (n % 6) * 10
        start = f"2024-01-{day:02d}T{hour:02d}:{minute:02d}"
        rows.append(
            f"{prefix}-{day:02d}-{n:03d},{start}:00,{start}:30,{start}:40,{start}:59,30,10,19,0,0,5,ANS,"
            f"billing,NOR001,+44 7700 900{n:03d},voice,0,0,resolved,"
        )
    return rows


def contact_files(lake: LocalLake, table: str = "contacts") -> Counter[str]:
    """Files per partition folder (one folder per day)."""
    return Counter(path.parent.name for path in (lake.home / "lake" / "curated" / table).rglob("*.parquet"))


def folder_of_each_id(lake: LocalLake, table: str) -> set[tuple[str, str]]:
    """(contact id, day folder) of every row of a table."""
    return {
        (contact_id, path.parent.name)
        for path in (lake.home / "lake" / "curated" / table).rglob("*.parquet")
        for contact_id in pq.read_table(path, columns=["contact_id"]).column("contact_id").to_pylist()
    }


def stored(lake: LocalLake) -> list[tuple[object, ...]]:
    return lake.rows(lake.contacts(), "contact_id", "source_line", "initiated_utc", "customer_key")


def puts_per_key(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count every object written, to prove that no curated file is written twice."""
    counts: Counter[str] = Counter()
    original = LocalObjectStore.put

    def counting_put(self: LocalObjectStore, area: str, key: str, data: bytes, *args: object) -> None:
        counts[f"{area}/{key}"] += 1
        original(self, area, key, data, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalObjectStore, "put", counting_put)
    return counts


def test_days_cut_by_batches_are_written_once_with_the_rows_of_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four calls a day, about six rows a batch: nearly every batch boundary cuts a day."""
    data = export(*[row for day in range(1, 21) for row in day_rows(day)])
    whole = LocalLake.create(tmp_path / "whole")
    expected = whole.ingest(KEY, data, block_bytes=WHOLE_FILE)
    puts = puts_per_key(monkeypatch)
    small = LocalLake.create(tmp_path / "small")
    manifest = small.ingest(KEY, data, block_bytes=SMALL_BLOCK)

    assert manifest.rows_stored == expected.rows_stored == 80
    assert stored(small) == stored(whole)
    assert contact_files(small) == {f"contact_date=2024-01-{day:02d}": 1 for day in range(1, 21)}
    assert all(count == 1 for key, count in puts.items() if "/curated/contacts/" in key)
    before = small.digest()
    small.ingest(KEY)
    assert small.digest() == before


def test_an_id_repeated_across_a_batch_boundary_is_quarantined_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each day's first call is sent again at the end of its day and again the next day.

    Days are shorter than a batch, so wherever a boundary falls, the first copy is in the same batch
    as its repeats or in the day held back from the batch before: every repeat is turned away before
    its batch is written, and no curated file is ever rewritten or deleted.
    """
    rows = []
    for day in range(1, 16):
        calls = day_rows(day, 2)
        if day > 1:
            rows.append(day_rows(day - 1, 1)[0].replace(f"2024-01-{day - 1:02d}", f"2024-01-{day:02d}"))
        rows += [*calls, calls[0]]
    puts = puts_per_key(monkeypatch)
    lake = LocalLake.create(tmp_path)
    manifest = lake.ingest(KEY, export(*rows), block_bytes=SMALL_BLOCK)

    assert manifest.quarantined_by_rule == {"duplicate.contact_id_in_file": 29}
    assert manifest.rows_stored == 30
    assert manifest.reconciles
    kept = lake.rows(lake.contacts(), "contact_id", "initiated_local")
    assert [contact_id for contact_id, _ in kept] == [
        f"N-{day:02d}-00{n}" for day in range(1, 16) for n in (0, 1)
    ]
    assert {started.day for contact_id, started in kept if contact_id.endswith("-000")} == set(range(1, 16))
    written = {key: count for key, count in puts.items() if "/curated/contacts/" in key}
    assert set(written.values()) == {1}  # none rewritten...
    assert set(written) == {f"lake/{key}" for key in manifest.files if "/contacts/" in key}  # ...or deleted


def test_a_one_day_export_is_still_written_batch_by_batch(tmp_path: Path) -> None:
    """Holding back never accumulates: a day that fills whole batches is written as they come."""
    lake = LocalLake.create(tmp_path)
    manifest = lake.ingest(KEY, export(*day_rows(15, 60)), block_bytes=SMALL_BLOCK)
    assert manifest.rows_stored == 60
    assert contact_files(lake)["contact_date=2024-01-15"] > 5


def test_rows_out_of_day_order_store_the_same_rows(tmp_path: Path) -> None:
    rows = [*day_rows(16, 10), *day_rows(15, 10), *day_rows(17, 10), *day_rows(15, prefix="L")]
    results = []
    for block in (SMALL_BLOCK, WHOLE_FILE):
        lake = LocalLake.create(tmp_path / str(block))
        manifest = lake.ingest(KEY, export(*rows), block_bytes=block)
        results.append((manifest.rows_stored, stored(lake)))
    assert results[0] == results[1]
    assert results[0][0] == 34


def test_pathway_steps_follow_their_held_back_contacts(tmp_path: Path) -> None:
    """Anonymous Bank lines sorted by day: every step is stored once, in its contact's day, in one file."""
    lines = gzip.decompress((SAMPLE_DATA / "anonymous_bank" / "october.txt.gz").read_bytes()).splitlines()
    header, body = lines[0], [line for line in lines[1:3001] if line.count(b"\t") == 16]
    body.sort(key=lambda line: (line.split(b"\t")[5], line.split(b"\t")[6]))
    data = b"\n".join([header, *body]) + b"\n"
    results = []
    for block in (64 * 1024, WHOLE_FILE):  # five batches, each of several days
        lake = LocalLake.create(tmp_path / str(block))
        manifest = lake.ingest("anonbank/calls/october.txt", data, block_bytes=block)
        steps = lake.rows(lake.steps(), "contact_id", "step_index", "step_type", "started_utc")
        contacts = lake.rows(lake.contacts(), "contact_id", "initiated_local")
        results.append((manifest.rows_stored, manifest.pathway_steps_stored, contacts, steps))
        assert set(contact_files(lake, "pathway_steps").values()) == {1}
        assert set(contact_files(lake).values()) == {1}
        assert folder_of_each_id(lake, "pathway_steps") <= folder_of_each_id(lake, "contacts")
    assert results[0] == results[1]
    assert results[0][1] > results[0][0] > 2_000
