"""Team leaders (weekly; one centre; internal only): per agent answered, AHT and its parts, hold and transfer
rates, with long handle times flagged for a conversation.
"""

from __future__ import annotations

from typing import Any

from contactlake.analyse import queries
from contactlake.report import charts
from contactlake.report.audiences.common import (
    Context,
    kpis,
    num,
    rows_of,
    single,
    unavailable,
)
from contactlake.report.model import Column, Report, Section, Status, Table, Tile, format_value
from contactlake.report.periods import GRAIN_OF_PERIOD

__all__ = ["team_leader"]

_AGENT_AHT_OUTLIER = 1.25


def team_leader(ctx: Context) -> Report:
    centre, window = ctx.centres[0], ctx.window
    agents = rows_of(ctx.figures.get(centre, "agent KPIs", queries.agent_kpis, window.start, window.end))
    total = single(kpis(ctx, centre, "period KPIs", GRAIN_OF_PERIOD[window.period], window))
    centre_aht = num(total, "aht_seconds")
    columns = (
        Column("agent_id", "Agent"),
        Column("answered", "Answered", "int"),
        Column("aht_seconds", "AHT", "seconds"),
        Column("talk_seconds", "Talk", "seconds"),
        Column("hold_seconds", "Hold", "seconds"),
        Column("acw_seconds", "After-call work", "seconds"),
        Column("hold_rate", "Hold rate", "pct"),
        Column("transfers", "Transfers", "int"),
        Column("transfer_rate", "Transfer rate", "pct"),
        Column("note", "Note"),
    )
    body: list[tuple[Any, ...]] = []
    status: list[Status] = []
    for row in sorted(agents, key=lambda r: str(r.get("agent_id"))):
        aht = num(row, "aht_seconds")
        outlier = aht is not None and centre_aht is not None and aht > _AGENT_AHT_OUTLIER * centre_aht
        note = f"AHT over {_AGENT_AHT_OUTLIER:.2f}× centre" if outlier else ""
        body.append((*(row.get(c.key) for c in columns[:-1]), note))
        status.append("bad" if outlier else "neutral")
    table = Table(
        "agents",
        "Agents",
        columns,
        tuple(body),
        "Per answered contact: AHT = talk + hold + after-call work. Agents flagged have an AHT more than "
        f"{_AGENT_AHT_OUTLIER:.2f} times the centre's; a conversation, not a verdict.",
        tuple(status),
    )
    chart = None
    if agents:
        ordered = sorted(agents, key=lambda r: -(num(r, "aht_seconds") or 0))
        longest = ordered[0]
        alt = (
            f"Average handle time of {len(ordered)} agents, longest first: {longest.get('agent_id')} at "
            f"{format_value(num(longest, 'aht_seconds'), 'seconds')}; centre average "
            f"{format_value(centre_aht, 'seconds')}."
        )
        chart = charts.bar_chart(
            "agent_aht",
            "Average handle time by agent (seconds)",
            alt,
            [str(r.get("agent_id")) for r in ordered],
            [num(r, "aht_seconds") for r in ordered],
            reference=centre_aht,
            reference_label="centre average",
            highlight_above=_AGENT_AHT_OUTLIER * centre_aht if centre_aht else None,
        )
    flagged = sum(1 for s in status if s == "bad")
    summary = (
        f"{len(body)} agents answered contacts at {centre.name}; centre AHT "
        f"{format_value(centre_aht, 'seconds')}; {flagged} agent(s) flagged for a long handle time."
        if agents
        else f"No agent figures for {centre.name} this period."
    )
    tiles = (
        Tile("Agents", format_value(len(agents), "int")),
        Tile("Centre AHT", format_value(centre_aht, "seconds")),
        Tile("Hold rate", format_value(num(total, "hold_rate"), "pct")),
        Tile("Transfer rate", format_value(num(total, "transfer_rate"), "pct")),
    )
    sections = [
        Section("Team", tiles=tiles),
        Section(
            "Agents",
            charts=(chart,) if chart else (),
            tables=(table,) if agents else (),
            intro="" if agents else unavailable("Agent figures"),
        ),
    ]
    return ctx.report(
        "Team leader weekly report" if window.period == "weekly" else "Team leader report",
        summary,
        sections,
        "agents",
        (table,),
    )
