"""Stakeholder reports built from a real lake: stored under stable keys, e-mailed, with the right figures."""

from __future__ import annotations

import email
import io
import json
from dataclasses import replace
from datetime import date
from email import policy
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from contactlake.analyse import queries
from contactlake.config import Stakeholder
from contactlake.ports import QueryError
from contactlake.report import build_reports
from contactlake.report.build import build_document
from tests.functional.report.lake import SmallLake

DAY = date(2026, 11, 9)  # a Monday
SUNDAY = date(2026, 11, 8)


def pdf_text(lake: SmallLake, key: str) -> str:
    reader = PdfReader(io.BytesIO(lake.ports().store.get("reports", key)))
    return "\n".join(page.extract_text() for page in reader.pages)


def outbox(lake: SmallLake) -> list[email.message.EmailMessage]:
    files = sorted((lake.home / "outbox").glob("*.eml"))
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


def events(lake: SmallLake) -> list[dict[str, Any]]:
    path = lake.home / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
def test_operations_daily_reports_carry_the_days_figures(lake: SmallLake) -> None:
    steps: list[str] = []
    results = build_reports(
        lake.ports(),
        lake.config,
        lake.settings,
        period="daily",
        as_of=DAY,
        audience="operations",
        on_step=steps.append,
    )
    assert [(r.stakeholder, r.centre_id, r.status) for r in results] == [
        ("north_ops", "north", "sent"),
        ("south_ops", "south", "sent"),
    ]
    north = results[0]
    assert north.keys == (
        "north/operations/daily/2026-11-09.html",
        "north/operations/daily/2026-11-09.pdf",
        "north/operations/daily/2026-11-09.csv",
    )
    assert (north.period_start, north.period_end, north.gaps) == (DAY, DAY, ())
    assert north.email is not None
    assert Path(north.email).is_file()
    assert any(s.startswith("stored reports/north/operations/daily/2026-11-09.pdf") for s in steps)
    centre = lake.config.centre("north")
    day = queries.kpis(lake.ports(), centre, "day", DAY, DAY).to_pylist()[0]
    billing = next(
        r
        for r in queries.kpis(lake.ports(), centre, "day", DAY, DAY, dimension="queue").to_pylist()
        if r["queue"] == "billing"
    )
    text = pdf_text(lake, north.keys[1])
    for figure in (
        f"{day['offered']:,}",
        f"{day['answered']:,}",
        f"{day['service_level'] * 100:.1f}%",
        f"{day['abandon_rate'] * 100:.1f}%",
        f"{billing['offered']:,}",
        f"{billing['service_level'] * 100:.1f}%",
    ):
        assert figure in text, figure
    assert "Operations daily report" in text
    assert "Monday 9 November 2026" in text
    csv_rows = lake.ports().store.get("reports", north.keys[2]).decode("utf-8-sig").splitlines()
    assert (
        csv_rows[0]
        == "queue,offered,answered,abandoned,service_level_pct,asa_seconds,aht_seconds,abandon_rate_pct,"
        "transfer_rate_pct,against_target"
    )
    assert any(row.startswith(f"billing,{billing['offered']},{billing['answered']},") for row in csv_rows)
    mails = outbox(lake)
    assert sorted(m["To"] for m in mails) == ["ops-north@example.com", "ops-south@example.com"]
    mail = next(m for m in mails if m["To"] == "ops-north@example.com")
    assert [a.get_filename() for a in mail.iter_attachments()] == [
        "north-operations-daily-2026-11-09.pdf",
        "north-operations-daily-2026-11-09.csv",
    ]
    html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    cids = {p["Content-ID"].strip("<>") for p in mail.walk() if p.get_content_maintype() == "image"}
    assert cids == {"sl_heatmap@contactlake", "abandon_heatmap@contactlake", "staffing@contactlake"}
    assert all(f'src="cid:{cid}"' in html for cid in cids)


SECTIONS = {
    ("executive", "monthly", ("north", "south")): [
        "Three things to know",
        "Against plan and budget",
        "Long-term trends",
    ],
    ("operations", "weekly", ("north",)): [
        "Headline",
        "Service level and abandonment by hour",
        "Queues",
        "Staffing gap",
        "Exceptions",
        "Service level under each definition",
    ],
    ("workforce", "weekly", ("south",)): ["Arrivals against forecast", "Required (Erlang) vs staffed agents"],
    ("team_leader", "weekly", ("north",)): ["Team", "Agents"],
    ("data_quality", "daily", ("north", "south")): [
        "Scorecard",
        "Uploads",
        "Quarantine",
        "Reconciliation and test contacts",
    ],
    ("vendor", "monthly", ("south",)): ["Service against contract", "Day by day"],
}


@pytest.mark.slow
@pytest.mark.parametrize(("audience", "period", "centres"), list(SECTIONS))
def test_each_audience_gets_its_own_sections(
    small_lake: SmallLake, audience: str, period: str, centres: tuple[str, ...]
) -> None:
    report = build_document(
        small_lake.ports(),
        small_lake.config,
        audience=audience,
        centre_ids=centres,
        period=period,
        as_of=SUNDAY,
        queues=("sales",) if audience == "vendor" else (),
    )
    assert [s.title for s in report.sections] == SECTIONS[(audience, period, centres)]
    assert report.gaps == ()
    assert report.internal_only is (audience == "team_leader")
    assert all(chart.alt and chart.png.startswith(b"\x89PNG") for chart in report.charts)


@pytest.mark.slow
def test_team_leader_and_vendor_tables_hold_the_analysis_figures(small_lake: SmallLake) -> None:
    ports, config = small_lake.ports(), small_lake.config
    agents = sorted(
        queries.agent_kpis(ports, config.centre("north"), date(2026, 11, 2), SUNDAY).to_pylist(),
        key=lambda a: a["agent_id"],
    )
    report = build_document(
        ports, config, audience="team_leader", centre_ids=["north"], period="weekly", as_of=SUNDAY
    )
    table = report.sections[1].tables[0]
    assert [row[:3] for row in table.rows] == [
        (a["agent_id"], a["answered"], a["aht_seconds"]) for a in agents
    ]
    vendor = build_document(
        ports,
        config,
        audience="vendor",
        centre_ids=["south"],
        period="monthly",
        as_of=SUNDAY,
        queues=("sales",),
    )
    service = vendor.sections[0].tables[0]
    sales = next(
        r
        for r in queries.kpis(
            ports, config.centre("south"), "month", date(2026, 11, 1), SUNDAY, dimension="queue"
        ).to_pylist()
        if r["queue"] == "sales"
    )
    assert [row[:4] for row in service.rows] == [
        ("sales", sales["offered"], sales["answered"], sales["service_level"])
    ]


@pytest.mark.slow
def test_data_quality_scorecard(small_lake: SmallLake) -> None:
    dq = build_document(
        small_lake.ports(),
        small_lake.config,
        audience="data_quality",
        centre_ids=["north", "south"],
        period="daily",
        as_of=DAY,
    )
    uploads = dq.sections[1].tables[0]
    assert [(r[0], r[2], r[3]) for r in uploads.rows] == [
        ("north", "acd", "stored"),
        ("north", "agents", "stored"),
        ("south", "acd", "stored"),
        ("south", "agents", "stored"),
    ]
    # The shipped exports carry three deliberately bad rows per centre-day, one per rule (a fourth, a
    # negative talk time, is stored with a flag).
    assert dq.sections[2].tables[0].rows == (
        ("duplicate.contact_id_in_file", 1, 1),
        ("outcome.unknown_code", 1, 1),
        ("timestamp.invalid", 1, 1),
    )
    assert dq.sections[2].tables[1].title == "Rows stored with a flag, by rule"
    assert dq.sections[2].tables[1].rows == (("duration.negative", 1, 1),)
    tiles = {t.label: t.value for t in dq.sections[0].tiles}
    assert tiles["Uploads received"] == "4 of 4"
    assert tiles["Rows quarantined"] == "6"
    assert tiles["Test contacts"].endswith("passed")
    assert tiles["Reconciliation"].endswith("passed")


def _drop_upload(lake: SmallLake, centre: str, source: str, day: date) -> None:
    """Make an expected export missing: remove its ingest-log record (what the completeness check reads)."""
    logs = list((lake.home / "lake" / "curated" / "ingest_log").rglob("*.parquet"))
    ports = lake.ports()
    removed = 0
    for path in logs:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        # The business day is the dataset key's third segment (docs/adr/0014-upload-identity-and-replacement.md).
        if table.num_rows and table.column("dataset_key")[0].as_py().split("/")[:3] == [
            centre,
            source,
            str(day),
        ]:
            path.unlink()
            removed += 1
    assert removed == 1
    assert ports is not None


@pytest.mark.slow
def test_missing_upload_gives_operations_a_banner_and_holds_the_board(lake: SmallLake) -> None:
    _drop_upload(lake, "north", "agents", SUNDAY)
    ops = build_reports(
        lake.ports(),
        lake.config,
        lake.settings,
        period="daily",
        as_of=SUNDAY,
        audience="operations",
        centres=["north"],
    )
    assert ops[0].status == "sent"
    assert ops[0].gaps == ("north: agents export for 2026-11-08 — not received",)
    page = lake.ports().store.get("reports", "north/operations/daily/2026-11-08.html").decode()
    assert "Incomplete data" in page
    assert "north: agents export for 2026-11-08 — not received" in page
    board = build_reports(
        lake.ports(), lake.config, lake.settings, period="monthly", as_of=SUNDAY, audience="executive"
    )
    assert [(r.status, r.centre_id, r.email) for r in board] == [("held", "all", None)]
    assert board[0].keys == ("all/executive/monthly/2026-11-01.held.json",)
    record = json.loads(lake.ports().store.get("reports", board[0].keys[0]))
    assert record["gaps"] == [
        {
            "kind": "upload",
            "centre_id": "north",
            "what": "agents export for 2026-11-08",
            "detail": "not received",
        }
    ]
    assert not lake.ports().store.exists("reports", "all/executive/monthly/2026-11-01.html")
    assert [m["To"] for m in outbox(lake)] == ["ops-north@example.com"]
    assert [e["detail-type"] for e in events(lake) if str(e["detail-type"]).startswith("Report")] == [
        "ReportHeld"
    ]


@pytest.mark.slow
def test_failed_query_is_flagged_not_hidden(lake: SmallLake, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise QueryError("Athena query FAILED: HIVE_BAD_DATA")

    monkeypatch.setattr(queries, "staffing", broken)
    report = build_document(
        lake.ports(), lake.config, audience="operations", centre_ids=["north"], period="daily", as_of=DAY
    )
    assert [g.text for g in report.gaps] == ["north: staffing (Erlang) — Athena query FAILED: HIVE_BAD_DATA"]
    assert report.banners[0].level == "error"
    assert "Some figures could not be computed" in report.banners[0].text
    staffing = next(s for s in report.sections if s.title == "Staffing gap")
    assert (
        staffing.intro
        == "The staffing comparison could not be produced for this period (see the banner above)."
    )
    assert staffing.charts == ()


@pytest.mark.slow
def test_delivery_failure_leaves_the_report_stored(lake: SmallLake) -> None:
    class Refusing:
        def send(self, message: object) -> str:
            raise ConnectionRefusedError("SMTP relay 10.0.0.9:25 refused the connection")

    ports = lake.ports()
    ports.mailer = Refusing()
    results = build_reports(
        ports,
        lake.config,
        lake.settings,
        period="weekly",
        as_of=SUNDAY,
        audience="team_leader",
        centres=["south"],
    )
    assert [(r.status, r.email) for r in results] == [("failed", None)]
    assert "e-mail failed: SMTP relay 10.0.0.9:25 refused the connection" in results[0].message
    assert results[0].keys == (
        "south/team_leader/weekly/2026-11-02.html",
        "south/team_leader/weekly/2026-11-02.csv",
    )
    assert all(ports.store.exists("reports", key) for key in results[0].keys)
    failed = [e for e in events(lake) if e["detail-type"] == "ReportDeliveryFailed"]
    assert len(failed) == 1
    assert failed[0]["detail"]["keys"] == list(results[0].keys)


@pytest.mark.slow
def test_internal_reports_stay_inside_the_organisation(lake: SmallLake) -> None:
    config = replace(
        lake.config,
        stakeholders=(
            Stakeholder(
                "tl",
                "team_leader",
                ("north",),
                ("weekly",),
                ("html",),
                ("team@example.com", "coach@partner.example"),
            ),
        ),
    )
    results = build_reports(lake.ports(), config, lake.settings, period="weekly", as_of=SUNDAY)
    assert results[0].status == "sent"
    assert results[0].message.endswith("refused external coach@partner.example")
    assert [m["To"] for m in outbox(lake)] == ["team@example.com"]
    assert outbox(lake)[0]["Sensitivity"] == "Company-Confidential"


@pytest.mark.slow
def test_no_stakeholder_for_a_pair_builds_an_unaddressed_report(lake: SmallLake) -> None:
    results = build_reports(
        lake.ports(),
        lake.config,
        lake.settings,
        period="weekly",
        as_of=SUNDAY,
        audience="vendor",
        centres=["north"],
        deliver=False,
    )
    assert [(r.stakeholder, r.status, r.centre_id) for r in results] == [("ad-hoc", "stored", "north")]
    assert results[0].keys == tuple(
        f"north/vendor/weekly/2026-11-02.{ext}" for ext in ("html", "pdf", "xlsx")
    )
