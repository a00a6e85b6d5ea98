"""Vendors / external contractors (monthly; one centre, their queues only): service against the contracted
targets (the centre's service-level target and plan), queue by queue and day by day.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from contactlake.report import charts
from contactlake.report.audiences.common import (
    Context,
    Row,
    against,
    kpis,
    local_time,
    num,
    rows_of,
    sl_label,
    target_sl,
    unavailable,
)
from contactlake.report.model import Column, Report, Section, Status, Table, Tile, format_value
from contactlake.report.periods import GRAIN_OF_PERIOD

__all__ = ["vendor"]


def vendor(ctx: Context) -> Report:
    centre, window = ctx.centres[0], ctx.window
    grain = GRAIN_OF_PERIOD[window.period]
    wanted = set(ctx.queues)
    per_queue = [
        r
        for r in rows_of(kpis(ctx, centre, "queue KPIs", grain, window, dimension="queue"))
        if not wanted or r.get("queue") in wanted
    ]
    daily = [
        r
        for r in rows_of(kpis(ctx, centre, "daily queue KPIs", "day", window, dimension="queue"))
        if not wanted or r.get("queue") in wanted
    ]
    target, plan = target_sl(centre), centre.plan
    columns = (
        Column("queue", "Queue"),
        Column("offered", "Offered", "int"),
        Column("answered", "Answered", "int"),
        Column("service_level", "Service level", "pct"),
        Column("sl_target", "Contracted", "pct"),
        Column("asa_seconds", "ASA", "seconds"),
        Column("asa_target", "Contracted ASA", "seconds"),
        Column("abandon_rate", "Abandon rate", "pct"),
        Column("abandon_target", "Contracted abandon", "pct"),
        Column("days_met", "Days SL met"),
        Column("result", "Result"),
    )
    by_day: dict[str, list[Row]] = defaultdict(list)
    for row in daily:
        by_day[str(row.get("queue"))].append(row)
    body: list[tuple[Any, ...]] = []
    status: list[Status] = []
    tiles: list[Tile] = []
    for row in sorted(per_queue, key=lambda r: str(r.get("queue"))):
        queue = str(row.get("queue"))
        sl, asa, abandon = num(row, "service_level"), num(row, "asa_seconds"), num(row, "abandon_rate")
        misses = [
            name
            for name, ok in (
                ("service level", sl is None or sl >= target),
                ("ASA", asa is None or plan.asa_seconds is None or asa <= plan.asa_seconds),
                (
                    "abandon rate",
                    abandon is None or plan.abandon_rate is None or abandon <= plan.abandon_rate,
                ),
            )
            if not ok
        ]
        days = [d for d in by_day[queue] if d.get("offered")]
        met = sum(1 for d in days if (num(d, "service_level") or 0) >= target)
        body.append(
            (
                queue,
                row.get("offered"),
                row.get("answered"),
                sl,
                target,
                asa,
                plan.asa_seconds,
                abandon,
                plan.abandon_rate,
                f"{met} of {len(days)}",
                "missed: " + ", ".join(misses) if misses else "met",
            )
        )
        status.append("bad" if misses else "good")
        tiles.append(
            Tile(
                f"{queue}: service level",
                format_value(sl, "pct"),
                f"contracted {sl_label(centre)}",
                against(sl, target, True),
            )
        )
    table = Table(
        "service",
        "Service against contract",
        columns,
        tuple(body),
        "Contracted targets are the centre's service-level target and plan (configuration).",
        tuple(status),
    )
    chart = None
    if daily:
        days_sorted = sorted({t for r in daily if (t := local_time(r.get("period_start"))) is not None})
        series = []
        for queue in sorted(by_day):
            values = {local_time(r.get("period_start")): num(r, "service_level") for r in by_day[queue]}
            series.append((queue, [values.get(d) for d in days_sorted]))
        met_total = sum(1 for q in by_day for d in by_day[q] if (num(d, "service_level") or 0) >= target)
        alt = (
            f"Daily service level of {', '.join(sorted(by_day))} against the contracted {target:.0%}: "
            "the target "
            f"was met on {met_total} of {sum(len(v) for v in by_day.values())} queue-days."
        )
        chart = charts.line_chart(
            "vendor_daily_sl",
            "Daily service level against contract",
            alt,
            [f"{d:%d %b}" for d in days_sorted if d],
            series,
            target=target,
            percent=True,
            target_label="contracted",
        )
    missed = [b[0] for b, s in zip(body, status, strict=True) if s == "bad"]
    summary = (
        (
            f"{len(body)} queue(s) at {centre.name}: "
            + (
                f"contract missed on {', '.join(map(str, missed))}."
                if missed
                else "all contracted targets met."
            )
        )
        if body
        else "No contacts on the contracted queues."
    )
    sections = [
        Section(
            "Service against contract",
            tiles=tuple(tiles),
            tables=(table,),
            intro="" if per_queue else unavailable("Queue figures"),
        ),
        Section(
            "Day by day",
            charts=(chart,) if chart else (),
            intro="" if chart else unavailable("Daily figures"),
        ),
    ]
    return ctx.report("Vendor service report", summary, sections, "service")
