"""Ingest benchmark: one generic-CSV export → validated, partitioned, zstd Parquet, on one core.

Contender: contactlake's real path, :func:`contactlake.pipeline.process_upload` with the local
ports and the demo configuration (centre ``north``, source ``acd``) — routing, SHA-256 of every byte
read, streaming CSV parse, mapping, validation rules, pseudonymisation, de-duplication, quarantine, the
manifest and the ingest log. The export is uploaded to the raw area before the timed process starts (the
upload computes its ETag, as S3 does), and the process runs without pandas, as contactlake is installed
and deployed.

Baseline: what awswrangler does (``wr.s3.read_csv`` + ``wr.s3.to_parquet(dataset=True,
partition_cols=…)``), minus S3: pandas ``read_csv`` with explicit dtypes, ISO timestamps parsed with
``to_datetime``, then ``to_parquet(partition_cols=["centre_id", "contact_date"])`` with the pyarrow
engine and zstd. It validates nothing, hashes nothing and loads the whole file in memory, so it is the
floor of what turning this CSV into partitioned Parquet costs in Python — the number to beat.

Reference (not a target): the same with pyarrow alone — ``pyarrow.csv.read_csv``, timestamps parsed with
``strptime`` (bad ones become null, like the baseline's ``errors="coerce"``), ``write_dataset`` with Hive
partitions and zstd. It is the I/O floor on this machine: what reading and writing cost before any
validation, pseudonymisation, de-duplication or quarantine.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import ChildRun, run_child
from bench.ingest_data import ExportFile

__all__ = [
    "CONTENDERS",
    "RAW_KEY",
    "IngestComparison",
    "IngestRun",
    "ParquetSummary",
    "bench_ingest",
    "parquet_summary",
    "run_arrow",
    "run_contactlake",
    "run_pandas",
]

#: Where the export is placed in the local lake: centre north, source acd (the demo's mapping).
RAW_KEY = "north/acd/calls-2026-01-01.csv"
#: The baseline, the I/O floor (a reference, not a target), and contactlake.
CONTENDERS = ("pandas", "arrow", "contactlake")
_TIMESTAMP_COLUMNS = ("start_time", "queue_start", "answer_time", "end_time")
_NUMBER_COLUMNS = (
    "ivr_secs",
    "wait_secs",
    "talk_secs",
    "hold_secs",
    "hold_count",
    "wrap_secs",
    "transfers",
    "escalations",
)


def _profiled(out: str | None, work: Callable[[], Any]) -> Any:
    """Run ``work``; with ``out``, under cProfile, writing the most expensive calls to that file."""
    if out is None:
        return work()
    profiler = cProfile.Profile()
    result = profiler.runcall(work)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    Path(out).write_text(text.getvalue(), encoding="utf-8")
    return result


class _NotInstalled:
    """An import hook that makes ``import <name>`` fail as if the package were not installed."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".")[0] == self.name:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


def _as_installed() -> None:
    """Run contactlake as a user installs it and as Lambda runs it: without pandas.

    pandas is not a dependency of contactlake (only of the dev extras; the Lambda layer,
    ``infra/layers/deps.txt``, does not ship it), but this virtualenv has it for the baseline, and pyarrow
    imports it on its first conversion of Python objects if it is importable: about 0.25 s that no
    deployment pays. ``tests/functional/ingest/test_without_pandas.py`` proves every source ingests so.
    """
    if "pandas" in sys.modules:
        raise RuntimeError("pandas was imported before the contender started; the run would not be fair")
    sys.meta_path.insert(0, _NotInstalled("pandas"))


def run_contactlake(args: dict[str, Any]) -> dict[str, Any]:
    """Child side: process the raw object already uploaded to ``<home>/raw/<key>``."""
    _as_installed()
    from contactlake.adapters.local import build_local_ports
    from contactlake.config import Settings, load_app_config
    from contactlake.pipeline import process_upload

    settings = Settings(home=Path(args["home"]))
    ports = build_local_ports(settings)
    config = load_app_config()
    started = time.perf_counter()
    manifest = _profiled(
        args.get("profile_out"), lambda: process_upload(ports, config, settings, args["key"])
    )
    return {
        "work_seconds": time.perf_counter() - started,
        "status": manifest.status,
        "message": manifest.message,
        "rows_read": manifest.rows_read,
        "rows_stored": manifest.rows_stored,
        "rows_quarantined": manifest.rows_quarantined,
        "rows_excluded": manifest.rows_excluded,
        "quarantined_by_rule": manifest.quarantined_by_rule,
        "reconciles": manifest.reconciles,
        "files": len(manifest.files),
    }


def run_pandas(args: dict[str, Any]) -> dict[str, Any]:
    """Child side: the awswrangler-style baseline, writing a Hive-partitioned dataset to ``out``."""
    import pandas as pd

    from contactlake.sample import CSV_HEADER

    dtypes = {name: ("float64" if name in _NUMBER_COLUMNS else "str") for name in CSV_HEADER}

    def work() -> int:
        frame = pd.read_csv(args["csv"], dtype=dtypes, keep_default_na=False, na_values=[""])
        for name in _TIMESTAMP_COLUMNS:
            frame[name] = pd.to_datetime(frame[name], format="ISO8601", errors="coerce")
        frame["centre_id"] = args["centre_id"]
        frame["contact_date"] = frame["start_time"].dt.date
        frame.to_parquet(
            args["out"],
            engine="pyarrow",
            compression="zstd",
            partition_cols=["centre_id", "contact_date"],
            index=False,
        )
        return len(frame)

    started = time.perf_counter()
    rows = _profiled(args.get("profile_out"), work)
    return {"work_seconds": time.perf_counter() - started, "rows_read": rows, "rows_stored": rows}


def run_arrow(args: dict[str, Any]) -> dict[str, Any]:
    """Child side: the pyarrow-only reference (read, parse timestamps, write partitioned zstd Parquet)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds

    from contactlake.sample import CSV_HEADER

    started = time.perf_counter()
    types = {name: (pa.float64() if name in _NUMBER_COLUMNS else pa.string()) for name in CSV_HEADER}
    table = pacsv.read_csv(
        args["csv"],
        read_options=pacsv.ReadOptions(use_threads=False),
        convert_options=pacsv.ConvertOptions(column_types=types),
    )
    for name in _TIMESTAMP_COLUMNS:
        parsed = pc.strptime(table[name], format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
        table = table.set_column(table.schema.get_field_index(name), name, parsed)
    table = table.append_column("centre_id", pa.array([args["centre_id"]] * table.num_rows, pa.string()))
    table = table.append_column("contact_date", pc.cast(table["start_time"], pa.date32()))
    ds.write_dataset(
        table,
        args["out"],
        format="parquet",
        partitioning=["centre_id", "contact_date"],
        partitioning_flavor="hive",
        file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
        use_threads=False,
        max_partitions=100_000,
    )
    return {
        "work_seconds": time.perf_counter() - started,
        "rows_read": table.num_rows,
        "rows_stored": table.num_rows,
    }


@dataclass(frozen=True)
class ParquetSummary:
    """What a run wrote: file count, bytes, rows, partitions, and every column chunk's codec."""

    files: int
    bytes: int
    rows: int
    partitions: int
    codecs: tuple[str, ...]

    @property
    def all_zstd(self) -> bool:
        return self.files > 0 and self.codecs == ("ZSTD",)


def parquet_summary(folder: Path) -> ParquetSummary:
    """Read the footers of every Parquet file under ``folder`` (no data pages)."""
    import pyarrow.parquet as pq

    files = sorted(p for p in folder.rglob("*.parquet") if p.is_file())
    codecs: Counter[str] = Counter()
    rows = 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        rows += meta.num_rows
        for group in range(meta.num_row_groups):
            row_group = meta.row_group(group)
            for column in range(row_group.num_columns):
                codecs[row_group.column(column).compression] += 1
    return ParquetSummary(
        files=len(files),
        bytes=sum(p.stat().st_size for p in files),
        rows=rows,
        partitions=len({p.parent for p in files}),
        codecs=tuple(sorted(codecs)),
    )


@dataclass(frozen=True)
class IngestRun:
    """One contender on one export size (the fastest of the repeats)."""

    contender: str
    rows: int
    input_bytes: int
    wall_seconds: float
    work_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    cpus: tuple[int, ...] | None
    rows_read: int
    rows_stored: int
    output: ParquetSummary
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.wall_seconds

    @property
    def mb_per_second(self) -> float:
        return self.input_bytes / 1e6 / self.wall_seconds

    @property
    def output_ratio(self) -> float:
        """Parquet bytes written per CSV byte read."""
        return self.output.bytes / self.input_bytes

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            rows_per_second=self.rows_per_second,
            mb_per_second=self.mb_per_second,
            output_ratio=self.output_ratio,
            all_zstd=self.output.all_zstd,
        )
        return data


@dataclass(frozen=True)
class IngestComparison:
    """Baseline and contender on the same export; ratio > 1 means contactlake is faster."""

    rows: int
    baseline: IngestRun
    contender: IngestRun
    reference: IngestRun | None = None

    @property
    def floor_share(self) -> float | None:
        """The pyarrow reference's time / contactlake's: the share of contactlake's time that is I/O."""
        return None if self.reference is None else self.reference.wall_seconds / self.contender.wall_seconds

    @property
    def ratio(self) -> float:
        """Whole-process speed-up: baseline wall time / contactlake wall time."""
        return self.baseline.wall_seconds / self.contender.wall_seconds

    @property
    def work_ratio(self) -> float:
        """The same without interpreter start and imports (each side's own timer around its work)."""
        return self.baseline.work_seconds / self.contender.work_seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "ratio": self.ratio,
            "work_ratio": self.work_ratio,
            "floor_share": self.floor_share,
            "baseline": self.baseline.as_dict(),
            "contender": self.contender.as_dict(),
            "reference": self.reference.as_dict() if self.reference is not None else None,
        }


def _upload(export: Path, home: Path) -> None:
    """Put the export in the raw area as ``contactlake ingest`` does, before the timed process starts.

    The upload computes the object's ETag on the way in, as S3 does, so processing reads it with
    ``If-Match`` like the Lambda does (the S3 event carries the ETag). Processing still hashes every
    byte it reads: the manifest's SHA-256.
    """
    from contactlake.adapters.local import LocalObjectStore

    LocalObjectStore(home).put_file("raw", RAW_KEY, export)


def _one_run(
    contender: str, export: ExportFile, work_dir: Path, cpu: int | None, profile_out: Path | None = None
) -> IngestRun:
    home = work_dir / f"{contender}-{export.rows}"
    if contender == "contactlake":
        args = {"home": str(home), "key": RAW_KEY}
        output_dir = home / "lake" / "curated" / "contacts"
    else:  # pandas and arrow
        output_dir = home / "out"
        args = {"csv": str(export.path), "out": str(output_dir), "centre_id": "north"}
    if profile_out is not None:
        args["profile_out"] = str(profile_out)

    def fresh_home() -> None:
        """An empty lake holding only the raw export (a second attempt must not find the first's output)."""
        shutil.rmtree(home, ignore_errors=True)
        if contender == "contactlake":
            _upload(export.path, home)

    fresh_home()
    try:
        child: ChildRun = run_child(f"ingest.{contender}", args, cpu=cpu, reset=fresh_home)
        summary = parquet_summary(output_dir)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result = child.result
    if contender == "contactlake" and result["status"] != "stored":
        raise RuntimeError(f"contactlake did not store the export: {result['status']} {result['message']}")
    return IngestRun(
        contender=contender,
        rows=export.rows,
        input_bytes=export.size_bytes,
        wall_seconds=child.wall_seconds,
        work_seconds=float(result["work_seconds"]),
        cpu_seconds=child.user_seconds + child.system_seconds,
        peak_rss_mb=child.max_rss_mb,
        cpus=child.cpus,
        rows_read=int(result["rows_read"]),
        rows_stored=int(result["rows_stored"]),
        output=summary,
        details={k: v for k, v in result.items() if k not in ("work_seconds", "rows_read", "rows_stored")},
    )


def bench_ingest(
    exports: Sequence[ExportFile],
    work_dir: Path,
    cpu: int | None = 0,
    repeat: int = 1,
    step: Callable[[str], None] | None = None,
    profile_dir: Path | None = None,
) -> list[IngestComparison]:
    """Each export through the baseline and contactlake, alternating, keeping each one's fastest run.

    With ``profile_dir``, contactlake runs once more per export under cProfile (that run is not timed)
    and the hottest calls are written to ``<profile_dir>/ingest-contactlake-<rows>.txt``.
    """
    comparisons = []
    for export in exports:
        best: dict[str, IngestRun] = {}
        for attempt in range(repeat):
            for contender in CONTENDERS:
                if step:
                    step(f"ingest {export.rows:,} rows: {contender} (run {attempt + 1}/{repeat})")
                run = _one_run(contender, export, work_dir, cpu)
                if contender not in best or run.wall_seconds < best[contender].wall_seconds:
                    best[contender] = run
        if profile_dir is not None:
            if step:
                step(f"ingest {export.rows:,} rows: contactlake under cProfile")
            profile_dir.mkdir(parents=True, exist_ok=True)
            _one_run(
                "contactlake", export, work_dir, cpu, profile_dir / f"ingest-contactlake-{export.rows}.txt"
            )
        comparisons.append(
            IngestComparison(export.rows, best["pandas"], best["contactlake"], best.get("arrow"))
        )
    return comparisons
