"""Contact pathways: the routes contacts take (IVR > queue > agent > transfer / escalation > outcome),
where they drop off, where they loop, and a Sankey-ready graph.

Paths are aggregated in SQL per day (pathway_daily.sql, materialised), so this module only ever handles
one row per *distinct path*, however many contacts there were. Contacts whose export carries no
pathway steps get a path derived from their own columns (``path_source = 'derived'``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

import pyarrow as pa

from contactlake.analyse.aggregates import MaterialiseResult, write_days
from contactlake.analyse.common import check_range, days_between, range_params, run_sql
from contactlake.config import CentreConfig
from contactlake.ports import Ports
from contactlake.tables import PATHWAY_DAILY

__all__ = [
    "MAX_SANKEY_DEPTH",
    "SEPARATOR",
    "PathwayReport",
    "build_report",
    "materialise_pathways",
    "pathways",
]

SEPARATOR = " > "
#: Steps beyond this depth are folded into one "…" node so the diagram stays readable.
MAX_SANKEY_DEPTH = 8
_DROP_OUTCOMES = ("outcome:abandoned", "outcome:ivr_abandoned")
#: Node kinds a repeat of which is a loop (visiting the same IVR menu or queue twice).
_LOOP_KINDS = ("ivr", "queue", "web")

TOP_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("path_source", pa.string()),
        ("steps", pa.int32()),
        ("contacts", pa.int64()),
        ("share", pa.float64()),
        ("answered", pa.int64()),
        ("abandoned", pa.int64()),
        ("self_served", pa.int64()),
        ("ivr_abandoned", pa.int64()),
        ("avg_queue_seconds", pa.float64()),
        ("aht_seconds", pa.float64()),
        ("transfers", pa.int64()),
        ("escalations", pa.int64()),
    ]
)
DROP_SCHEMA = pa.schema(
    [
        ("step", pa.string()),
        ("reached", pa.int64()),
        ("abandoned_after", pa.int64()),
        ("ivr_abandoned_after", pa.int64()),
        ("drop_rate", pa.float64()),
    ]
)
LOOP_SCHEMA = pa.schema(
    [("step", pa.string()), ("contacts", pa.int64()), ("paths", pa.int64()), ("example_path", pa.string())]
)
NODE_SCHEMA = pa.schema([("id", pa.int32()), ("label", pa.string()), ("depth", pa.int32())])
LINK_SCHEMA = pa.schema([("source", pa.int32()), ("target", pa.int32()), ("value", pa.int64())])


@dataclass(frozen=True)
class PathwayReport:
    centre_id: str
    date_from: date
    date_to: date
    contacts: int
    top_paths: pa.Table
    drop_offs: pa.Table
    loops: pa.Table
    sankey_nodes: pa.Table
    sankey_links: pa.Table
    method: str


def materialise_pathways(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date
) -> MaterialiseResult:
    table = run_sql(ports, "pathway_daily", range_params(centre, date_from, date_to), unload=True)
    return write_days(ports, PATHWAY_DAILY, centre.centre_id, table, days_between(date_from, date_to))


def _kind(step: str) -> str:
    return step.split(":", 1)[0]


def build_report(
    centre_id: str, date_from: date, date_to: date, paths: list[dict[str, object]], top: int
) -> PathwayReport:
    """The report from path-level rows (pathway_rollup.sql's columns), most frequent first."""
    total = sum(int(p["contacts"]) for p in paths)  # type: ignore[call-overload]
    top_rows = []
    for row in paths[:top]:
        contacts, answered = int(row["contacts"]), int(row["answered"])  # type: ignore[call-overload]
        path = str(row["path"])
        top_rows.append(
            {
                **{
                    k: row[k]
                    for k in (
                        "path",
                        "path_source",
                        "contacts",
                        "answered",
                        "abandoned",
                        "self_served",
                        "ivr_abandoned",
                        "transfers",
                        "escalations",
                    )
                },
                "steps": len(path.split(SEPARATOR)),
                "share": contacts / total if total else None,
                "avg_queue_seconds": float(row["queue_seconds"]) / contacts if contacts else None,  # type: ignore[arg-type]
                "aht_seconds": float(row["handle_seconds"]) / answered if answered else None,  # type: ignore[arg-type]
            }
        )
    reached: Counter[str] = Counter()
    dropped: dict[str, Counter[str]] = {}
    loops: Counter[str] = Counter()
    loop_paths: Counter[str] = Counter()
    loop_example: dict[str, str] = {}
    nodes: dict[tuple[int, str], int] = {}
    links: Counter[tuple[int, int]] = Counter()
    for row in paths:
        contacts = int(row["contacts"])  # type: ignore[call-overload]
        steps = str(row["path"]).split(SEPARATOR)
        for step in set(steps[:-1]):
            reached[step] += contacts
        if steps[-1] in _DROP_OUTCOMES and len(steps) > 1:
            dropped.setdefault(steps[-2], Counter())[steps[-1]] += contacts
        seen = Counter(s for s in steps[:-1] if _kind(s) in _LOOP_KINDS)
        for step, times in seen.items():
            if times > 1:
                loops[step] += contacts
                loop_paths[step] += 1
                loop_example.setdefault(step, str(row["path"]))
        labels = steps if len(steps) <= MAX_SANKEY_DEPTH else [*steps[: MAX_SANKEY_DEPTH - 2], "…", steps[-1]]
        ids = [nodes.setdefault((depth, label), len(nodes)) for depth, label in enumerate(labels)]
        for source, target in pairwise(ids):
            links[(source, target)] += contacts
    drop_rows = [
        {
            "step": step,
            "reached": reached[step],
            "abandoned_after": outcomes["outcome:abandoned"],
            "ivr_abandoned_after": outcomes["outcome:ivr_abandoned"],
            "drop_rate": sum(outcomes.values()) / reached[step] if reached[step] else None,
        }
        for step, outcomes in sorted(dropped.items(), key=lambda item: -sum(item[1].values()))
    ]
    loop_rows = [
        {"step": step, "contacts": count, "paths": loop_paths[step], "example_path": loop_example[step]}
        for step, count in loops.most_common()
    ]
    node_rows = [{"id": i, "label": label, "depth": depth} for (depth, label), i in nodes.items()]
    link_rows = [{"source": s, "target": t, "value": v} for (s, t), v in sorted(links.items())]
    return PathwayReport(
        centre_id=centre_id,
        date_from=date_from,
        date_to=date_to,
        contacts=total,
        top_paths=pa.Table.from_pylist(top_rows, schema=TOP_SCHEMA),
        drop_offs=pa.Table.from_pylist(drop_rows, schema=DROP_SCHEMA),
        loops=pa.Table.from_pylist(loop_rows, schema=LOOP_SCHEMA),
        sankey_nodes=pa.Table.from_pylist(node_rows, schema=NODE_SCHEMA),
        sankey_links=pa.Table.from_pylist(link_rows, schema=LINK_SCHEMA),
        method=(
            "paths = pathway steps in order (hold and end steps left out, agents unnamed) ending in the "
            "contact's outcome; contacts without steps get a path derived from their columns "
            "(path_source = 'derived'). Drop-off = the step before an abandoned / IVR-abandoned outcome, "
            "drop_rate = drops / contacts that reached the step. Loop = the same IVR menu, queue or web page "
            f"visited twice. Sankey nodes are (depth, step) so the graph is acyclic; depth > "
            f"{MAX_SANKEY_DEPTH - 2} folds into '…' before the outcome. Test contacts excluded."
        ),
    )


def pathways(
    ports: Ports, centre: CentreConfig, date_from: date, date_to: date, top: int = 10
) -> PathwayReport:
    """Top paths, drop-offs, loops and a Sankey graph from the materialised pathway_daily aggregate."""
    check_range(date_from, date_to)
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    paths = run_sql(ports, "pathway_rollup", range_params(centre, date_from, date_to)).to_pylist()
    return build_report(centre.centre_id, date_from, date_to, paths, top)
