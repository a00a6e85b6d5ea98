"""Reports on partial periods and missing data, on the real small lake (2-9 Nov 2026), issue 16:
plans pro-rated to the days covered and the days said; no-data periods export a header; staffing without
agent-state data is said, never shown as 0 staffed."""

from __future__ import annotations

import csv
import io
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from contactlake.analyse import queries
from contactlake.report import build_reports
from contactlake.report.build import build_document, generate_report
from tests.functional.report.lake import SmallLake

pytestmark = pytest.mark.slow


def test_executive_quarter_to_date_compares_the_covered_days_and_says_which(lake: SmallLake) -> None:
    report = build_document(
        lake.ports(), lake.config, audience="executive", centre_ids=("north", "south"),
        period="quarterly", as_of=date(2026, 11, 9),
    )  # fmt: skip
    assert report.window.label == "Q4 2026 to date (1 Oct – 9 Nov)"
    texts = [b.text for b in report.banners]
    north = next(t for t in texts if t.startswith("North (Leeds): the figures cover"))
    assert "2–9 Nov 2026 (8 days) of the period's 40 days" in north
    assert "no data for 1 Oct–1 Nov 2026 (32 days)" in north
    plan = next(t for t in report.tables if t.name == "plan")
    rows = {(r[0], r[1]): r for r in plan.rows}
    staff_cost = rows[("North (Leeds)", "staff cost")]
    # The budget is pro-rated to the 8 covered November days, not spread over the 40 calendar days.
    assert staff_cost[3].value == pytest.approx(150_000 * 8 / 30)  # type: ignore[union-attr]
    assert staff_cost[7:] == (date(2026, 11, 2), date(2026, 11, 9), 8)
    assert not report.gaps, "equal spans: sent, with the coverage said"


def test_executive_is_held_when_cost_and_contacts_cover_different_days(
    lake: SmallLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contactlake.analyse import plan

    real = plan.workforce

    def without_agents_on_the_3rd(*args: object, **kwargs: object) -> pa.Table:
        table = real(*args, **kwargs)  # type: ignore[arg-type]
        if kwargs.get("grain", args[4] if len(args) > 4 else "day") != "day":
            return table
        third = pc.equal(table["period_start"], pa.scalar(date(2026, 11, 3)))
        hours = pc.if_else(third, 0.0, table["staffed_hours"])
        return table.set_column(table.schema.get_field_index("staffed_hours"), "staffed_hours", hours)

    monkeypatch.setattr(plan, "workforce", without_agents_on_the_3rd)
    results = build_reports(
        lake.ports(), lake.config, lake.settings, period="monthly", as_of=date(2026, 11, 9),
        audience="executive",
    )  # fmt: skip
    assert [r.status for r in results] == ["held"]
    assert "cost per contact would compare unequal spans" in results[0].message


def test_a_day_without_data_exports_a_header_for_csv_stakeholders(lake: SmallLake) -> None:
    empty_day = date(2026, 11, 20)
    results = build_reports(
        lake.ports(), lake.config, lake.settings, period="daily", as_of=empty_day, audience="operations"
    )
    north = next(r for r in results if r.centre_id == "north")
    assert north.status == "sent", north.message
    data = lake.ports().store.get("reports", "north/operations/daily/2026-11-20.csv").decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(data))) == [
        [
            "queue", "offered", "answered", "abandoned", "service_level_pct", "asa_seconds", "aht_seconds",
            "abandon_rate_pct", "transfer_rate_pct", "against_target",
        ]
    ]  # fmt: skip
    on_demand = generate_report(  # what POST /reports runs
        lake.ports(), lake.config, lake.settings, audience="data_quality", period="daily", as_of=empty_day,
        centre_ids=("north", "south"),
    )  # fmt: skip
    assert on_demand.status == "stored", on_demand.message


def test_staffing_without_agent_state_data_says_so(lake: SmallLake, monkeypatch: pytest.MonkeyPatch) -> None:
    real = queries.staffing

    def no_agents(*args: object, **kwargs: object) -> pa.Table:
        table = real(*args, **kwargs)  # type: ignore[arg-type]
        for name in ("staffed_agents", "agents_logged_in", "gap"):
            index = table.schema.get_field_index(name)
            zeros = pa.array([0] * table.num_rows, table.schema.field(name).type)
            table = table.set_column(index, name, zeros)
        return table

    monkeypatch.setattr(queries, "staffing", no_agents)
    report = build_document(
        lake.ports(), lake.config, audience="operations", centre_ids=("south",), period="daily",
        as_of=date(2026, 11, 9),
    )  # fmt: skip
    section = next(s for s in report.sections if s.title == "Staffing gap")
    assert "No agent-state data was received for South (Bristol)" in section.intro
    assert "staffed below" not in section.intro
    assert not section.tables
    assert "Agents staffed are not shown" in section.charts[0].alt
