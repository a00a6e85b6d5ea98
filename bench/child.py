"""Entry point of one measured process: ``python -m bench.child <task> '<json arguments>'``.

Prints one JSON line with the task's result plus the process's own CPU time, CPU affinity and peak
RSS. Thread pools are capped before the task imports anything heavy, so a library cannot start more
threads than the run allows. Each task imports only what it uses, so a contender pays its own import
time and never the other's.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.harness import peak_rss_mb

__all__ = ["TASKS", "main"]

#: task name -> "module:function"; each function takes the JSON arguments and returns a JSON-able dict.
TASKS = {
    "ingest.generate": "bench.ingest_data:generate_chunk",
    "ingest.contactlake": "bench.ingest:run_contactlake",
    "ingest.pandas": "bench.ingest:run_pandas",
    "ingest.arrow": "bench.ingest:run_arrow",
    "ingest.hostile": "bench.ingest_hostile:run_case",
    "kpi.generate": "bench.kpi_data:generate_centre",
    "kpi.contactlake": "bench.kpi:run_contactlake",
    "kpi.pandas": "bench.kpi:run_pandas",
    "kpi.bytes_read": "bench.kpi:run_bytes_read",
    "kpi.api": "bench.kpi_api:run_api_latency",
}


def _limit_arrow_threads(threads: int) -> None:
    import pyarrow as pa

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)


def _resolve(task: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    if task not in TASKS:
        raise SystemExit(f"unknown task {task!r}; known: {', '.join(sorted(TASKS))}")
    module_name, function_name = TASKS[task].split(":")
    function: Callable[[dict[str, Any]], dict[str, Any]] = getattr(
        importlib.import_module(module_name), function_name
    )
    return function


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.child <task> '<json arguments>'", file=sys.stderr)
        return 2
    task, raw_args = argv
    threads = int(os.environ.get("BENCH_THREADS", "1"))
    _limit_arrow_threads(threads)
    function = _resolve(task)
    started = time.perf_counter()
    result = function(json.loads(raw_args))
    result.setdefault("work_seconds", time.perf_counter() - started)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.update(
        _user_seconds=usage.ru_utime,
        _system_seconds=usage.ru_stime,
        _peak_rss_mb=peak_rss_mb(),
        _cpus=sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [],
        _threads=threads,
    )
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
