"""Restatement notices (issue 16): a corrected re-export of a day a sent report covered gives the recipients
a notice with the figures before and after and the report re-issued as restated; the issue record keeps
which report version used which uploads."""

from __future__ import annotations

import email
import gzip
import json
from datetime import date
from email import policy

import pytest

from contactlake.analyse.run import run_analysis
from contactlake.pipeline import process_upload
from contactlake.report import build_reports
from contactlake.report.restate import restate_reports
from tests.functional.report.lake import SmallLake

pytestmark = pytest.mark.slow
DAY = date(2026, 11, 9)
RAW = "north/acd/calls-2026-11-09.csv.gz"


def corrected_re_export(lake: SmallLake) -> None:
    """The vendor re-sends the day without 40 calls that had been logged twice (every 40th row)."""
    ports = lake.ports()
    lines = gzip.decompress(ports.store.get("raw", RAW)).decode().splitlines()
    kept = [lines[0], *(line for n, line in enumerate(lines[1:]) if n % 40 != 39)]
    ports.store.put("raw", RAW, gzip.compress(("\n".join(kept) + "\n").encode()))
    process_upload(ports, lake.config, lake.settings, RAW)
    run_analysis(ports, lake.config, ["north"], DAY, DAY)


def mails(lake: SmallLake) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for p in sorted((lake.home / "outbox").glob("*.eml"))
    ]


def test_a_corrected_re_export_restates_the_sent_report_with_a_notice(lake: SmallLake) -> None:
    [sent] = build_reports(
        lake.ports(), lake.config, lake.settings, period="daily", as_of=DAY, audience="operations",
        centres=["north"],
    )  # fmt: skip
    assert sent.status == "sent"
    record_key = "north/operations/daily/2026-11-09.north_ops.issued.json"
    first = json.loads(lake.ports().store.get("reports", record_key))
    assert first["version"] == 1
    assert ["north", "2026-11-09", "acd"] in [u[:3] for u in first["uploads"]]

    assert [r.status for r in restate_reports(
        lake.ports(), lake.config, lake.settings, centre_id="north", days=[DAY]
    )] == ["same uploads"]  # fmt: skip

    corrected_re_export(lake)
    [result] = restate_reports(lake.ports(), lake.config, lake.settings, centre_id="north", days=[DAY])
    assert result.status == "restated"
    assert result.changes > 0
    assert result.version == 2

    record = json.loads(lake.ports().store.get("reports", record_key))
    assert record["version"] == 2
    assert record["previous"][0]["uploads"] == first["uploads"]
    assert record["uploads"] != first["uploads"]
    subjects = [m["Subject"] for m in mails(lake)]
    notice = next(m for m in mails(lake) if m["Subject"].startswith("Restated: Operations daily report"))
    text = notice.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Figures before and after:" in text
    assert "billing — Offered:" in text
    assert "upload " in text
    assert any(s.startswith("Operations daily report (restated)") for s in subjects), subjects
    html = lake.ports().store.get("reports", "north/operations/daily/2026-11-09.html").decode()
    assert "Restated: this report replaces version 1" in html


def test_on_the_local_bus_the_correction_restates_by_its_events(lake: SmallLake) -> None:
    """Nobody calls restate_reports: the corrected upload's UploadValidated event starts the analysis of
    its day, whose AnalysisFinished event (a correction) restates the report, as on AWS."""
    from contactlake.bus import deliver_locally

    [sent] = build_reports(
        lake.ports(), lake.config, lake.settings, period="daily", as_of=DAY, audience="operations",
        centres=["north"],
    )  # fmt: skip
    assert sent.status == "sent"
    ports = lake.ports()
    lines = gzip.decompress(ports.store.get("raw", RAW)).decode().splitlines()
    kept = [lines[0], *(line for n, line in enumerate(lines[1:]) if n % 40 != 39)]
    ports.store.put("raw", RAW, gzip.compress(("\n".join(kept) + "\n").encode()))
    with deliver_locally(ports, lake.config, lake.settings) as delivered:
        manifest = process_upload(ports, lake.config, lake.settings, RAW)
    assert manifest.replaced_upload_id
    assert [d.function for d in delivered] == ["AnalyseFunction", "ReportFunction"]
    analyse, restate = delivered
    assert analyse.event["detail"]["upload_id"] == manifest.upload_id
    assert restate.event["detail-type"] == "AnalysisFinished"
    assert restate.event["detail"]["days"] == [DAY.isoformat()]
    assert restate.event["detail"]["replaced_uploads"] == [manifest.replaced_upload_id]
    [result] = restate.result
    assert (result.status, result.version) == ("restated", 2)
    subjects = [m["Subject"] for m in mails(lake)]
    assert any(s.startswith("Restated: Operations daily report") for s in subjects), subjects
    html = ports.store.get("reports", "north/operations/daily/2026-11-09.html").decode()
    assert "Restated: this report replaces version 1" in html

    # Analysing the day again (the nightly recompute) replaces nothing: no restatement, no mail.
    from contactlake.jobs import AnalysisWindow, run_windows

    sent_before = len(mails(lake))
    with deliver_locally(ports, lake.config, lake.settings) as again:
        run_windows(ports, lake.config, [AnalysisWindow("north", DAY, DAY)])
    assert [d.function for d in again] == []
    assert len(mails(lake)) == sent_before


def test_which_version_used_which_uploads_is_a_lake_table(
    lake: SmallLake, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16: the issue records are in the lake (report_issues), queryable with `contactlake sql`, each
    version with the uploads it rested on; a restatement adds version 2 beside version 1."""
    from contactlake.cli import main

    build_reports(
        lake.ports(), lake.config, lake.settings, period="daily", as_of=DAY, audience="operations",
        centres=["north"],
    )  # fmt: skip
    corrected_re_export(lake)
    restate_reports(lake.ports(), lake.config, lake.settings, centre_id="north", days=[DAY])
    rows = (
        lake.ports()
        .engine.query(
            "SELECT version, upload_id, source, business_date, stakeholder, report_key FROM report_issues "
            "WHERE centre_id = 'north' AND period_start = DATE '2026-11-09' AND audience = 'operations' "
            "ORDER BY version, source"
        )
        .to_pylist()
    )
    record = json.loads(
        lake.ports().store.get("reports", "north/operations/daily/2026-11-09.north_ops.issued.json")
    )
    by_version: dict[int, set[str]] = {}
    for row in rows:
        assert row["report_key"] == "north/operations/daily/2026-11-09"
        assert row["stakeholder"] == "north_ops"
        by_version.setdefault(row["version"], set()).add(row["upload_id"])
    assert set(by_version) == {1, 2}
    assert by_version[1] == {u[3] for u in record["previous"][0]["uploads"]}
    assert by_version[2] == {u[3] for u in record["uploads"]}
    assert by_version[1] != by_version[2]
    assert {str(r["business_date"]) for r in rows} == {"2026-11-09"}

    code = main([
        "--home", str(lake.home), "sql",
        "SELECT version, count(*) AS uploads FROM report_issues WHERE audience = 'operations' GROUP BY 1",
        "--format", "csv",
    ])  # fmt: skip
    assert code == 0
    out = [line.replace('"', "") for line in capsys.readouterr().out.splitlines()]
    assert out[0] == "version,uploads"
    assert sorted(out[1:]) == [f"1,{len(by_version[1])}", f"2,{len(by_version[2])}"]
