"""Occupancy, utilisation, shrinkage, staffed agents and cost per contact, worked out by hand.

Agent time on Monday 2026-03-02 (centre in UTC):

    ag1  staffed 09:00-11:00, break 09:50-10:05 (crosses 10:00), training 10:30-10:45     (shift style)
    ag2  staffed Sunday 22:00 - Monday 06:00 (a night shift: 6 h of it fall on Monday)
    ag3  available 09:00-09:20, on_contact 09:20-09:40, after_call_work 09:40-09:45,
         other 09:45-10:00                                                                (state style)

    logged in  = 120 + 360 + 60 min = 9 h = 32 400 s
    aux        = break 15 + training 15 + other 15 min = 2 700 s
    net staffed (available for contacts) = 32 400 - 2 700 = 29 700 s

Contacts answered (handle = talk + hold + ACW): ag1 09:10 300 + 60 s, ag1 10:10 600 s, ag3 09:20 1200 + 300 s
= 2 460 s.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import plan, queries, run_analysis
from contactlake.config import CentreConfig, Settings
from contactlake.ports import Ports
from tests.functional.analyse.handmade import (
    CENTRE,
    activity,
    contact,
    hand_config,
    write_activity,
    write_contacts,
)

MONDAY = date(2026, 3, 2)
LOGGED, AUX, NET, HANDLE = 32_400.0, 2_700.0, 29_700.0, 2_460.0


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ports, CentreConfig]:
    ports = build_local_ports(Settings(home=tmp_path_factory.mktemp("workforce") / "lake"))
    write_activity(
        ports,
        [
            activity("ag1", "staffed", "2026-03-02 09:00:00", 120),
            activity("ag1", "break", "2026-03-02 09:50:00", 15),
            activity("ag1", "training", "2026-03-02 10:30:00", 15),
            activity("ag2", "staffed", "2026-03-01 22:00:00", 480),
            activity("ag3", "available", "2026-03-02 09:00:00", 20),
            activity("ag3", "on_contact", "2026-03-02 09:20:00", 20),
            activity("ag3", "after_call_work", "2026-03-02 09:40:00", 5),
            activity("ag3", "other", "2026-03-02 09:45:00", 15),
        ],
    )
    write_contacts(
        ports,
        [
            contact(
                "A1", "2026-03-02 09:10:00", "answered", agent_id="ag1", talk_seconds=300.0, acw_seconds=60.0
            ),
            contact("A2", "2026-03-02 10:10:00", "answered", agent_id="ag1", talk_seconds=600.0),
            contact(
                "A3",
                "2026-03-02 09:20:00",
                "answered",
                agent_id="ag3",
                talk_seconds=1200.0,
                acw_seconds=300.0,
            ),
        ],
    )
    config = hand_config(
        cost_per_agent_hour=20.0, plan={"budget_per_contact": 50.0, "monthly_budget": 31_000.0}
    )
    run_analysis(ports, config, [CENTRE], MONDAY, MONDAY)
    return ports, config.centre(CENTRE)


def test_occupancy_utilisation_shrinkage_and_cost(lake: tuple[Ports, CentreConfig]) -> None:
    hand_ports, centre = lake
    day = plan.workforce(hand_ports, centre, MONDAY, MONDAY).to_pylist()
    assert day == [
        pytest.approx(
            {
                "period_start": MONDAY,
                "offered": 3,
                "answered": 3,
                "agents": 3,
                "staffed_hours": LOGGED / 3600,
                "net_staffed_hours": NET / 3600,
                "handle_hours": HANDLE / 3600,
                "break_hours": 0.25,
                "training_hours": 0.25,
                "other_aux_hours": 0.25,
                "occupancy": HANDLE / NET,
                "utilisation": HANDLE / LOGGED,
                "shrinkage": AUX / LOGGED,
                "staff_cost": 9 * 20.0,
                "cost_per_contact": 9 * 20.0 / 3,
            }
        )
    ]


def test_cost_per_contact_against_budget(lake: tuple[Ports, CentreConfig]) -> None:
    hand_ports, centre = lake
    rows = plan.cost_per_contact(hand_ports, centre, MONDAY, MONDAY).to_pylist()
    assert rows == [
        pytest.approx(
            {
                "period_start": MONDAY,
                "answered": 3,
                "staffed_hours": 9.0,
                "staff_cost": 180.0,
                "cost_per_contact": 60.0,
                "budget_per_contact": 50.0,
                "variance": 10.0,
                "variance_pct": 0.2,
                "budget": 31_000 / 31,  # March has 31 days
                "budget_variance": 180.0 - 1000.0,
            }
        )
    ]


def test_agent_states_are_cut_at_interval_boundaries(lake: tuple[Ports, CentreConfig]) -> None:
    hand_ports, centre = lake
    staffing = {
        r["interval_start"]: r for r in queries.staffing(hand_ports, centre, MONDAY, MONDAY).to_pylist()
    }
    # ag2's night shift: Monday 00:00-06:00 only (its Sunday part belongs to Sunday).
    assert staffing[datetime(2026, 3, 2, 0, 0)]["staffed_agents"] == pytest.approx(1.0)
    assert datetime(2026, 3, 2, 6, 0) not in staffing
    # 09:45: ag1 staffed with 10 of 15 minutes on break; ag3 in "other" (aux) all 15 minutes.
    assert staffing[datetime(2026, 3, 2, 9, 45)]["staffed_agents"] == pytest.approx(5 / 15)
    assert staffing[datetime(2026, 3, 2, 9, 45)]["agents_logged_in"] == 2
    # 10:00: ag1 with 5 minutes of break left.
    assert staffing[datetime(2026, 3, 2, 10, 0)]["staffed_agents"] == pytest.approx(10 / 15)
    # 09:00: ag1 and ag3 fully available; A1 (360 s of handling) arrived then.
    nine = staffing[datetime(2026, 3, 2, 9, 0)]
    assert (nine["staffed_agents"], nine["occupancy"]) == pytest.approx((2.0, 360 / 1800))


def test_agent_occupancy(lake: tuple[Ports, CentreConfig]) -> None:
    hand_ports, centre = lake
    agents = {r["agent_id"]: r for r in queries.agent_kpis(hand_ports, centre, MONDAY, MONDAY).to_pylist()}
    assert agents["ag1"]["staffed_hours"] == pytest.approx(2.0)
    assert agents["ag1"]["occupancy"] == pytest.approx(960 / 5400)  # 90 min net of break and training
    assert agents["ag1"]["utilisation"] == pytest.approx(960 / 7200)
    assert agents["ag1"]["shrinkage"] == pytest.approx(0.25)
    assert agents["ag3"]["occupancy"] == pytest.approx(1500 / 2700)  # 45 min net of "other"
    assert (agents["ag2"]["answered"], agents["ag2"]["staffed_hours"]) == (0, pytest.approx(6.0))
