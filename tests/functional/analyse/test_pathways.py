"""Contact pathways from pathway steps: top paths, drop-offs, loops and the Sankey graph, by hand.

Pathway steps are written straight into the lake (the generic CSV sample has none); one contact has no
steps at all and gets a path derived from its own columns.
"""

from __future__ import annotations

from datetime import date

import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import pathways, run_analysis
from contactlake.config import CentreConfig, Settings
from contactlake.ports import Ports
from tests.functional.analyse.handmade import CENTRE, contact, hand_config, step, write_contacts, write_steps

DAY = date(2026, 3, 2)
MAIN = "ivr:main > queue:billing > agent > outcome:answered"
TRANSFERRED = "ivr:main > queue:billing > agent > transfer > queue:sales > agent > outcome:answered"
LOOPED = "ivr:main > queue:billing > agent > transfer > queue:sales > transfer > queue:billing > agent > outcome:answered"
ABANDONED = "ivr:main > queue:billing > outcome:abandoned"
IVR_DROP = "ivr:main > ivr:payments > outcome:ivr_abandoned"
SELF_SERVED = "ivr:main > ivr:payments > outcome:self_served"
DERIVED = "ivr > queue:billing > agent > outcome:answered"


def _steps(contact_id: str, *labels: str) -> list[dict[str, object]]:
    rows = []
    for index, label in enumerate(labels):
        kind, _, name = label.partition(":")
        rows.append(step(contact_id, index, kind, name or None, day=DAY))
    return rows


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ports, CentreConfig]:
    ports = build_local_ports(Settings(home=tmp_path_factory.mktemp("paths") / "lake"))
    at = "2026-03-02 10:00:00"
    write_contacts(
        ports,
        [
            contact("P1", at, "answered", queue_seconds=10.0, talk_seconds=100.0, agent_id="a"),
            contact("P2", at, "answered", queue_seconds=30.0, talk_seconds=200.0, agent_id="b"),
            contact("P3", at, "answered", talk_seconds=300.0, transfer_count=1, agent_id="a"),
            contact("P4", at, "answered", talk_seconds=300.0, transfer_count=2, agent_id="a"),
            contact("P5", at, "abandoned", queue_seconds=40.0),
            contact("P6", at, "ivr_abandoned"),
            contact("P7", at, "self_served"),
            contact("D1", at, "answered", queue_seconds=5.0, talk_seconds=50.0, agent_id="c"),
            contact("T1", at, "answered", talk_seconds=50.0, test_case_id="answered_within_sl"),
        ],
    )
    main = ("ivr_menu:main", "queue:billing", "agent:a")
    write_steps(
        ports,
        [
            *_steps("P1", *main, "hold", "end"),
            *_steps("P2", *main),
            *_steps("P3", *main, "transfer", "queue:sales", "agent:b"),
            *_steps("P4", *main, "transfer", "queue:sales", "transfer", "queue:billing", "agent:c"),
            *_steps("P5", "ivr_menu:main", "queue:billing"),
            *_steps("P6", "ivr_menu:main", "ivr_menu:payments"),
            *_steps("P7", "ivr_menu:main", "ivr_menu:payments", "end"),
            *_steps("T1", *main),
        ],
    )
    config = hand_config()
    run_analysis(ports, config, [CENTRE], DAY, DAY)
    return ports, config.centre(CENTRE)


def test_top_paths_with_volumes_and_handle_times(lake: tuple[Ports, CentreConfig]) -> None:
    report = pathways.pathways(*lake, DAY, DAY, top=10)
    assert report.contacts == 8  # the test call is not a business contact
    top = report.top_paths.to_pylist()
    assert [(r["path"], r["contacts"], r["path_source"]) for r in top] == [
        (MAIN, 2, "steps"),
        (DERIVED, 1, "derived"),
        (IVR_DROP, 1, "steps"),
        (SELF_SERVED, 1, "steps"),
        (TRANSFERRED, 1, "steps"),
        (LOOPED, 1, "steps"),
        (ABANDONED, 1, "steps"),
    ]
    assert top[0] == pytest.approx(
        top[0] | {"steps": 4, "share": 2 / 8, "answered": 2, "avg_queue_seconds": 20.0, "aht_seconds": 150.0}
    )
    assert pathways.pathways(*lake, DAY, DAY, top=2).top_paths.num_rows == 2


def test_drop_offs_and_loops(lake: tuple[Ports, CentreConfig]) -> None:
    report = pathways.pathways(*lake, DAY, DAY)
    drops = {r["step"]: r for r in report.drop_offs.to_pylist()}
    assert drops["queue:billing"] == pytest.approx(
        {
            "step": "queue:billing",
            "reached": 6,
            "abandoned_after": 1,
            "ivr_abandoned_after": 0,
            "drop_rate": 1 / 6,
        }
    )
    assert drops["ivr:payments"] == pytest.approx(
        {
            "step": "ivr:payments",
            "reached": 2,
            "abandoned_after": 0,
            "ivr_abandoned_after": 1,
            "drop_rate": 1 / 2,
        }
    )
    assert report.loops.to_pylist() == [
        {"step": "queue:billing", "contacts": 1, "paths": 1, "example_path": LOOPED}
    ]


def test_sankey_graph_is_depth_layered_and_conserves_contacts(lake: tuple[Ports, CentreConfig]) -> None:
    report = pathways.pathways(*lake, DAY, DAY)
    nodes = {r["id"]: (r["depth"], r["label"]) for r in report.sankey_nodes.to_pylist()}
    links = {(nodes[r["source"]], nodes[r["target"]]): r["value"] for r in report.sankey_links.to_pylist()}
    assert links[((0, "ivr:main"), (1, "queue:billing"))] == 5
    assert links[((0, "ivr:main"), (1, "ivr:payments"))] == 2
    assert links[((0, "ivr"), (1, "queue:billing"))] == 1
    assert links[((2, "agent"), (3, "outcome:answered"))] == 3  # MAIN twice and the derived path
    # LOOPED has 9 steps: beyond 8 levels the middle folds into "…" before the outcome.
    assert links[((6, "…"), (7, "outcome:answered"))] == 1
    assert all(target[0] == source[0] + 1 for source, target in links)  # acyclic by construction
    into_outcomes = sum(v for (_, target), v in links.items() if target[1].startswith("outcome:"))
    assert into_outcomes == 8
