"""The benchmark machinery on tiny inputs: every output is well formed. No timing is asserted.

``make bench`` is not part of the suite; these tests make sure it still runs end to end (inputs
generated, contenders run pinned in their own processes, Parquet inspected, results written) when the
code it measures changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import harness
from bench.ingest import IngestComparison, IngestRun, ParquetSummary
from bench.ingest_data import export_files
from bench.kpi import _next_first_leg
from bench.report import targets
from bench.run import BenchOptions, run_benchmarks


@pytest.mark.slow
def test_ingest_benchmark_runs_both_contenders_and_accounts_for_every_row(tmp_path: Path) -> None:
    exports = export_files(tmp_path / "data", (1_500, 3_000), workers=1)
    # One generated export serves every size: the smaller is a prefix of the larger.
    small, large = exports[1_500].path.read_text(), exports[3_000].path.read_text()
    assert large.startswith(small)
    assert small.count("\n") == 1 + 1_500
    assert exports[3_000].size_bytes == len(large.encode())

    results = run_benchmarks(BenchOptions(ingest_rows=(3_000,), run_kpi=False, out=tmp_path, progress=False))

    assert [c.rows for c in results.ingest] == [3_000]
    for comparison in results.ingest:
        contender, baseline = comparison.contender, comparison.baseline
        assert comparison.ratio > 0
        assert comparison.work_ratio > 0
        assert contender.rows_read == baseline.rows_read == comparison.rows
        assert contender.details["reconciles"] is True
        stored_and_rejected = (
            contender.rows_stored + contender.details["rows_quarantined"] + contender.details["rows_excluded"]
        )
        assert stored_and_rejected == comparison.rows
        # The Parquet footers hold exactly the rows each side says it stored, all zstd-compressed.
        assert contender.output.rows == contender.rows_stored
        assert baseline.output.rows == baseline.rows_stored == comparison.rows
        assert contender.output.codecs == ("ZSTD",)
        assert contender.output.all_zstd
        assert baseline.output.codecs == ("ZSTD",)
        reference = comparison.reference
        assert reference is not None
        assert reference.rows_read == reference.output.rows == comparison.rows
        assert reference.output.codecs == ("ZSTD",)
        assert comparison.floor_share is not None
        assert comparison.floor_share > 0
        assert contender.cpus == baseline.cpus == (0,)
        assert contender.peak_rss_mb > 0
        assert contender.input_bytes == exports[3_000].size_bytes
    written = json.loads((tmp_path / "results.json").read_text())
    assert [c["rows"] for c in written["ingest"]] == [3_000]
    assert {t["name"]: t["passed"] for t in written["targets"]}["ingest output compressed with zstd"] is True
    assert "Ingest speed-up" in (tmp_path / "results.md").read_text()


@pytest.mark.slow
def test_kpi_benchmark_agrees_with_its_baseline_and_measures_bytes(tmp_path: Path) -> None:
    options = BenchOptions(
        run_ingest=False,
        kpi_contacts=2_000,
        kpi_days=3,
        kpi_centres=1,
        out=tmp_path,
        progress=False,
        workers=1,
    )

    results = run_benchmarks(options)

    kpi = results.kpi
    assert kpi is not None
    assert kpi.lake["contacts"] == 2_000
    assert kpi.lake["files"] == 3
    assert kpi.grains == ("15min", "30min", "60min", "day", "week", "month")
    assert kpi.totals_agree
    for grain in kpi.grains:
        assert kpi.contender["rows"][grain] == kpi.baseline["rows"][grain] > 0
        assert kpi.contender["totals"][grain]["offered"] > 0
    # Three days from a Monday are one week and one month.
    assert kpi.contender["rows"]["day"] == 3 * kpi.contender["rows"]["month"]
    assert kpi.ratio > 0
    reads = sum(kpi.contender["seconds"][grain] for grain in kpi.grains)
    assert kpi.kept_aggregates_ratio == pytest.approx(kpi.total(kpi.baseline) / reads)
    assert kpi.kept_aggregates_ratio > kpi.ratio  # the same reads, without materialising
    read = kpi.bytes_read
    assert read["lake_files"] == 3
    assert read["partition_files"] == 1
    # The nightly job for the middle day reads its own file for the counts, and its first legs with the
    # next day's (repeat contacts) for first-contact resolution; the report reads the month's one
    # aggregate file.
    assert sorted(read["one_centre_day_from_lake"]["scans"]) == ["1/3", "2/3"]
    # (DuckDB names no file count for a scan of a single file.)
    assert all(scan.startswith("1/") for scan in read["report_from_aggregates"]["scans"])
    assert read["report_from_aggregates"]["bytes_read"] > 0
    assert kpi.api is not None
    assert kpi.api["requests"] > 0
    assert kpi.api["rows"] > 0
    names = {t["name"] for t in json.loads((tmp_path / "results.json").read_text())["targets"]}
    assert any(name.startswith("API: a month of daily KPIs") for name in names)
    assert 0 < kpi.partition_share < 1
    assert 0 < kpi.share("report_from_aggregates") < 1
    assert json.loads((tmp_path / "results.json").read_text())["kpi"]["totals_agree"] is True


def test_next_first_leg_orders_ties_by_contact_id_like_the_sql() -> None:
    at = pd.Timestamp("2025-01-06 10:00")
    frame = pd.DataFrame(
        {
            "centre_id": pd.Categorical(["north", "north", "north", "north", "south"]),
            "customer_key": ["a", "a", "a", "b", "a"],
            "contact_id": ["N-2", "N-10", "N-3", "N-4", "S-1"],
            "initiated_utc": np.array(
                [at, at, at + pd.Timedelta(hours=1), at, at + pd.Timedelta(minutes=5)], dtype="datetime64[ms]"
            ),
        }
    )

    following = _next_first_leg(frame, np.array([True, True, True, True, True]))

    # Customer a at north: N-10 and N-2 start together; by contact id "N-10" < "N-2", so N-10's next leg
    # is N-2 (same instant) and N-2's is N-3. Customer b and the south contact have no later leg.
    assert [str(value) for value in following] == [
        "2025-01-06T11:00:00.000",
        "2025-01-06T10:00:00.000",
        "NaT",
        "NaT",
        "NaT",
    ]


def test_a_child_that_dies_is_reset_and_run_once_more(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    outcome = harness.ChildRun("t", 1.0, 0.5, 0.1, 100.0, (0,), {"rows_read": 3})

    def run_once(*_args: object) -> harness.ChildRun:
        calls.append("run")
        if len(calls) == 1:
            raise harness.BenchError(
                "t failed with exit code -6: terminate called without an active exception"
            )
        return outcome

    monkeypatch.setattr(harness, "_run_once", run_once)

    run = harness.run_child("t", {}, reset=lambda: calls.append("reset"))

    assert calls == ["run", "reset", "run"]
    assert run.result == {
        "rows_read": 3,
        "retried_after": "t failed with exit code -6: terminate called without an active exception",
    }


def test_a_child_that_dies_twice_fails_the_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_once(*_args: object) -> harness.ChildRun:
        raise harness.BenchError("t failed with exit code 1")

    monkeypatch.setattr(harness, "_run_once", run_once)

    with pytest.raises(harness.BenchError, match="exit code 1"):
        harness.run_child("t", {})


def _comparison(rows: int, pandas_seconds: float, contactlake_seconds: float) -> IngestComparison:
    def run(contender: str, seconds: float) -> IngestRun:
        output = ParquetSummary(files=1, bytes=1, rows=rows, partitions=1, codecs=("ZSTD",))
        return IngestRun(contender, rows, 1, seconds, seconds, seconds, 100.0, (0,), rows, rows, output)

    return IngestComparison(rows, run("pandas", pandas_seconds), run("contactlake", contactlake_seconds))


def test_the_speed_target_is_judged_at_1m_rows_and_every_larger_export() -> None:
    speed = "ingest speed-up at 1,000,000 and 3,000,000 rows, one core"
    small_fast = _comparison(250_000, 3.0, 1.0)
    found = {
        t.name: t
        for t in targets(
            [small_fast, _comparison(1_000_000, 9.0, 5.0), _comparison(3_000_000, 30.0, 14.0)], None
        )
    }
    assert (found[speed].measured, found[speed].passed) == ("1.80×, 2.14×", False)
    found = {
        t.name: t
        for t in targets([_comparison(1_000_000, 10.0, 5.0), _comparison(3_000_000, 30.0, 14.0)], None)
    }
    assert found[speed].passed
    smoke = {t.name: t for t in targets([_comparison(3_000, 1.0, 0.4)], None)}
    assert smoke["ingest speed-up at 3,000 rows, one core"].passed
