"""``python -m bench`` (``make bench``): every benchmark, its baseline in the same run, results as ratios.

The full run (1M-row ingest, 10M-contact KPIs) takes several minutes on 2 cores the first time, less
once the generated inputs are cached in ``bench/out/data``; ``--quick`` is a smaller smoke run.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from bench.harness import BenchError
from bench.run import DEFAULT_OUT, FULL, QUICK, run_benchmarks

__all__ = ["main", "parse_args"]


def _positive(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a positive whole number")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure contactlake's ingest and KPI computation against baselines run in the same "
        "process tree, on one CPU, and report the ratios (docs/benchmarks.md explains the method).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small inputs (20k/100k-row exports, 200k contacts over 28 days): a smoke run",
    )
    parser.add_argument(
        "--only",
        choices=("ingest", "kpi", "hostile"),
        help="run one benchmark only (hostile: peak RSS of bad inputs)",
    )
    parser.add_argument(
        "--ingest-rows",
        type=_positive,
        nargs="+",
        metavar="N",
        help=f"export sizes in rows (default {' '.join(map(str, FULL.ingest_rows))})",
    )
    parser.add_argument(
        "--kpi-contacts",
        type=_positive,
        metavar="N",
        help=f"contacts in the KPI lake (default {FULL.kpi_contacts:,})",
    )
    parser.add_argument(
        "--kpi-days", type=_positive, metavar="N", help=f"days in the KPI lake (default {FULL.kpi_days})"
    )
    parser.add_argument(
        "--kpi-centres",
        type=_positive,
        choices=range(1, 6),
        metavar="1-5",
        help=f"centres in the KPI lake (default {FULL.kpi_centres})",
    )
    parser.add_argument(
        "--repeat", type=_positive, help="runs per contender, the fastest counts (default 2; --quick 1)"
    )
    parser.add_argument(
        "--cpu", type=int, default=0, help="the CPU every measured process is pinned to (default 0)"
    )
    parser.add_argument(
        "--kpi-one-core",
        action="store_true",
        help="also run both KPI sides pinned to one CPU with one thread (slow: several minutes more)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run contactlake's ingest once under cProfile (not timed); writes "
        "ingest-contactlake-<rows>.txt into the output folder",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="results and cached inputs (default bench/out, git-ignored)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--check", action="store_true", help="exit with status 3 when a target is missed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.cpu not in (os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else {args.cpu}):
        print(f"CPU {args.cpu} is not available to this process; choose another with --cpu", file=sys.stderr)
        return 2
    options = QUICK if args.quick else FULL
    options = replace(
        options,
        run_ingest=args.only in (None, "ingest"),
        run_kpi=args.only in (None, "kpi"),
        run_hostile=args.only == "hostile" or (args.only is None and options.run_hostile),
        ingest_rows=tuple(args.ingest_rows) if args.ingest_rows else options.ingest_rows,
        kpi_contacts=args.kpi_contacts or options.kpi_contacts,
        kpi_days=args.kpi_days or options.kpi_days,
        kpi_centres=args.kpi_centres or options.kpi_centres,
        repeat=args.repeat or options.repeat,
        cpu=args.cpu,
        kpi_one_core=args.kpi_one_core,
        profile=args.profile,
        out=args.out.resolve(),
        progress=not args.no_progress,
    )
    try:
        results = run_benchmarks(options)
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    print(results.text)
    print(f"\nwritten: {options.out / 'results.json'} and {options.out / 'results.md'}")
    missed = [t.name for t in results.targets if not t.passed]
    if missed:
        print(f"targets missed: {'; '.join(missed)} (docs/benchmarks.md says where the time goes)")
    return 3 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
