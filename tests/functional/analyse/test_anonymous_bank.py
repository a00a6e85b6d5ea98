"""Real data: the October 1999 "Anonymous Bank" calls, KPIs from the SQL vs an independent computation.

The file is ingested with its adapter and analysed once. The independent side reads the raw file with
the csv module and applies docs/metrics.md's definitions to the raw fields directly — sharing no code
with the adapter or the SQL. It leaves out what the pipeline legitimately refused: the lines the
quarantine lists (by line number), PHANTOM calls ("a virtual call to be ignored") and TT calls (call
backs the bank placed, i.e. outbound). Counts must be equal, means within 0.1 s.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources

import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import queries, run_analysis
from contactlake.config import CentreConfig, Settings, parse_app_config
from contactlake.pipeline import process_upload
from contactlake.ports import Ports

pytestmark = pytest.mark.slow
THRESHOLD, SHORT = 20, 5
FIRST, LAST = date(1999, 10, 1), date(1999, 10, 31)


def _raw() -> bytes:
    return (resources.files("contactlake") / "sample_data" / "anonymous_bank" / "october.txt.gz").read_bytes()


@dataclass
class Day:
    answered_waits: list[float] = field(default_factory=list)
    handle: list[float] = field(default_factory=list)
    abandoned_waits: list[float] = field(default_factory=list)


def independent_days(raw: bytes, skip_lines: set[int]) -> dict[date, Day]:
    days: dict[date, Day] = defaultdict(Day)
    reader = csv.reader(io.StringIO(gzip.decompress(raw).decode("utf-8")), delimiter="\t")
    header = next(reader)
    for line, values in enumerate(reader, start=2):
        if line in skip_lines:
            continue
        row = dict(zip(header, values, strict=True))
        if row["outcome"] == "PHANTOM" or row["type"] == "TT":
            continue
        day = datetime.strptime(row["date"], "%y%m%d").date()
        queued = row["q_start"] != "0:00:00" or float(row["q_time"]) > 0
        if row["outcome"] == "AGENT":
            days[day].answered_waits.append(float(row["q_time"]) if queued else 0.0)
            days[day].handle.append(float(row["ser_time"]))
        elif row["outcome"] == "HANG" and queued:
            days[day].abandoned_waits.append(float(row["q_time"]))
    return days


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ports, CentreConfig, set[int]]:
    settings = Settings(home=tmp_path_factory.mktemp("bank") / "lake")
    ports = build_local_ports(settings)
    config = parse_app_config(
        {
            "centres": {
                "bank": {
                    "timezone": "Asia/Jerusalem",
                    "short_abandon_seconds": SHORT,
                    "service_level": {"threshold_seconds": THRESHOLD, "variant": "abandons_ignored"},
                    "sources": {"calls": {"adapter": "anonymous_bank"}},
                }
            }
        }
    )
    ports.store.put("raw", "bank/calls/october.txt.gz", _raw())
    manifest = process_upload(ports, config, settings, "bank/calls/october.txt.gz")
    assert manifest.rows_read == 34_625
    assert manifest.rows_read == manifest.rows_stored + manifest.rows_quarantined + manifest.rows_excluded
    run_analysis(ports, config, ["bank"], FIRST, LAST)
    quarantined = ports.engine.query("SELECT source_line FROM quarantine WHERE centre_id = 'bank'")
    return ports, config.centre("bank"), {int(n) for n in quarantined.column("source_line").to_pylist()}


def test_daily_kpis_equal_an_independent_computation(bank: tuple[Ports, CentreConfig, set[int]]) -> None:
    ports, centre, quarantined = bank
    expected = independent_days(_raw(), quarantined)
    measured = {r["period_start"]: r for r in queries.kpis(ports, centre, "day", FIRST, LAST).to_pylist()}
    assert sorted(measured) == sorted(expected)
    assert len(measured) == 31
    for day, raw in sorted(expected.items()):
        got = measured[day]
        waits, abandons = raw.answered_waits, raw.abandoned_waits
        within = sum(1 for w in waits if w <= THRESHOLD)
        abandoned_within = sum(1 for w in abandons if w <= THRESHOLD)
        long_abandons = [w for w in abandons if w >= SHORT]
        offered = len(waits) + len(abandons)
        counts = (got["offered"], got["answered"], got["abandoned"], got["short_abandoned"],
                  got["answered_within_sl"], got["abandoned_within_sl"])  # fmt: skip
        assert counts == (offered, len(waits), len(long_abandons), len(abandons) - len(long_abandons), within,
                          abandoned_within), day  # fmt: skip
        assert got["service_level"] == pytest.approx(within / (offered - abandoned_within), abs=1e-12), day
        assert got["asa_seconds"] == pytest.approx(sum(waits) / len(waits), abs=0.1), day
        assert got["aht_seconds"] == pytest.approx(sum(raw.handle) / len(raw.handle), abs=0.1), day
        assert got["longest_wait_seconds"] == pytest.approx(max(waits + abandons), abs=0.1), day
        if long_abandons:
            assert got["avg_time_to_abandon_seconds"] == pytest.approx(
                sum(long_abandons) / len(long_abandons), abs=0.1
            ), day


def test_month_totals_and_staffing_on_real_data(bank: tuple[Ports, CentreConfig, set[int]]) -> None:
    ports, centre, quarantined = bank
    expected = independent_days(_raw(), quarantined)
    month = queries.kpis(ports, centre, "month", FIRST, LAST).to_pylist()
    assert [(r["period_start"], r["offered"]) for r in month] == [
        (FIRST, sum(len(d.answered_waits) + len(d.abandoned_waits) for d in expected.values()))
    ]
    staffing = queries.staffing(ports, centre, date(1999, 10, 4), date(1999, 10, 4)).to_pylist()
    busy = max(staffing, key=lambda r: r["offered"])
    assert busy["required_erlang_c"] >= busy["required_erlang_a"] >= 1
    assert busy["patience_seconds"] > 0
