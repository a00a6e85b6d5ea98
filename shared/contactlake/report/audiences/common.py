"""What every audience's builder shares: the build context, number helpers, KPI tiles, the queue table,
heatmaps and the staffing comparison (operations and workforce both show it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pyarrow as pa

from contactlake.analyse import queries
from contactlake.analyse.staffing import erlang_a_excess
from contactlake.config import AppConfig, CentreConfig
from contactlake.ports import Ports
from contactlake.report import charts
from contactlake.report.figures import Figures, UploadStatus
from contactlake.report.model import (
    Chart,
    Column,
    Format,
    Measured,
    NumberStyle,
    Report,
    Scope,
    Section,
    Status,
    Table,
    Tile,
    format_value,
)
from contactlake.report.periods import Window

__all__ = [
    "HEATMAP_MIN_OFFERED",
    "KPI_COLUMNS",
    "Context",
    "Row",
    "against",
    "change",
    "has_agent_data",
    "heatmap_chart",
    "interval_grid",
    "kpi_tiles",
    "kpis",
    "local_time",
    "num",
    "plan_targets",
    "queue_table",
    "rows_of",
    "single",
    "sl_label",
    "staffing_section",
    "target_sl",
    "unavailable",
    "verdict",
]

Row = dict[str, Any]
#: Heatmap cells (hours) with fewer contacts than this stay blank: one call is not a rate.
HEATMAP_MIN_OFFERED = 5


@dataclass(frozen=True)
class Context:
    """Everything a builder needs for one report."""

    ports: Ports
    config: AppConfig
    audience: str
    centres: tuple[CentreConfig, ...]
    queues: tuple[str, ...]
    window: Window
    figures: Figures
    uploads: dict[str, UploadStatus | None]
    generated_at: datetime
    scope: Scope

    @property
    def style(self) -> NumberStyle:
        """Numbers as the (first) centre writes them (its locale), money in the centres' currency; no
        report currency when the centres' differ (each money cell then carries its own: :meth:`money`)."""
        first = self.centres[0] if self.centres else None
        if first is None:
            return NumberStyle()
        return NumberStyle(first.currency if not self.mixed_currencies else "", first.locale)

    @property
    def mixed_currencies(self) -> bool:
        return len({c.currency for c in self.centres}) > 1

    def money(self, centre: CentreConfig, value: float | None) -> Measured:
        """A centre's money in its own currency (a report over several currencies never converts)."""
        return Measured(value, "money", centre.currency)

    @staticmethod
    def centre_style(centre: CentreConfig) -> NumberStyle:
        return NumberStyle(centre.currency, centre.locale)

    def report(
        self,
        title: str,
        summary: str,
        sections: Iterable[Section],
        primary: str | None,
        exports: Sequence[Table] = (),
    ) -> Report:
        """The report; ``exports`` are tables for the CSV/XLSX only (the primary table even when empty)."""
        return Report(
            audience=self.audience,
            title=title,
            scope=self.scope,
            window=self.window,
            summary=summary,
            sections=tuple(sections),
            generated_at=self.generated_at,
            primary_table=primary,
            export_tables=tuple(exports),
            style=self.style,
        )


def rows_of(table: pa.Table | None) -> list[Row]:
    return table.to_pylist() if table is not None else []


def num(row: Row | None, key: str) -> float | None:
    if row is None:
        return None
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def target_sl(centre: CentreConfig) -> float:
    return centre.plan.service_level if centre.plan.service_level is not None else centre.service_level.target


def sl_label(centre: CentreConfig) -> str:
    return f"{target_sl(centre) * 100:.0f}% in {centre.service_level.threshold_seconds} s"


def change(current: float | None, previous: float | None, fmt: str, what: str) -> str:
    """'▲ 2.1 pts vs last week' — arrows and words, never colour alone."""
    if current is None or previous is None:
        return ""
    delta = current - previous
    arrow = "▲" if delta > 0 else ("▼" if delta < 0 else "=")
    if fmt == "pct":
        text = f"{abs(delta) * 100:.1f} pts"
    elif fmt == "seconds":
        text = f"{abs(delta):.0f} s"
    else:
        text = f"{abs(delta) / previous * 100:.1f}%" if previous else f"{abs(delta):,.0f}"
    return f"{arrow} {text} vs {what}"


def against(value: float | None, target: float | None, higher_is_better: bool) -> Status:
    if value is None or target is None:
        return "neutral"
    good = value >= target if higher_is_better else value <= target
    return "good" if good else "bad"


def kpi_tiles(centre: CentreConfig, row: Row | None, previous: Row | None, what: str) -> tuple[Tile, ...]:
    plan = centre.plan
    sl, sl_prev = num(row, "service_level"), num(previous, "service_level")
    abandon, asa, aht = num(row, "abandon_rate"), num(row, "asa_seconds"), num(row, "aht_seconds")
    tiles = [
        Tile(
            "Offered",
            format_value(num(row, "offered"), "int"),
            change(num(row, "offered"), num(previous, "offered"), "int", what),
        ),
        Tile(
            "Answered",
            format_value(num(row, "answered"), "int"),
            change(num(row, "answered"), num(previous, "answered"), "int", what),
        ),
        Tile(
            "Service level",
            format_value(sl, "pct"),
            f"target {sl_label(centre)}"
            + (f" · {change(sl, sl_prev, 'pct', what)}" if sl_prev is not None else ""),
            against(sl, target_sl(centre), True),
        ),
        Tile(
            "Abandon rate",
            format_value(abandon, "pct"),
            f"plan {format_value(plan.abandon_rate, 'pct')}" if plan.abandon_rate is not None else "",
            against(abandon, plan.abandon_rate, False),
        ),
        Tile(
            "Average speed of answer",
            format_value(asa, "seconds"),
            f"plan {format_value(plan.asa_seconds, 'seconds')}" if plan.asa_seconds is not None else "",
            against(asa, plan.asa_seconds, False),
        ),
        Tile(
            "Average handle time",
            format_value(aht, "seconds"),
            f"plan {format_value(plan.aht_seconds, 'seconds')}" if plan.aht_seconds is not None else "",
            against(aht, plan.aht_seconds, False),
        ),
    ]
    return tuple(tiles)


def unavailable(what: str) -> str:
    return f"{what} could not be produced for this period (see the banner above)."


def local_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time())
    return None


def kpis(
    ctx: Context,
    centre: CentreConfig,
    what: str,
    grain: str,
    window: Window | tuple[date, date],
    dimension: str = "none",
    queue: str | None = None,
) -> pa.Table | None:
    start, end = (window.start, window.end) if isinstance(window, Window) else window
    kwargs: dict[str, Any] = {"dimension": dimension}
    if queue is not None:
        kwargs["queue"] = queue
    table: pa.Table | None = ctx.figures.get(centre, what, queries.kpis, grain, start, end, **kwargs)
    return table


def single(table: pa.Table | None) -> Row | None:
    """The one row a period-grain query returns; None if there is none (or several: KPIs are never summed)."""
    rows = rows_of(table)
    return rows[0] if len(rows) == 1 else None


KPI_COLUMNS = (
    Column("offered", "Offered", "int"),
    Column("answered", "Answered", "int"),
    Column("abandoned", "Abandoned", "int"),
    Column("service_level", "Service level", "pct"),
    Column("asa_seconds", "ASA", "seconds"),
    Column("aht_seconds", "AHT", "seconds"),
    Column("abandon_rate", "Abandon rate", "pct"),
    Column("transfer_rate", "Transfer rate", "pct"),
)


def plan_targets(centre: CentreConfig) -> list[tuple[str, str, float, bool]]:
    """Every KPI a queue is judged on: (key, name, target, higher is better), service level first."""
    plan = centre.plan
    found = [("service_level", "service level", target_sl(centre), True)]
    for key, label, value in (
        ("abandon_rate", "abandon rate", plan.abandon_rate),
        ("asa_seconds", "ASA", plan.asa_seconds),
    ):
        if value is not None:
            found.append((key, label, value, False))
    return found


def verdict(centre: CentreConfig, row: Row) -> tuple[str, Status]:
    """'met' only when every KPI with a plan is within it; otherwise each miss is named with its figures."""
    misses, judged = [], 0
    for key, label, target, higher in plan_targets(centre):
        value = num(row, key)
        if value is None:
            continue
        judged += 1
        if against(value, target, higher) == "bad":
            fmt: Format = "seconds" if key == "asa_seconds" else "pct"
            misses.append(f"{label} {format_value(value, fmt)} vs {format_value(target, fmt)}")
    if misses:
        return "missed: " + "; ".join(misses), "bad"
    return ("met" if judged else "–"), "neutral"


def queue_table(centre: CentreConfig, rows: list[Row], name: str = "queues") -> Table:
    columns = (Column("queue", "Queue"), *KPI_COLUMNS, Column("against_target", "Against target"))
    body: list[tuple[Any, ...]] = []
    status: list[Status] = []
    for row in sorted((r for r in rows if r.get("offered")), key=lambda r: -(r.get("offered") or 0)):
        text, mark = verdict(centre, row)
        body.append((row.get("queue"), *(row.get(c.key) for c in KPI_COLUMNS), text))
        status.append(mark)
    judged = ", ".join(
        f"{label} {format_value(target, 'seconds' if key == 'asa_seconds' else 'pct')}"
        + (" or better" if higher else " or less")
        for key, label, target, higher in plan_targets(centre)
    )
    return Table(
        name,
        "Queues",
        columns,
        tuple(body),
        f"Service-level target {sl_label(centre)}. 'met' means every planned KPI is within plan ({judged}).",
        tuple(status),
    )


def heatmap_chart(
    name: str,
    title: str,
    rows: list[Row],
    row_key: Callable[[Row], tuple[Any, str]],
    measure: str,
    centre_value: float,
    higher_is_better: bool,
    what: str,
) -> Chart | None:
    """Hour-by-row grid; hours with fewer than HEATMAP_MIN_OFFERED contacts stay grey."""
    cells: dict[tuple[Any, int], float | None] = {}
    names: dict[Any, str] = {}
    for row in rows:
        start = local_time(row.get("period_start"))
        if start is None or (row.get("offered") or 0) < HEATMAP_MIN_OFFERED:
            continue
        order, label = row_key(row)
        names[order] = label
        cells[(order, start.hour)] = num(row, measure)
    known = {k: v for k, v in cells.items() if v is not None}
    if not known:
        return None
    orders = sorted(names)
    hours = list(range(min(h for _, h in cells), max(h for _, h in cells) + 1))
    values = [[cells.get((order, hour)) for hour in hours] for order in orders]
    (worst_row, worst_hour), worst = min(known.items(), key=lambda kv: kv[1] if higher_is_better else -kv[1])
    alt = (
        f"{title}: {len(orders)} rows by hour, {hours[0]:02d}:00 to {hours[-1]:02d}:59; hours with "
        "fewer than "
        f"{HEATMAP_MIN_OFFERED} contacts are blank. {'Lowest' if higher_is_better else 'Highest'} {what}: "
        f"{format_value(worst, 'pct')} for {names[worst_row]} at {worst_hour:02d}:00, against "
        f"{format_value(centre_value, 'pct')}."
    )
    return charts.heatmap(
        name,
        title,
        alt,
        values,
        [names[o] for o in orders],
        [f"{h:02d}" for h in hours],
        centre=centre_value,
        higher_is_better=higher_is_better,
    )


def staffing_section(ctx: Context, centre: CentreConfig, title: str) -> Section:
    window = ctx.window
    rows = rows_of(ctx.figures.get(centre, "staffing (Erlang)", queries.staffing, window.start, window.end))
    rows = [r for r in rows if local_time(r.get("interval_start")) is not None]
    if not rows:
        return Section(title, intro=unavailable("The staffing comparison"))
    if not has_agent_data(rows):
        return _requirement_only(centre, title, rows, window.period == "daily")
    starts = [local_time(r["interval_start"]) for r in rows]
    daily = window.period == "daily"
    short = [r for r in rows if (num(r, "gap") or 0.0) < 0]
    worst = sorted(short, key=lambda r: num(r, "gap") or 0.0)[:8]
    where = (
        f"; the largest shortfall was at {local_time(worst[0]['interval_start']):%a %d %b %H:%M}"
        if worst
        else ""
    )
    alt = (
        "Agents required by Erlang C against agents staffed, per 15-minute interval: "
        f"{len(short)} of {len(rows)} "
        f"intervals had fewer agents on duty than required{where}."
    )
    chart = charts.time_chart(
        "staffing",
        "Agents required (Erlang C) and staffed, per 15 minutes",
        alt,
        [t for t in starts if t is not None],
        [
            ("required", [num(r, "required_erlang_c") for r in rows]),
            ("staffed", [num(r, "staffed_agents") for r in rows]),
        ],
        step=True,
        daily=daily,
    )
    table = Table(
        "staffing_gaps",
        "Largest shortfalls",
        (
            Column("interval_start", "Interval", "datetime"),
            Column("offered", "Offered", "int"),
            Column("aht_seconds", "AHT", "seconds"),
            Column("required_erlang_c", "Required (Erlang C)", "int"),
            Column("required_erlang_a", "Required (Erlang A)", "int"),
            Column("staffed_agents", "Staffed", "decimal"),
            Column("gap", "Gap", "decimal"),
        ),
        tuple(
            (
                local_time(r["interval_start"]),
                r.get("offered"),
                r.get("aht_seconds"),
                r.get("required_erlang_c"),
                r.get("required_erlang_a"),
                r.get("staffed_agents"),
                r.get("gap"),
            )
            for r in worst
        ),
        "Required: agents on the phones to meet the service-level target at the interval's arrivals and "
        "handle time (Erlang C; Erlang A allows for abandonment), occupancy capped at "
        f"{centre.max_occupancy:.0%}. Staffed: "
        "agents logged in and not on break or training. Gap = staffed − required (Erlang C).",
    )
    intro = f"{len(short)} of {len(rows)} intervals were staffed below the Erlang C requirement."
    intro += erlang_note(centre, rows)
    return Section(title, intro=intro, charts=(chart,), tables=(table,) if worst else ())


def erlang_note(centre: CentreConfig, rows: Sequence[Row]) -> str:
    """Why Erlang A asks for more agents than Erlang C where it does (a constraint, said, not hidden)."""
    excess = [e for r in rows if (e := erlang_a_excess(centre, r)) is not None]
    if not excess:
        return ""
    counts: dict[str, int] = {}
    for item in excess:
        for reason in item.reasons:
            counts[reason] = counts.get(reason, 0) + 1
    why = {
        "abandonment": f"the abandon rate would exceed the {format_value(excess[0].abandonment_cap, 'pct')} "
        "cap (the plan's abandon rate)",
        "service level": "callers who hang up before the threshold would count as not answered in time",
        "occupancy": f"occupancy would exceed {format_value(excess[0].occupancy_cap, 'pct')}",
    }
    reasons = "; ".join(f"in {n} {why[k]}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    offered = sum(1 for r in rows if r.get("offered"))
    return (
        f" Erlang A asks for more agents than Erlang C in {len(excess)} of {offered} intervals with "
        "contacts. Abandonment on its own lowers the requirement; the extra agents come from limits "
        f"Erlang C cannot see, because it assumes nobody hangs up. With Erlang C's agents, {reasons}."
    )


def has_agent_data(rows: Sequence[Row]) -> bool:
    """Whether any interval has agent-state data; without it "staffed" is unknown, never 0."""
    return any((r.get("agents_logged_in") or 0) > 0 or (num(r, "staffed_agents") or 0.0) > 0 for r in rows)


_GRID_COLUMNS = (
    Column("interval_start", "Interval", "datetime"),
    Column("forecast_offered", "Forecast offered", "decimal"),
    Column("offered", "Offered", "int"),
    Column("aht_seconds", "AHT", "seconds"),
    Column("traffic_erlangs", "Traffic (Erlangs)", "decimal"),
    Column("required_erlang_c", "Required (Erlang C)", "int"),
    Column("required_erlang_a", "Required (Erlang A)", "int"),
    Column("required_positions", "Positions after shrinkage", "int"),
    Column("staffed_agents", "Staffed", "decimal"),
    Column("gap", "Gap", "decimal"),
)


def interval_grid(ctx: Context, centre: CentreConfig, forecast: Sequence[Row] = ()) -> Table:
    """Every 15-minute interval of the period, the grid a planner works from (XLSX/CSV only).

    Staffed and gap are blank, not 0, when the centre sent no agent-state data.
    """
    window = ctx.window
    rows = rows_of(ctx.figures.get(centre, "staffing (Erlang)", queries.staffing, window.start, window.end))
    agents = has_agent_data(rows)
    predicted = {local_time(r.get("interval_start")): num(r, "forecast_offered") for r in forecast}
    body = []
    for row in rows:
        start = local_time(row.get("interval_start"))
        if start is None:
            continue
        values = {**row, "interval_start": start, "forecast_offered": predicted.get(start)}
        if not agents:
            values["staffed_agents"] = values["gap"] = None
        body.append(tuple(values.get(c.key) for c in _GRID_COLUMNS))
    return Table(
        "interval_grid",
        "Every 15-minute interval",
        _GRID_COLUMNS,
        tuple(body),
        "Required: agents on the phones for the service-level target (Erlang C; Erlang A allows for "
        "abandonment). Positions add shrinkage. Staffed and gap are blank without agent-state data.",
        attachment_only=True,
    )


def _requirement_only(centre: CentreConfig, title: str, rows: list[Row], daily: bool) -> Section:
    """No agent-state data: the requirement is shown, and the report says staffing is unknown (never 0)."""
    starts = [local_time(r["interval_start"]) for r in rows]
    peak = max(rows, key=lambda r: num(r, "required_erlang_c") or 0.0)
    alt = (
        f"Agents required by Erlang C per 15-minute interval over {len(rows)} intervals; the most, "
        f"{format_value(num(peak, 'required_erlang_c'), 'int')}, at "
        f"{local_time(peak['interval_start']):%a %d %b %H:%M}. Agents staffed are not shown: no agent-state "
        "data was received."
    )
    chart = charts.time_chart(
        "staffing",
        "Agents required (Erlang C), per 15 minutes",
        alt,
        [t for t in starts if t is not None],
        [("required", [num(r, "required_erlang_c") for r in rows])],
        step=True,
        daily=daily,
    )
    intro = (
        f"No agent-state data was received for {centre.name} in this period, so agents staffed (and the "
        "gap against the requirement) are unknown; only the requirement is shown. Add the centre's agent "
        "export to its sources to compare."
    )
    return Section(title, intro=intro, charts=(chart,))
