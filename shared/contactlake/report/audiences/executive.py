"""Executives (monthly, quarterly; all centres): KPIs against plan and budget, cost per contact, long-term
trends with significance tests, and three plain-language findings (:mod:`contactlake.report.findings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from contactlake.analyse.plan import cost_per_contact, plan_vs_actual
from contactlake.analyse.trends import trends as trend_report
from contactlake.config import CentreConfig
from contactlake.report import charts, findings
from contactlake.report.audiences.common import (
    Context,
    Row,
    kpis,
    local_time,
    num,
    rows_of,
    unavailable,
)
from contactlake.report.model import (
    Chart,
    Column,
    Format,
    Measured,
    Report,
    Section,
    Status,
    Table,
    Tile,
    format_value,
)

__all__ = ["executive"]


_PLAN_FORMATS: dict[str, Format] = {
    "offered_per_day": "int",
    "service_level": "pct",
    "abandon_rate": "pct",
    "asa_seconds": "seconds",
    "aht_seconds": "seconds",
    "cost_per_contact": "money",
    "staff_cost": "money",
}
_COST_COLUMNS = (
    Column("centre", "Centre"),
    Column("period_start", "Month", "date"),
    Column("answered", "Answered", "int"),
    Column("staffed_hours", "Staffed hours", "int"),
    Column("staff_cost", "Staff cost", "money"),
    Column("cost_per_contact", "Cost per contact", "money"),
    Column("budget_per_contact", "Budget", "money"),
    Column("variance_pct", "Against budget", "signed_pct"),
    Column("budget_variance", "Spend vs budget", "money"),
)
_HISTORY_WEEKS = 26


def executive(ctx: Context) -> Report:
    window = ctx.window
    tiles: list[Tile] = []
    plan_rows: list[tuple[Any, ...]] = []
    plan_status: list[Status] = []
    cost_rows: list[tuple[Any, ...]] = []
    trend_rows: list[tuple[Any, ...]] = []
    history: list[tuple[CentreConfig, list[Row]]] = []
    facts: list[findings.Fact | None] = []
    hist_start = window.end - timedelta(weeks=_HISTORY_WEEKS, days=-1)
    hist_start -= timedelta(days=hist_start.weekday())
    trend_method = ""
    for centre in ctx.centres:
        pva = rows_of(ctx.figures.get(centre, "plan vs actual", plan_vs_actual, window.start, window.end))
        cost = rows_of(
            ctx.figures.get(
                centre, "cost per contact", cost_per_contact, window.start, window.end, grain="month"
            )
        )
        trend = ctx.figures.get(centre, "trends", trend_report, hist_start, window.end)
        history.append(
            (centre, rows_of(kpis(ctx, centre, "weekly KPI history", "week", (hist_start, window.end))))
        )
        by_kpi = {str(r.get("kpi")): r for r in pva}
        for row in pva:
            kpi = str(row.get("kpi"))
            fmt = _PLAN_FORMATS.get(kpi, "decimal")
            verdict = row.get("on_target")
            plan_rows.append(
                (
                    centre.name,
                    findings.measure_name(kpi),
                    Measured(num(row, "actual"), fmt),
                    Measured(num(row, "target"), fmt),
                    num(row, "variance_pct"),
                    "on plan" if verdict else ("off plan" if verdict is False else "too few contacts"),
                )
            )
            plan_status.append("bad" if verdict is False else ("good" if verdict else "neutral"))
            facts.append(findings.from_plan(centre.name, row))
        for row in cost:
            cost_rows.append((centre.name, *(row.get(c.key) for c in _COST_COLUMNS[1:])))
        if trend is not None:
            facts += findings.trend_facts(centre.name, trend)
            for item in getattr(trend, "trends", ()):
                trend_rows.append(
                    (
                        centre.name,
                        findings.measure_name(item.measure),
                        item.direction,
                        item.p_value,
                        item.slope_per_week,
                        item.days,
                    )
                )
                trend_method = str(item.method)
        for kpi, label, _better in (
            ("service_level", "service level", True),
            ("abandon_rate", "abandon rate", False),
            ("cost_per_contact", "cost per contact", False),
        ):
            found = by_kpi.get(kpi)
            fmt = _PLAN_FORMATS[kpi]
            verdict = found.get("on_target") if found else None
            tiles.append(
                Tile(
                    f"{centre.name}: {label}",
                    format_value(num(found, "actual"), fmt),
                    f"plan {format_value(num(found, 'target'), fmt)}" if found else "",
                    "good" if verdict else ("bad" if verdict is False else "neutral"),
                )
            )
    chosen = findings.top_findings(facts, 3)
    plan_table = Table(
        "plan",
        "KPIs against plan and budget",
        (
            Column("centre", "Centre"),
            Column("kpi", "KPI"),
            Column("actual", "Actual"),
            Column("target", "Plan"),
            Column("variance_pct", "Variance", "signed_pct"),
            Column("status", "Verdict"),
        ),
        tuple(plan_rows),
        "Volume and AHT are planning assumptions: within ±10 % of plan counts as on plan. No verdict "
        "is given on fewer than 30 contacts.",
        tuple(plan_status),
    )
    cost_table = Table(
        "cost",
        "Cost per contact against budget",
        _COST_COLUMNS,
        tuple(cost_rows),
        "Staff cost = staffed (logged-in) hours × the centre's cost per agent hour; cost per contact "
        "= staff cost / answered contacts; the monthly budget is pro-rated by calendar day.",
    )
    trend_table = Table(
        "trends",
        "Trend tests (last 26 weeks)",
        findings.TREND_COLUMNS,
        tuple(trend_rows),
        f"A direction is claimed only when the test is significant (p < 0.05). Method: {trend_method}.",
    )
    chart = _history_chart(history)
    sections = [
        Section(
            "Three things to know",
            bullets=tuple(chosen),
            intro=""
            if chosen
            else "No finding stands out: every KPI with a plan is within it, and no trend or "
            "change is statistically significant.",
        ),
        Section(
            "Against plan and budget",
            tiles=tuple(tiles),
            tables=tuple(t for t in (plan_table, cost_table) if t.rows),
            intro="" if plan_rows else unavailable("The plan comparison"),
        ),
        Section(
            "Long-term trends",
            charts=(chart,) if chart else (),
            tables=(trend_table,) if trend_rows else (),
            intro=f"Weekly figures for up to {_HISTORY_WEEKS} weeks, as far back as the lake goes.",
        ),
    ]
    summary = chosen[0] if chosen else f"KPIs against plan for {ctx.scope.label}."
    return ctx.report(f"Executive {window.period} report", summary, sections, "plan")


def _history_chart(history: Sequence[tuple[CentreConfig, list[Row]]]) -> Chart | None:
    weeks = sorted(
        {w for _, rows in history for r in rows if (w := local_time(r.get("period_start"))) is not None}
    )
    if not weeks:
        return None
    series = []
    for centre, rows in history:
        values = {local_time(r.get("period_start")): num(r, "service_level") for r in rows}
        series.append((centre.name, [values.get(w) for w in weeks]))
    latest = ", ".join(
        f"{c.name} {format_value(v[-1], 'pct')}" for (c, _), (_, v) in zip(history, series, strict=True)
    )
    alt = (
        f"Weekly service level over {len(weeks)} week(s), from the week of {weeks[0]:%d %b %Y} "
        "to the week of "
        f"{weeks[-1]:%d %b %Y}; latest week: {latest}."
    )
    return charts.line_chart(
        "trend_sl", "Service level by week", alt, [f"{w:%d %b}" for w in weeks], series, percent=True
    )
