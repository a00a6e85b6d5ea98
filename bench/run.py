"""One benchmark run: generate (or reuse) the inputs, measure every contender, write the results.

Kept apart from the command line so the smoke test can run the same machinery on tiny inputs.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import REPO_ROOT, machine_description
from bench.ingest import IngestComparison, bench_ingest
from bench.ingest_data import export_files
from bench.ingest_hostile import CASES as HOSTILE_CASES
from bench.ingest_hostile import HostileRun, bench_hostile, hostile_table, hostile_target
from bench.kpi import KpiComparison, bench_kpi
from bench.kpi_data import kpi_lake
from bench.report import Target, ingest_tables, kpi_tables, render_markdown, render_text, targets

__all__ = ["DEFAULT_OUT", "FULL", "QUICK", "BenchOptions", "BenchResults", "run_benchmarks"]

DEFAULT_OUT = REPO_ROOT / "bench" / "out"


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how big; the defaults are the full ``make bench`` run."""

    ingest_rows: tuple[int, ...] = (250_000, 1_000_000, 3_000_000)
    kpi_contacts: int = 10_000_000
    kpi_days: int = 365
    kpi_centres: int = 5
    run_ingest: bool = True
    run_kpi: bool = True
    #: Peak RSS of the hostile inputs (bench/ingest_hostile.py): a 300k-record Connect export, 20 MiB of
    #: blank lines, two gzip bombs.
    run_hostile: bool = False
    repeat: int = 2
    cpu: int = 0
    kpi_one_core: bool = False
    kpi_threads: int = os.cpu_count() or 2
    workers: int = 2
    profile: bool = False
    out: Path = DEFAULT_OUT
    progress: bool = True


FULL = BenchOptions(run_hostile=True)
QUICK = BenchOptions(ingest_rows=(20_000, 100_000), kpi_contacts=200_000, kpi_days=28, repeat=1)


@dataclass
class BenchResults:
    options: BenchOptions
    machine: dict[str, Any]
    ingest: list[IngestComparison] = field(default_factory=list)
    kpi: KpiComparison | None = None
    hostile: list[HostileRun] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    text: str = ""
    markdown: str = ""

    def as_dict(self) -> dict[str, Any]:
        options = asdict(self.options)
        options["out"] = str(self.options.out)
        return {
            "generated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": self.machine,
            "options": options,
            "ingest": [c.as_dict() for c in self.ingest],
            "kpi": self.kpi.as_dict() if self.kpi is not None else None,
            "hostile": [r.as_dict() for r in self.hostile],
            "targets": [asdict(t) for t in self.targets],
        }


class _Progress:
    """A step bar (tqdm) plus a row bar while inputs are generated; silent when disabled."""

    def __init__(self, enabled: bool, steps: int) -> None:
        from tqdm import tqdm

        self.enabled = enabled
        self.bar = tqdm(total=steps, disable=not enabled, unit="step", dynamic_ncols=True, leave=True)
        self.started = False

    def step(self, text: str) -> None:
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_description_str(text)

    def generating(self, what: str, total: int) -> Any:
        from tqdm import tqdm

        return tqdm(
            total=total, desc=what, unit=" rows", unit_scale=True, disable=not self.enabled, leave=False
        )

    def close(self) -> None:
        if self.started:
            self.bar.update(1)
        self.bar.close()


def _step_count(options: BenchOptions) -> int:
    steps = 0
    if options.run_ingest:
        per_size = 3 * options.repeat + (1 if options.profile else 0)
        steps += 1 + per_size * len(options.ingest_rows)
    if options.run_kpi:
        steps += 1 + 3 + (2 if options.kpi_one_core else 0)
    if options.run_hostile:
        steps += len(HOSTILE_CASES)
    return steps


def run_benchmarks(options: BenchOptions) -> BenchResults:
    """Run what ``options`` asks for; writes ``results.json`` and ``results.md`` into ``options.out``."""
    results = BenchResults(options, machine_description())
    data, work = options.out / "data", options.out / "work"
    progress = _Progress(options.progress, _step_count(options))
    try:
        if options.run_ingest:
            progress.step(f"generating the exports ({max(options.ingest_rows):,} rows, cached)")
            with progress.generating("export rows", max(options.ingest_rows)) as bar:
                exports = export_files(data, options.ingest_rows, options.workers, on_progress=bar.update)
            results.ingest = bench_ingest(
                [exports[n] for n in sorted(exports)],
                work,
                cpu=options.cpu,
                repeat=options.repeat,
                step=progress.step,
                profile_dir=options.out if options.profile else None,
            )
        if options.run_hostile:
            results.hostile = bench_hostile(data, work, cpu=options.cpu, step=progress.step)
        if options.run_kpi:
            progress.step(f"generating the KPI lake ({options.kpi_contacts:,} contacts, cached)")
            with progress.generating("lake contacts", options.kpi_contacts) as bar:
                lake = kpi_lake(
                    data,
                    options.kpi_contacts,
                    options.kpi_days,
                    options.workers,
                    on_centre=bar.update,
                    centres=options.kpi_centres,
                )
            results.kpi = bench_kpi(
                lake, options.kpi_threads, one_core=options.kpi_one_core, cpu=options.cpu, step=progress.step
            )
    finally:
        progress.close()
        shutil.rmtree(work, ignore_errors=True)
    if hasattr(os, "getloadavg"):  # other work on the machine during the run shows up in the ratios
        results.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    tables = [*ingest_tables(results.ingest)] if results.ingest else []
    if results.kpi is not None:
        tables += kpi_tables(results.kpi)
    results.targets = targets(results.ingest, results.kpi)
    if results.hostile:
        tables.append(hostile_table(results.hostile))
        results.targets.append(hostile_target(results.hostile))
    results.text = render_text(tables, results.targets, results.machine)
    results.markdown = render_markdown(tables, results.targets, results.machine)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "results.json").write_text(json.dumps(results.as_dict(), indent=2, default=str) + "\n")
    (options.out / "results.md").write_text(results.markdown, encoding="utf-8")
    return results
