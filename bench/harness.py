"""Running a contender in its own process, on one CPU, and measuring it from outside.

Why a process per run: peak RSS (the kernel's high-water mark) and wall time then cover everything the
job costs — interpreter start, imports, reading, writing — and one run cannot warm another's caches in
memory. Why one CPU: the ingest target is stated per core, and pinning (``taskset``) plus single-thread
pools (Arrow's CPU and I/O pools, OpenMP/BLAS, DuckDB's ``threads``) makes a library's hidden threads
unable to borrow the second core of the machine.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "REPO_ROOT",
    "BenchError",
    "ChildRun",
    "machine_description",
    "peak_rss_mb",
    "run_child",
    "run_children",
    "single_thread_env",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OMP_THREAD_LIMIT",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "ARROW_IO_THREADS",
    "POLARS_MAX_THREADS",
)


class BenchError(RuntimeError):
    """A benchmark step failed; the message carries the child's error output."""


@dataclass(frozen=True)
class ChildRun:
    """One contender run as seen from outside its process."""

    task: str
    wall_seconds: float
    user_seconds: float
    system_seconds: float
    max_rss_mb: float
    cpus: tuple[int, ...] | None
    result: dict[str, Any]


def single_thread_env(threads: int = 1) -> dict[str, str]:
    """The environment for a child: thread pools capped, nothing inherited that would change a timing."""
    env = dict(os.environ)
    env.update(dict.fromkeys(_THREAD_VARIABLES, str(threads)))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["BENCH_THREADS"] = str(threads)
    env.pop("CONTACTLAKE_HOME", None)
    env.pop("CONTACTLAKE_CONFIG", None)
    return env


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MiB; the kernel's figure, not a sample."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _command(task: str, args: dict[str, Any], cpu: int | None) -> tuple[list[str], Any]:
    command = [sys.executable, "-m", "bench.child", task, json.dumps(args)]
    if cpu is None:
        return command, None
    taskset = shutil.which("taskset")
    if taskset:
        return [taskset, "--cpu-list", str(cpu), *command], None

    def pin() -> None:
        os.sched_setaffinity(0, {cpu})

    return command, pin


def run_child(
    task: str,
    args: dict[str, Any],
    cpu: int | None = 0,
    threads: int = 1,
    timeout: float = 3600.0,
    reset: Callable[[], None] | None = None,
) -> ChildRun:
    """Run ``bench.child <task>`` pinned to ``cpu`` (None = unpinned) and measure it.

    Wall time is taken around the whole process, from outside. CPU time and peak RSS are the child's own
    kernel counters (``getrusage`` and VmHWM, read as its last act), so they belong to exactly this run and
    not to the cumulative RUSAGE_CHILDREN of every child so far.

    A child that dies is run once more (after ``reset`` puts its inputs back as they were): a native
    library aborting at interpreter exit was seen once in many runs. The first failure is kept in the
    result as ``retried_after``, so a retry never goes unnoticed.
    """
    try:
        return _run_once(task, args, cpu, threads, timeout)
    except BenchError as error:
        if reset is not None:
            reset()
        run = _run_once(task, args, cpu, threads, timeout)
        run.result["retried_after"] = str(error)[:2000]
        return run


def _run_once(task: str, args: dict[str, Any], cpu: int | None, threads: int, timeout: float) -> ChildRun:
    command, preexec = _command(task, args, cpu)
    started = time.perf_counter()
    with subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=single_thread_env(threads),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=preexec,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise BenchError(f"{task} did not finish within {timeout:.0f} s; try --quick") from None
    wall = time.perf_counter() - started
    if process.returncode != 0:
        tail = stderr.decode(errors="replace")[-4000:]
        raise BenchError(f"{task} failed with exit code {process.returncode}:\n{tail}")
    lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise BenchError(f"{task} printed no result; its error output was:\n{stderr.decode()[-4000:]}")
    report: dict[str, Any] = json.loads(lines[-1])
    return ChildRun(
        task=task,
        wall_seconds=wall,
        user_seconds=float(report.pop("_user_seconds")),
        system_seconds=float(report.pop("_system_seconds")),
        max_rss_mb=float(report.pop("_peak_rss_mb")),
        cpus=tuple(report.pop("_cpus")) if cpu is not None else None,
        result={k: v for k, v in report.items() if not k.startswith("_")},
    )


def run_children(
    task: str,
    args_list: list[dict[str, Any]],
    workers: int,
    on_done: Callable[[ChildRun], None] | None = None,
) -> list[ChildRun]:
    """Run the same task on several inputs, ``workers`` processes at a time (for data generation only).

    Threads only wait on the child processes, so the work itself runs on every core; results come back
    in input order.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run_child, task, args, None, 1) for args in args_list]
        runs = []
        for future in futures:
            run = future.result()
            if on_done is not None:
                on_done(run)
            runs.append(run)
    return runs


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "not installed"


def machine_description() -> dict[str, Any]:
    """What the figures were measured on; ratios travel between machines, seconds do not."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load],
        "taskset": shutil.which("taskset") is not None,
        "versions": {
            name: _version(name)
            for name in ("contactlake", "pyarrow", "pandas", "duckdb", "numpy", "sqlglot")
        },
    }
