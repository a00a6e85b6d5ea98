"""Hostile and pathological inputs: peak RSS (and wall time) of one ingest each, in its own process.

Issue 15 asked that memory stay bounded for every adapter and every pathological input, each under
600 MB peak RSS (the ingest Lambda has 1,769 MB): a 300k-record Amazon Connect export (the adapter used
to hold the whole file: 3.1 GB), a 150k-conversation Genesys Cloud details export, 20 MiB of blank
lines (16 million rows in one block: 6.2 GB), two gzip bombs (blank lines, 10.1 GB and 325 s before the
byte cap stopped it; NUL bytes), and a 100 MB quoted field full of line ends (102,400 rejects in 373 s;
now one ``row.too_long``). Each input is generated once into the bench data folder (outside the
measured process), uploaded to a fresh local lake's raw area, and processed by
:func:`contactlake.pipeline.process_upload` in a child process whose peak RSS is the kernel's
high-water mark.
"""

from __future__ import annotations

import gzip
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.harness import run_child
from bench.report import Target

__all__ = ["CASES", "HostileRun", "bench_hostile", "hostile_table", "hostile_target", "run_case"]

#: Peak RSS every case must stay under (the issue's bound; the Lambda itself has 1,769 MB).
RSS_LIMIT_MB = 600.0
_CSV_HEADER = (
    b"call_id,start_time,queue_start,answer_time,end_time,ivr_secs,wait_secs,talk_secs,hold_secs,hold_count,"
    b"wrap_secs,result,queue,agent,caller_number,channel,transfers,escalations,disposition,test_case\n"
)
_CTR = Path(__file__).resolve().parents[1] / "tests/fixtures/amazon_connect/ctr-2024-03-05.jsonl"
_DETAILS = Path(__file__).resolve().parents[1] / "tests/fixtures/genesys_cloud/details-job-2024-03-05.json"


def _connect_export(path: Path, records: int) -> None:
    """``records`` distinct CTRs (the fixture's first record, each with its own id and times), gzipped."""
    template = json.loads(_CTR.read_text(encoding="utf-8").splitlines()[0])
    with gzip.open(path, "wb", compresslevel=1) as out:
        for i in range(records):
            minute, second = divmod(i % 3600, 60)
            record = dict(template)
            record["ContactId"] = record["InitialContactId"] = f"c0a80001-1111-4aaa-8001-{i:012d}"
            record["InitiationTimestamp"] = f"2024-03-05T09:{minute:02d}:{second:02d}Z"
            record["CustomerEndpoint"] = {"Address": f"+4477009{i % 100000:05d}", "Type": "TELEPHONE_NUMBER"}
            out.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")


def _genesys_export(path: Path, conversations: int, page: int = 1000) -> None:
    """``conversations`` distinct conversations (the fixture's first, the vendor's published fields, each
    with its own id and times) in details-job result pages of ``page``, back to back, gzipped."""
    template = json.JSONDecoder().raw_decode(_DETAILS.read_text(encoding="utf-8"))[0]["conversations"][0]
    text = json.dumps(template, separators=(",", ":"))
    with gzip.open(path, "wb", compresslevel=1) as out:
        for first in range(0, conversations, page):
            batch = []
            for i in range(first, min(first + page, conversations)):
                minute, second = divmod(i % 3600, 60)
                batch.append(
                    text.replace("000000000001", f"{i:012d}").replace(
                        "2024-03-05T10:00:00.000Z", f"2024-03-05T10:{minute:02d}:{second:02d}.000Z"
                    )
                )
            cursor = json.dumps(f"page-{first // page + 1}")
            out.write(
                (
                    '{"conversations":[' + ",".join(batch) + f'],"cursor":{cursor},'
                    '"dataAvailabilityDate":"2024-03-06T00:00:00.000Z"}\n'
                ).encode()
            )


def _blank_lines(path: Path) -> None:
    path.write_bytes(_CSV_HEADER + b"\n" * (20 * 1024 * 1024))


_ROW = (
    b"H-%d,2024-01-15T09:00:00,2024-01-15T09:00:40,2024-01-15T09:01:00,2024-01-15T09:06:00,40,20,280,20,1,30,"
    b"ANS,billing,NOR001,+44 7700 900111,voice,0,0,%s,\n"
)


def _long_quoted_field(path: Path) -> None:
    """A row whose disposition is a 100 MB quoted field of 1 KiB lines, between two good rows."""
    line = b"n" * 1023 + b"\n"
    with path.open("wb") as out:
        out.write(_CSV_HEADER + _ROW % (1, b"resolved"))
        out.write(_ROW.split(b"%s")[0] % 2 + b'"')
        for _ in range(100):
            out.write(line * 1024)
        out.write(b'"' + _ROW.split(b"%s")[1])
        out.write(_ROW % (3, b"resolved"))


def _bomb_of_blank_lines(path: Path) -> None:
    """About 2 MB of gzip inflating to 2 GiB of newlines."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(_CSV_HEADER)
        block = b"\n" * (64 * 1024 * 1024)
        for _ in range(32):
            out.write(block)


def _bomb_of_nul_bytes(path: Path) -> None:
    """About 2 MB of gzip inflating to 2 GiB of NUL bytes (no line end at all)."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        block = b"\0" * (64 * 1024 * 1024)
        for _ in range(32):
            out.write(block)


@dataclass(frozen=True)
class _Case:
    name: str
    key: str
    make: Callable[[Path], None]


CASES = (
    _Case(
        "Amazon Connect, 300k records", "north/ctr/ctr-300k.jsonl.gz", lambda p: _connect_export(p, 300_000)
    ),
    _Case(
        "Genesys Cloud, 150k conversations",
        "north/genesys/details-150k.json.gz",
        lambda p: _genesys_export(p, 150_000),
    ),
    _Case("20 MiB of blank lines", "north/acd/calls-2026-01-01-blank.csv", _blank_lines),
    _Case("100 MB quoted field of line ends", "north/acd/calls-2024-01-15-quoted.csv", _long_quoted_field),
    _Case("gzip bomb: blank lines", "north/acd/calls-2026-01-01-bomb.csv.gz", _bomb_of_blank_lines),
    _Case("gzip bomb: NUL bytes", "north/acd/calls-2026-01-01-nul.csv.gz", _bomb_of_nul_bytes),
)


def run_case(args: dict[str, Any]) -> dict[str, Any]:
    """Child side: process the raw object already uploaded (the demo configuration, plus a Connect
    source ``ctr`` and a Genesys Cloud source ``genesys`` for centre ``north``)."""
    from dataclasses import replace

    from contactlake.adapters.local import build_local_ports
    from contactlake.config import Settings, SourceConfig, load_app_config
    from contactlake.pipeline import process_upload

    config = load_app_config()
    north = config.centres["north"]
    north = replace(
        north,
        sources=(
            *north.sources,
            SourceConfig("ctr", "amazon_connect"),
            SourceConfig("genesys", "genesys_cloud"),
        ),
    )
    config = replace(config, centres={**config.centres, "north": north})
    settings = Settings(home=Path(args["home"]))
    started = time.perf_counter()
    manifest = process_upload(build_local_ports(settings), config, settings, args["key"])
    return {
        "work_seconds": time.perf_counter() - started,
        "status": manifest.status,
        "message": manifest.message[:200],
        "rows_read": manifest.rows_read,
        "rows_stored": manifest.rows_stored,
        "rows_quarantined": manifest.rows_quarantined,
        "rows_excluded": manifest.rows_excluded,
        "reconciles": manifest.reconciles,
    }


@dataclass(frozen=True)
class HostileRun:
    case: str
    input_mb: float
    status: str
    rows_read: int
    wall_seconds: float
    peak_rss_mb: float
    reconciles: bool

    @property
    def within_limit(self) -> bool:
        return self.peak_rss_mb < RSS_LIMIT_MB

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "within_limit": self.within_limit}


def bench_hostile(
    data_dir: Path, work_dir: Path, cpu: int | None = 0, step: Callable[[str], None] | None = None
) -> list[HostileRun]:
    """Each case once (memory, not speed, is the point), its input generated and cached in ``data_dir``."""
    from contactlake.adapters.local import LocalObjectStore

    runs = []
    for case in CASES:
        source = data_dir / "hostile" / case.key.replace("/", "_")
        if not source.exists():
            if step:
                step(f"hostile inputs: generating {case.name}")
            source.parent.mkdir(parents=True, exist_ok=True)
            partial = source.with_suffix(source.suffix + ".partial")
            case.make(partial)
            partial.replace(source)
        home = work_dir / "hostile"

        def fresh_home(home: Path = home, source: Path = source, key: str = case.key) -> None:
            shutil.rmtree(home, ignore_errors=True)
            LocalObjectStore(home).put_file("raw", key, source)

        if step:
            step(f"hostile inputs: {case.name}")
        fresh_home()
        try:
            child = run_child(
                "ingest.hostile", {"home": str(home), "key": case.key}, cpu=cpu, reset=fresh_home
            )
        finally:
            shutil.rmtree(home, ignore_errors=True)
        result = child.result
        runs.append(
            HostileRun(
                case=case.name,
                input_mb=source.stat().st_size / 1024**2,
                status=str(result["status"]),
                rows_read=int(result["rows_read"]),
                wall_seconds=child.wall_seconds,
                peak_rss_mb=child.max_rss_mb,
                reconciles=bool(result["reconciles"]),
            )
        )
    return runs


def hostile_table(runs: list[HostileRun]) -> tuple[str, list[str], list[list[str]]]:
    headers = ["input", "input MB", "status", "rows read", "wall s", "peak RSS MB", "reconciles"]
    rows = [
        [
            r.case,
            f"{r.input_mb:,.1f}",
            r.status,
            f"{r.rows_read:,}",
            f"{r.wall_seconds:,.1f}",
            f"{r.peak_rss_mb:,.0f}",
            "yes" if r.reconciles else "NO",
        ]
        for r in runs
    ]
    return "Hostile and pathological inputs (one run each; memory is the point)", headers, rows


def hostile_target(runs: list[HostileRun]) -> Target:
    return Target(
        "peak RSS of every hostile input",
        f"< {RSS_LIMIT_MB:g} MB",
        ", ".join(f"{r.case}: {r.peak_rss_mb:,.0f} MB" for r in runs),
        all(r.within_limit and r.reconciles for r in runs),
    )
