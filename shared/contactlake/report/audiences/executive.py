"""Executives (monthly, quarterly; all centres): KPIs against plan and budget, cost per contact, long-term
trends with significance tests, and three plain-language findings (:mod:`contactlake.report.findings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from contactlake.analyse.plan import Coverage, cost_per_contact, coverage, plan_vs_actual
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
    target_sl,
    unavailable,
)
from contactlake.report.model import (
    Banner,
    Chart,
    Column,
    Format,
    Gap,
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
#: Fewer weekly points than this make no trend line: the weeks are shown as a table instead.
_MIN_TREND_POINTS = 4
_UNITS: dict[str, str] = {"int": "contacts/day", "pct": "%", "seconds": "seconds"}


def _span(days: Sequence[date]) -> str:
    """'2–15 Nov 2026 (14 days)'; consecutive runs joined, so gaps show: '2–5, 9–15 Nov 2026 (11 days)'."""
    if not days:
        return "no days"
    runs: list[list[date]] = []
    for day in days:
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        first, last = run[0], run[-1]
        start = f"{first.day}" if first.month == last.month and len(run) > 1 else f"{first.day} {first:%b}"
        parts.append(start + (f"–{last.day} {last:%b}" if len(run) > 1 else ""))
    return f"{', '.join(parts)} {days[-1].year} ({len(days)} day{'s' if len(days) != 1 else ''})"


def _coverage_notes(ctx: Context, centre: CentreConfig, covered: Coverage | None) -> list[Banner]:
    """Say which days the figures cover; a cost that covers other days than the contacts is a gap (held)."""
    if covered is None or not covered.contact_days:
        return []
    notes = []
    missing = covered.missing(covered.contact_days)
    if missing:
        notes.append(
            Banner(
                "warning",
                f"{centre.name}: the figures cover {_span(covered.contact_days)} of the period's "
                f"{covered.calendar_days} days; no data for {_span(missing)}. Plans and budgets are "
                "pro-rated to the covered days, so actual and plan compare the same days.",
            )
        )
    if not covered.equal_spans:
        ctx.figures.gaps.append(
            Gap(
                "coverage",
                centre.centre_id,
                "agent-state data",
                f"staff cost covers {_span(covered.staffed_days)} but contacts cover "
                f"{_span(covered.contact_days)}: cost per contact would compare unequal spans",
            )
        )
    return notes


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
    banners: list[Banner] = []
    for centre in ctx.centres:
        covered = ctx.figures.get(centre, "days covered", coverage, window.start, window.end)
        banners += _coverage_notes(ctx, centre, covered)
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
        own = ctx.centre_style(centre)  # this centre's money in its own currency, never another's
        for row in pva:
            kpi = str(row.get("kpi"))
            fmt = _PLAN_FORMATS.get(kpi, "decimal")
            currency = centre.currency if fmt == "money" else None
            verdict = row.get("on_target")
            plan_rows.append(
                (
                    centre.name,
                    findings.measure_name(kpi),
                    Measured(num(row, "actual"), fmt, currency),
                    Measured(num(row, "target"), fmt, currency),
                    currency or _UNITS.get(fmt, ""),
                    num(row, "variance_pct"),
                    "on plan"
                    if verdict
                    else (
                        "off plan"
                        if verdict is False
                        else ("no data" if row.get("actual") is None else "too few contacts")
                    ),
                    row.get("first_day"),
                    row.get("last_day"),
                    row.get("days_covered"),
                )
            )
            plan_status.append("bad" if verdict is False else ("good" if verdict else "neutral"))
            facts.append(findings.from_plan(centre.name, row, own))
        for row in cost:
            values = (
                ctx.money(centre, row.get(c.key)) if c.fmt == "money" else row.get(c.key)
                for c in _COST_COLUMNS[1:]
            )
            cost_rows.append((centre.name, *((centre.currency,) if ctx.mixed_currencies else ()), *values))
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
                    format_value(num(found, "actual"), fmt, own),
                    f"plan {format_value(num(found, 'target'), fmt, own)}" if found else "",
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
            Column("unit", "Unit"),
            Column("variance_pct", "Variance", "signed_pct"),
            Column("status", "Verdict"),
            Column("first_day", "From", "date"),
            Column("last_day", "To", "date"),
            Column("days_covered", "Days", "int"),
        ),
        tuple(plan_rows),
        "Volume and AHT are planning assumptions: within ±10 % of plan counts as on plan. No verdict "
        "is given on fewer than 30 contacts. From / To / Days: the days the actual covers (contacts, or "
        "agent-state data for costs); plans and budgets are pro-rated to those days.",
        tuple(plan_status),
    )
    cost_table = Table(
        "cost",
        "Cost per contact against budget",
        (_COST_COLUMNS[0], Column("currency", "Currency"), *_COST_COLUMNS[1:])
        if ctx.mixed_currencies
        else _COST_COLUMNS,
        tuple(cost_rows),
        "Staff cost = staffed (logged-in) hours × the centre's cost per agent hour; cost per contact "
        "= staff cost / answered contacts; the monthly budget is pro-rated to the days with agent-state "
        "data (the days the staff cost covers)."
        + (
            " The centres keep their books in different currencies: each centre's money is in its own "
            "currency, never converted or added across centres."
            if ctx.mixed_currencies
            else ""
        ),
    )
    trend_table = Table(
        "trends",
        "Trend tests (last 26 weeks)",
        findings.TREND_COLUMNS,
        tuple(trend_rows),
        f"A direction is claimed only when the test is significant (p < 0.05). Method: {trend_method}.",
    )
    chart, weekly_table, history_note = _history(history)
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
            tables=(plan_table, *((cost_table,) if cost_table.rows else ())) if plan_rows else (),
            intro="" if plan_rows else unavailable("The plan comparison"),
        ),
        Section(
            "Long-term trends",
            charts=(chart,) if chart else (),
            tables=tuple(t for t in (weekly_table, trend_table if trend_rows else None) if t is not None),
            intro=history_note,
        ),
    ]
    summary = chosen[0] if chosen else f"KPIs against plan for {ctx.scope.label}."
    report = ctx.report(f"Executive {window.period} report", summary, sections, "plan", (plan_table,))
    return replace(report, banners=(*report.banners, *banners))


def _history(history: Sequence[tuple[CentreConfig, list[Row]]]) -> tuple[Chart | None, Table | None, str]:
    """The weekly service-level trend: a chart with the target line when there are enough weeks for a
    line to mean something, else the weeks as a table; and the sentence that says which and how many."""
    weeks = sorted(
        {w for _, rows in history for r in rows if (w := local_time(r.get("period_start"))) is not None}
    )
    if not weeks:
        return None, None, "No weekly figures yet."
    series = []
    for centre, rows in history:
        values = {local_time(r.get("period_start")): num(r, "service_level") for r in rows}
        series.append((centre.name, [values.get(w) for w in weeks]))
    said = (
        f"Weekly service level for the {len(weeks)} week{'s' if len(weeks) != 1 else ''} the lake holds "
        f"(up to {_HISTORY_WEEKS}), from the week of {weeks[0]:%d %b %Y}"
    )
    if len(weeks) < _MIN_TREND_POINTS:
        table = Table(
            "weekly_sl",
            "Service level by week",
            (
                Column("week", "Week of", "date"),
                *(Column(f"sl_{n}", name, "pct") for n, (name, _) in enumerate(series)),
            ),
            tuple((w.date(), *(values[i] for _, values in series)) for i, w in enumerate(weeks)),
        )
        return None, table, f"{said}: too few for a trend line (at least {_MIN_TREND_POINTS}), so a table."
    targets = {target_sl(centre) for centre, _ in history}
    target = targets.pop() if len(targets) == 1 else None
    latest = ", ".join(
        f"{c.name} {format_value(v[-1], 'pct')}" for (c, _), (_, v) in zip(history, series, strict=True)
    )
    alt = f"{said} to the week of {weeks[-1]:%d %b %Y}; latest week: {latest}." + (
        f" Dashed line: the {format_value(target, 'pct')} target." if target is not None else ""
    )
    chart = charts.time_chart(
        "trend_sl",
        "Service level by week",
        alt,
        weeks,
        series,
        target=target,
        percent=True,
        daily=False,
        interval=timedelta(weeks=1),
    )
    return chart, None, f"{said}."
