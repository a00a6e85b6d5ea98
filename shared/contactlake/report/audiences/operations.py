"""Operations manager (daily, weekly; one centre): headline KPIs against target, service level and abandonment
heatmaps by hour, the queue table, the staffing gap (Erlang C against staffed) and the hours that need
explaining.
"""

from __future__ import annotations

from typing import Any

from contactlake.analyse.presets import PRESET_LABELS, comparison_thresholds, service_level_presets
from contactlake.config import CentreConfig
from contactlake.report.audiences.common import (
    HEATMAP_MIN_OFFERED,
    Context,
    Row,
    heatmap_chart,
    kpi_tiles,
    kpis,
    local_time,
    num,
    queue_table,
    rows_of,
    single,
    sl_label,
    staffing_section,
    target_sl,
    unavailable,
)
from contactlake.report.model import Column, Report, Section, Table, format_value
from contactlake.report.periods import GRAIN_OF_PERIOD

__all__ = ["operations"]

_EXCEPTION_MIN_OFFERED = 10
_EXCEPTION_SL_MARGIN = 0.10


def operations(ctx: Context) -> Report:
    centre, window = ctx.centres[0], ctx.window
    grain, previous = GRAIN_OF_PERIOD[window.period], window.previous()
    what = {"daily": "previous day", "weekly": "previous week"}.get(
        window.period, f"previous {window.period}"
    )
    total = single(kpis(ctx, centre, "period KPIs", grain, window))
    before = single(kpis(ctx, centre, "previous-period KPIs", grain, previous))
    queues = rows_of(kpis(ctx, centre, "queue KPIs", grain, window, dimension="queue"))
    daily = window.period == "daily"
    hourly = rows_of(
        kpis(ctx, centre, "hourly KPIs", "60min", window, dimension="queue" if daily else "none")
    )
    target = target_sl(centre)
    abandon_plan = centre.plan.abandon_rate if centre.plan.abandon_rate is not None else 0.05

    def row_key(row: Row) -> tuple[Any, str]:
        start = local_time(row.get("period_start"))
        if daily or start is None:
            return str(row.get("queue")), str(row.get("queue"))
        return start.date(), f"{start:%a %d}"

    heat = [
        heatmap_chart(
            "sl_heatmap",
            "Service level by hour",
            hourly,
            row_key,
            "service_level",
            target,
            True,
            "service level",
        ),
        heatmap_chart(
            "abandon_heatmap",
            "Abandon rate by hour",
            hourly,
            row_key,
            "abandon_rate",
            abandon_plan,
            False,
            "abandon rate",
        ),
    ]
    sections = [
        Section(
            "Headline",
            tiles=kpi_tiles(centre, total, before, what) if total else (),
            intro="" if total else unavailable("The period's KPIs"),
        ),
        Section(
            "Service level and abandonment by hour",
            intro=(
                "Each cell is one hour" + (" of one queue" if daily else " of one day") + "; blue is better "
                "than target, red worse, and the number in the cell is the percentage. Hours with fewer than "
                f"{HEATMAP_MIN_OFFERED} contacts are left blank."
            )
            if any(heat)
            else unavailable("Interval figures"),
            charts=tuple(c for c in heat if c is not None),
        ),
        Section(
            "Queues",
            tables=(queue_table(centre, queues),) if queues else (),
            intro="" if queues else unavailable("Queue figures"),
        ),
        staffing_section(ctx, centre, "Staffing gap"),
        _exceptions_section(centre, hourly, daily),
        presets_section(ctx, centre),
    ]
    sl = num(total, "service_level")
    summary = (
        f"{centre.name}: {format_value(num(total, 'offered'), 'int')} contacts offered, service level "
        f"{format_value(sl, 'pct')} against {sl_label(centre)}, abandon rate "
        f"{format_value(num(total, 'abandon_rate'), 'pct')}."
        if total
        else f"{centre.name}: the period's KPIs are not available."
    )
    title = f"Operations {'daily' if daily else window.period} report"
    return ctx.report(title, summary, sections, "queues", (queue_table(centre, queues),))


def _exceptions_section(centre: CentreConfig, hourly: list[Row], daily: bool) -> Section:
    target = target_sl(centre)
    plan_abandon = centre.plan.abandon_rate
    found = []
    for row in hourly:
        offered = row.get("offered") or 0
        sl, abandon = num(row, "service_level"), num(row, "abandon_rate")
        if offered < _EXCEPTION_MIN_OFFERED:
            continue
        reasons = []
        if sl is not None and sl < target - _EXCEPTION_SL_MARGIN:
            reasons.append(
                f"service level {format_value(sl, 'pct')}, more than "
                f"{_EXCEPTION_SL_MARGIN * 100:.0f} points under target"
            )
        if abandon is not None and plan_abandon is not None and abandon > 2 * plan_abandon:
            reasons.append(f"abandon rate {format_value(abandon, 'pct')}, over twice the plan")
        if reasons:
            found.append((row, "; ".join(reasons)))
    found.sort(key=lambda item: num(item[0], "service_level") or 0.0)
    columns = (
        Column("period_start", "Hour", "datetime"),
        *((Column("queue", "Queue"),) if daily else ()),
        Column("offered", "Offered", "int"),
        Column("service_level", "Service level", "pct"),
        Column("abandon_rate", "Abandon rate", "pct"),
        Column("longest_wait_seconds", "Longest wait", "seconds"),
        Column("reason", "Why it is listed"),
    )
    body = tuple(
        (
            local_time(r.get("period_start")),
            *((r.get("queue"),) if daily else ()),
            r.get("offered"),
            r.get("service_level"),
            r.get("abandon_rate"),
            r.get("longest_wait_seconds"),
            reason,
        )
        for r, reason in found[:15]
    )
    intro = (
        f"Hours with at least {_EXCEPTION_MIN_OFFERED} contacts offered whose service level was more than "
        f"{_EXCEPTION_SL_MARGIN * 100:.0f} points under target, or whose abandon rate was over twice the "
        "plan."
    )
    if not hourly:
        return Section("Exceptions", intro=unavailable("The exception list"))
    if not found:
        return Section("Exceptions", intro=intro + " None this period.")
    table = Table(
        "exceptions", f"{len(found)} exception(s)", columns, body, row_status=tuple("bad" for _ in body)
    )
    return Section("Exceptions", intro=intro, tables=(table,))


def presets_section(ctx: Context, centre: CentreConfig) -> Section:
    """The period's service level under every definition the centre may be compared on, at each
    threshold it may be compared on, side by side."""
    title = "Service level under each definition"
    window = ctx.window
    thresholds = comparison_thresholds(ctx.config, centre)
    rows = rows_of(
        ctx.figures.get(
            centre, "service-level presets", service_level_presets, window.start, window.end,
            thresholds=thresholds,
        )
    )  # fmt: skip
    if not rows:
        return Section(title, intro=unavailable("The service-level comparison"))
    variants = list(dict.fromkeys(str(r["variant"]) for r in rows))
    by_row: dict[tuple[str, int], dict[str, float | None]] = {}
    for row in rows:
        key = (str(row["queue"]), int(row["threshold_seconds"]))
        by_row.setdefault(key, {})[str(row["variant"])] = num(row, "service_level")
    columns = (
        Column("queue", "Queue"),
        Column("threshold_seconds", "Answered within (s)", "int"),
        *(Column(f"sl_{v}", PRESET_LABELS.get(v, v).split(" (")[0].capitalize(), "pct") for v in variants),
    )
    own = centre.service_level.threshold_seconds
    order = sorted(by_row, key=lambda k: (k[0] == "all", k[0], k[1]))
    body = tuple(
        ("all queues" if q == "all" else q, t, *(by_row[(q, t)].get(v) for v in variants)) for q, t in order
    )
    ours = PRESET_LABELS.get(centre.service_level.variant, centre.service_level.variant)
    note = (
        f"Answered within {', '.join(str(t) for t in thresholds)} s (the thresholds this centre may be "
        "compared on: its own, the industry's 20 s and the other centres'), with abandons treated four "
        "ways: "
        + "; ".join(PRESET_LABELS.get(v, v) for v in variants)
        + f". This centre reports by '{ours}' at {own} s. Two systems that disagree on service level "
        "usually differ here."
    )
    table = Table(
        "sl_presets",
        "Service level by definition and threshold",
        columns,
        body,
        note,
        row_status=tuple("good" if t == own else "neutral" for _q, t in order),
    )
    return Section(title, tables=(table,))
