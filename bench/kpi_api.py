"""API latency: a month of daily KPIs for one centre, asked of ``contactlake serve`` on loopback.

What a dashboard does: ``GET /centres/<centre>/kpis?grain=day&from=<first>&to=<last>`` for one month of
the benchmark lake, after the nightly job has materialised it. The server is the one ``make serve``
runs (``python -m contactlake.cli serve``: Chalice's local server, the local ports, DuckDB), started on
a free loopback port with a configuration naming the benchmark's centres and one API key; the loop is
bounded (a few warm-up requests, then a fixed number timed one after another), and the server is
stopped whatever happens. Each request's time is taken around the whole HTTP exchange.
"""

from __future__ import annotations

import hashlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

__all__ = ["run_api_latency"]

_KEY = "bench-key"
_WARM_UP = 3
_REQUESTS = 40
_START_TIMEOUT_SECONDS = 60.0


def _config_toml(centres: list[dict[str, str]]) -> str:
    lines = []
    for centre in centres:
        lines += [f"[centres.{centre['centre_id']}]", f'timezone = "{centre["timezone"]}"', ""]
        lines += [f"[centres.{centre['centre_id']}.service_level]", "threshold_seconds = 20", ""]
    digest = hashlib.sha256(_KEY.encode()).hexdigest()
    lines += ["[api.callers.bench]", 'centres = ["*"]', f'api_key_sha256 = "{digest}"', ""]
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"x-api-key": _KEY})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"contactlake serve exited with status {server.returncode} before answering")
        try:
            if _get(f"{base}/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"contactlake serve did not answer /health within {_START_TIMEOUT_SECONDS:g} s")


def run_api_latency(args: dict[str, Any]) -> dict[str, Any]:
    """Child side: start the local API over the benchmark lake, time a bounded loop of month requests."""
    centre = args["centres"][0]
    first = date.fromisoformat(args["month"])
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/centres/{centre['centre_id']}/kpis?grain=day&from={first}&to={last}"
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "contactlake.toml"
        config.write_text(_config_toml(args["centres"]), encoding="utf-8")
        command = [sys.executable, "-m", "contactlake.cli", "--home", args["home"], "--config", str(config)]
        server = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until_up(base, server)
            for _ in range(_WARM_UP):
                _get(url)
            seconds, rows = [], 0
            for _ in range(_REQUESTS):
                started = time.perf_counter()
                status, body = _get(url)
                seconds.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"GET {url} answered {status}")
                rows = int(json.loads(body)["count"])
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    ordered = sorted(seconds)
    return {
        "url": url.replace(base, ""),
        "requests": len(seconds),
        "rows": rows,
        "p50_seconds": statistics.median(ordered),
        "p95_seconds": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "max_seconds": ordered[-1],
    }
