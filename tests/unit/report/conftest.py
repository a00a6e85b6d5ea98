"""A small hand-made report document, so renderers are tested without a lake."""

from __future__ import annotations

import base64
from datetime import date, datetime

import pytest

from contactlake.report.model import Banner, Chart, Column, Measured, Report, Scope, Section, Table, Tile
from contactlake.report.periods import window_for

#: A valid 2x1 PNG (one blue, one white pixel).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAEUlEQVR4nGNgYGBg+M/AwMAAAAkAAf+3AjEAAAAASUVORK5CYII="
)
HOSTILE = "<script>alert('x')</script>"


def make_report(*, internal: bool = False) -> Report:
    queues = Table(
        "queues",
        "Queues",
        (
            Column("queue", "Queue"),
            Column("offered", "Offered", "int"),
            Column("service_level", "Service level", "pct"),
            Column("asa", "ASA", "seconds"),
        ),
        (
            ("billing", 1227, 0.9405, 2.8),
            ('=HYPERLINK("http://evil.example","x")', 3, None, -4.0),
            (HOSTILE, 0, 0.5, 700.0),
            ("+44 sales", 12, 1.0, 0.0),
        ),
        note="Target 80% in 20 s.",
        row_status=("neutral", "bad", "neutral", "neutral"),
    )
    plan = Table(
        "plan",
        "Against plan",
        (Column("kpi", "KPI"), Column("actual", "Actual"), Column("day", "Day", "date")),
        (
            ("cost per contact", Measured(4.2, "money"), date(2026, 11, 9)),
            ("service level", Measured(0.912, "pct"), None),
        ),
    )
    detail = Table(
        "detail", "All checks", (Column("check", "Check"),), (("@SUM(A1)",), ("-1+2",)), attachment_only=True
    )
    sections = (
        Section("Headline", tiles=(Tile("Service level", "94.1%", "target 80% in 20 s", "good"),)),
        Section("Findings", bullets=("North missed its abandon rate target: 6.1% against 5.0%.",)),
        Section(
            "Queues",
            intro="Every queue.",
            charts=(
                Chart("sl_heatmap", "Service level by hour", "Lowest service level: 61% at 08:00.", PNG),
            ),
            tables=(queues, plan, detail),
        ),
    )
    return Report(
        audience="team_leader" if internal else "operations",
        title="Operations daily report",
        scope=Scope(("north",), ("North (Leeds)",)),
        window=window_for("daily", date(2026, 11, 9)),
        summary="North (Leeds): 1,227 contacts offered.",
        sections=sections,
        generated_at=datetime(2026, 11, 10, 6, 30),
        banners=(
            Banner(
                "error", "1 expected upload(s) missing: north: agents export for 2026-11-09 — not received."
            ),
        ),
        internal_only=internal,
        primary_table="queues",
    )


@pytest.fixture
def report() -> Report:
    return make_report()
