"""The ingest benchmark's input: one large generic-CSV export made by the project's own sample generator.

The rows come from :func:`contactlake.sample.write_sample` — the simulated ACD the demo uses, with its
intraday curve, queues, staffing-driven waits and abandons (blank answer fields), repeat callers, and
the few deliberately broken rows and synthetic test contacts it adds every day — for one busy centre
over many consecutive days, concatenated into a single file under the demo's raw key. So the benchmark
reads exactly the format, value shapes and fault rate the pipeline is built for.

The simulation runs at roughly 6,000-15,000 rows per second per core, so the days are generated on every
core in parallel and the finished files are cached under ``bench/out/data`` keyed by a fingerprint of
the generator's source and parameters: a second ``make bench`` starts measuring at once.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.harness import ChildRun, run_children
from contactlake import sample
from contactlake.sample import CentreProfile

__all__ = ["EXPORT_PROFILE", "EXPORT_START", "ExportFile", "export_files", "generate_chunk"]

#: A busy centre: ~6,000 contacts a weekday, under-staffed enough that about 4 % of queued callers abandon.
EXPORT_PROFILE = CentreProfile("north", calls_per_weekday=6000, staffing_factor=0.7)
#: Far enough in the past that no day is "in the future" for the validation rules.
EXPORT_START = date(2025, 1, 6)
_SEED = 20250106
_CHUNK_DAYS = 7
#: Bump when this module changes what it writes.
_FORMAT_VERSION = "1"


@dataclass(frozen=True)
class ExportFile:
    """A generated export: ``rows`` data lines after the header, ``days`` calendar days covered."""

    path: Path
    rows: int
    size_bytes: int
    days: int


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (
        inspect.getsource(sample),
        repr(EXPORT_PROFILE),
        EXPORT_START.isoformat(),
        str(_SEED),
        _FORMAT_VERSION,
    ):
        digest.update(part.encode())
    return digest.hexdigest()[:12]


def generate_chunk(args: dict[str, Any]) -> dict[str, Any]:
    """Child side (``bench.child ingest.generate``): consecutive days written by the sample generator."""
    first, days = date.fromisoformat(args["first_day"]), int(args["days"])
    written = sample.write_sample(
        Path(args["folder"]), first, days, (EXPORT_PROFILE,), seed=int(args["seed"])
    )
    return {"files": [str(p) for p in written if p.parent.name == "acd"]}


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1


def _generate_days(
    folder: Path, target_rows: int, workers: int, on_progress: Callable[[int], None]
) -> list[Path]:
    """Generate whole days until they hold ``target_rows``; returns the day files in date order.

    The first round is one day, to measure the day's size; then the remaining days are generated in
    week-long chunks, each in its own process, ``workers`` at a time.
    """
    day_files: list[Path] = []
    counted = [0]

    def collect(run: ChildRun) -> None:
        for name in run.result["files"]:
            day_files.append(Path(name))
            count = _count_lines(day_files[-1])
            counted[0] += count
            on_progress(count)

    next_day, wanted = EXPORT_START, 1
    while counted[0] < target_rows:
        chunks = []
        for offset in range(0, wanted, _CHUNK_DAYS):
            first = next_day + timedelta(days=offset)
            days = min(_CHUNK_DAYS, wanted - offset)
            seed = _SEED + (first - EXPORT_START).days
            chunks.append({"folder": str(folder), "first_day": first.isoformat(), "days": days, "seed": seed})
        run_children("ingest.generate", chunks, workers, on_done=collect)
        next_day += timedelta(days=wanted)
        wanted = math.ceil((target_rows - counted[0]) / (counted[0] / len(day_files)) * 1.03) + 1
    return sorted(day_files)


def _concatenate(day_files: Sequence[Path], outputs: dict[int, Path]) -> dict[int, tuple[int, int]]:
    """Write each output as the header plus the first N data lines of the days in order."""
    handles = {rows: path.open("wb") for rows, path in outputs.items()}
    written = dict.fromkeys(outputs, 0)
    days = dict.fromkeys(outputs, 0)
    try:
        for index, day_file in enumerate(day_files):
            header, _, body = day_file.read_bytes().partition(b"\n")
            lines = body.splitlines(keepends=True)
            for rows, handle in handles.items():
                if index == 0:
                    handle.write(header + b"\n")
                room = rows - written[rows]
                if room <= 0:
                    continue
                handle.write(b"".join(lines[:room]))
                written[rows] += min(room, len(lines))
                days[rows] += 1
    finally:
        for handle in handles.values():
            handle.close()
    return {rows: (written[rows], days[rows]) for rows in outputs}


def export_files(
    cache: Path, sizes: Sequence[int], workers: int = 2, on_progress: Callable[[int], None] | None = None
) -> dict[int, ExportFile]:
    """The exports of ``sizes`` data rows each (cached), smaller ones being prefixes of the largest."""
    cache.mkdir(parents=True, exist_ok=True)
    fingerprint = _fingerprint()
    outputs = {rows: cache / f"north-acd-{rows}-{fingerprint}.csv" for rows in sorted(set(sizes))}
    missing = {rows: path for rows, path in outputs.items() if not path.is_file()}
    if missing:
        for rows in missing:  # an older generator's export of this size
            for stale in cache.glob(f"north-acd-{rows}-*.csv"):
                stale.unlink()
        scratch = cache / f"days-{fingerprint}"
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            day_files = _generate_days(scratch, max(missing), workers, on_progress or (lambda _n: None))
            partial = {rows: path.with_suffix(".partial") for rows, path in missing.items()}
            counts = _concatenate(day_files, partial)
            for rows, (written, _days) in counts.items():
                if written != rows:
                    raise RuntimeError(f"generated {written} rows for the {rows}-row export; delete {cache}")
                partial[rows].replace(missing[rows])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    result = {}
    for rows, path in outputs.items():
        result[rows] = ExportFile(path, rows, path.stat().st_size, _days_covered(path))
    return result


def _days_covered(path: Path) -> int:
    """Distinct start dates in the export (the first 10 characters of the second column)."""
    days: set[bytes] = set()
    with path.open("rb") as handle:
        next(handle)
        for line in handle:
            start = line.split(b",", 2)[1][:10]
            days.add(start)
    return len(days)
