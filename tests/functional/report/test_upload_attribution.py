"""Which business days an upload delivered comes from its rows, not its object's name (issue 14).

A monthly file, or Amazon Connect's Firehose keys (``…/YYYY/MM/DD/HH/name-…``), used to count as
*missing* because only keys ending in a date were attributed; one rejected stray file moved the
expected calendar back to its own date and held reports with a "gap" for every day since.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, date, datetime, time
from pathlib import Path

from contactlake.analyse import quality
from contactlake.config import parse_app_config
from contactlake.report.build import build_document
from contactlake.report.figures import Figures
from contactlake.report.model import Report
from contactlake.report.periods import Window
from tests.fixtures.lakes import FIXTURES, SAMPLE_DATA, LocalLake, centres

OCTOBER = SAMPLE_DATA / "anonymous_bank" / "october.txt.gz"
CONNECT = FIXTURES / "amazon_connect" / "ctr-2024-03-05.jsonl"


def _lake(tmp_path: Path, bank_schedule: str = "daily") -> LocalLake:
    raw = centres()
    raw["centres"]["anonbank"]["sources"]["calls"]["schedule"] = bank_schedule
    raw["centres"]["leeds"]["sources"] = {"ctr": {"adapter": "amazon_connect"}}
    lake = LocalLake.create(tmp_path)
    lake.config = parse_app_config(raw, source_path=str(tmp_path / "config" / "contactlake.toml"))
    return lake


def _month_of_calls(days: int) -> bytes:
    """The first ``days`` days of the real October 1999 file, under a name with no date in it."""
    lines = gzip.decompress(OCTOBER.read_bytes()).decode().splitlines(keepends=True)
    wanted = {f"9910{d:02d}" for d in range(1, days + 1)}
    return "".join([lines[0], *(line for line in lines[1:] if line.split("\t")[5] in wanted)]).encode()


def test_a_monthly_file_covers_every_day_its_calls_fall_on(tmp_path: Path) -> None:
    lake = _lake(tmp_path, bank_schedule="monthly")
    manifest = lake.ingest("anonbank/calls/october.txt", _month_of_calls(3))
    assert sorted(manifest.coverage) == ["1999-10-01", "1999-10-02", "1999-10-03"]
    centre = lake.config.centre("anonbank")
    window = Window("daily", date(1999, 10, 1), date(1999, 10, 3), date(1999, 10, 3))
    figures = Figures(lake.ports)
    status = figures.upload_status(centre, window)
    assert status is not None
    assert status.missing == []
    assert figures.gaps == []  # no false "not received" banner, no hold
    rows = quality.data_quality(lake.ports, centre, date(1999, 10, 1), date(1999, 10, 3)).to_pylist()
    assert [(r["day"], r["status"], r["rows_on_day"]) for r in rows] == [
        (date(1999, 10, 1), "stored", manifest.coverage["1999-10-01"]),
        (date(1999, 10, 2), "stored", manifest.coverage["1999-10-02"]),
        (date(1999, 10, 3), "stored", manifest.coverage["1999-10-03"]),
    ]
    # A monthly export of October is due on 1 November at the centre's deadline, whichever day.
    assert {r["deadline_local"] for r in rows} == {datetime(1999, 11, 1, 6, 0)}


def test_a_firehose_keyed_ctr_upload_is_received_for_its_records_day(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    firehose = gzip.compress(
        b"".join(json.dumps(json.loads(x)).encode() for x in CONNECT.read_bytes().splitlines())
    )
    manifest = lake.ingest("leeds/ctr/2024/03/05/09/ctr-stream-1-2024-03-05-09-15-00-0a1b.gz", firehose)
    assert manifest.status == "stored"
    assert list(manifest.coverage) == ["2024-03-05"]
    centre = lake.config.centre("leeds")
    rows = quality.data_quality(lake.ports, centre, date(2024, 3, 5), date(2024, 3, 5)).to_pylist()
    assert [(r["source"], r["status"], r["missing"]) for r in rows] == [("ctr", "stored", False)]


def test_a_rejected_stray_file_never_moves_the_expected_calendar(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    lake.ingest("anonbank/calls/october.txt", _month_of_calls(2))
    stray = lake.ingest("anonbank/calls/old-1999-06-01.txt", b"")
    assert stray.status == "rejected"
    centre = lake.config.centre("anonbank")
    window = Window("monthly", date(1999, 6, 1), date(1999, 10, 2), date(1999, 10, 31))
    figures = Figures(lake.ports)
    status = figures.upload_status(centre, window)
    assert status is not None
    assert status.first_day == date(1999, 10, 1)  # not the stray file's 1 June
    assert status.missing == []
    assert figures.gaps == []


def test_a_source_deadline_and_schedule_set_the_day_an_export_is_due() -> None:
    raw = centres()
    raw["centres"]["north"]["sources"]["acd"]["deadline_local"] = "09:30"
    raw["centres"]["north"]["sources"]["agents"]["schedule"] = "monthly"
    centre = parse_app_config(raw).centre("north")
    assert centre.deadline("acd", date(2024, 2, 28)) == datetime(2024, 2, 29, 9, 30)
    assert centre.deadline("agents", date(2024, 2, 10)) == datetime(2024, 3, 1, 6, 0)
    assert centre.deadline("agents", date(2024, 12, 31)) == datetime(2025, 1, 1, 6, 0)
    assert centre.deadline("unknown", date(2024, 2, 10)) == datetime.combine(date(2024, 2, 11), time(6, 0))


def test_a_day_is_closed_once_its_deadline_passed_or_a_later_day_arrived(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    lake.ingest("anonbank/calls/october.txt", _month_of_calls(2))
    centre = lake.config.centre("anonbank")

    def closed(now: datetime) -> list[tuple[date, str, bool]]:
        table = quality.data_quality(lake.ports, centre, date(1999, 10, 1), date(1999, 10, 3), now=now)
        return [(r["day"], r["status"], r["day_closed"]) for r in table.to_pylist()]

    # On 2 October at noon: the 1st is closed (the 2nd has arrived), the 2nd is still open (its
    # deadline is 06:00 on the 3rd), the 3rd is not in.
    assert closed(datetime(1999, 10, 2, 12, 0)) == [
        (date(1999, 10, 1), "stored", True),
        (date(1999, 10, 2), "stored", False),
        (date(1999, 10, 3), "missing", False),
    ]
    assert closed(datetime(1999, 10, 3, 6, 0))[1] == (date(1999, 10, 2), "stored", True)


def _connect_day_arriving_at(tmp_path: Path, arrived: datetime) -> list[dict[str, object]]:
    """Leeds' Connect day 2024-03-05 (due 06:00 on the 6th), uploaded at ``arrived`` (UTC, = London in
    March) and processed now, years after its deadline."""
    lake = _lake(tmp_path)
    key = "leeds/ctr/ctr-2024-03-05.jsonl"
    lake.put(key, CONNECT.read_bytes())
    stamp = arrived.timestamp()
    os.utime(lake.home / "raw" / key, (stamp, stamp))
    manifest = lake.ingest(key)
    assert manifest.status == "stored"
    log = lake.ingest_log().to_pylist()
    assert [row["arrived_utc"] for row in log] == [arrived.replace(tzinfo=None)]
    centre = lake.config.centre("leeds")
    return quality.data_quality(lake.ports, centre, date(2024, 3, 5), date(2024, 3, 5)).to_pylist()


def test_lateness_is_judged_on_arrival_not_on_processing(tmp_path: Path) -> None:
    # Arrived at 05:00, an hour before the deadline, processed long after it: on time.
    (on_time,) = _connect_day_arriving_at(tmp_path / "a", datetime(2024, 3, 6, 5, 0, tzinfo=UTC))
    assert on_time["arrived_local"] == datetime(2024, 3, 6, 5, 0)
    assert on_time["finished_local"] > on_time["deadline_local"] == datetime(2024, 3, 6, 6, 0)
    assert on_time["late"] is False
    # Arrived at 07:00, an hour after it: late, whenever it was processed.
    (late,) = _connect_day_arriving_at(tmp_path / "b", datetime(2024, 3, 6, 7, 0, tzinfo=UTC))
    assert late["arrived_local"] == datetime(2024, 3, 6, 7, 0)
    assert late["late"] is True


def test_the_day_closed_marker_is_in_the_lake_agrees_with_the_api_and_drives_banners_and_holds(
    tmp_path: Path,
) -> None:
    lake = _lake(tmp_path)
    lake.ingest("anonbank/calls/october.txt", _month_of_calls(2))
    centre = lake.config.centre("anonbank")
    noon = datetime(1999, 10, 2, 12, 0)  # local (Asia/Jerusalem): the 2nd is due at 06:00 on the 3rd
    quality.materialise_day_closed(lake.ports, centre, date(1999, 10, 1), date(1999, 10, 3), now=noon)
    marker = lake.table("lake", "aggregates/day_closed").to_pylist()
    assert [(r["source"], r["received"], r["day_closed"]) for r in marker] == [
        ("calls", True, True),  # the 1st: a later day has arrived
        ("calls", True, False),  # the 2nd: its deadline has not passed
        ("calls", False, False),  # the 3rd: not received
    ]
    api = quality.data_quality(lake.ports, centre, date(1999, 10, 1), date(1999, 10, 3), now=noon)
    assert [r["day_closed"] for r in api.to_pylist()] == [r["day_closed"] for r in marker]

    def report(audience: str, now_local: datetime) -> Report:
        now = now_local.replace(tzinfo=centre.zone).astimezone(UTC)
        return build_document(
            lake.ports, lake.config, audience=audience, centre_ids=["anonbank"], period="daily",
            as_of=date(1999, 10, 2), now=now,
        )  # fmt: skip

    operations = report("operations", noon)
    assert [g.text for g in operations.gaps if g.kind == "open"] == [
        "anonbank: calls export for 1999-10-02 — received, not closed yet (more may arrive until 1999-10-03 06:00)"
    ]
    assert any("day(s) not closed yet" in b.text and "may still change" in b.text for b in operations.banners)
    executive = report("executive", noon)
    assert any("held until they close" in b.text for b in executive.banners)
    # After the deadline the day is closed: no banner, nothing held for it.
    later = report("executive", datetime(1999, 10, 3, 6, 0))
    assert not [g for g in later.gaps if g.kind == "open"]


def test_the_data_quality_report_shows_when_each_upload_arrived(tmp_path: Path) -> None:
    """Lateness is judged on arrival, so the report shows arrival beside processing."""
    lake = _lake(tmp_path)
    key = "leeds/ctr/ctr-2024-03-05.jsonl"
    lake.put(key, CONNECT.read_bytes())
    arrived = datetime(2024, 3, 6, 5, 0, tzinfo=UTC)
    os.utime(lake.home / "raw" / key, (arrived.timestamp(),) * 2)
    lake.ingest(key)
    report = build_document(
        lake.ports, lake.config, audience="data_quality", centre_ids=["leeds"], period="daily",
        as_of=date(2024, 3, 5), now=datetime(2024, 3, 7, 12, 0, tzinfo=UTC),
    )  # fmt: skip
    (table,) = [t for t in report.tables if any(c.label == "Arrived (local)" for c in t.columns)]
    labels = [c.label for c in table.columns]
    (row,) = table.rows
    assert row[labels.index("Arrived (local)")] == datetime(2024, 3, 6, 5, 0)
    assert row[labels.index("Late")] == ""
