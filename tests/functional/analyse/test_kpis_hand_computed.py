"""Every contact KPI, at every grain and dimension, against numbers worked out by hand.

The dataset (centre in UTC, so local = UTC; SL threshold 20 s, short abandons < 5 s, FCR window 72 h):

    Monday 2026-03-02                         queue     wait  talk hold acw  agent  notes
    A1 09:00:10 answered                      billing   10    180  0    20   ag1    customer c1 calls again 03-04
    A2 09:05    answered                      billing   20    240  60   0    ag2    held, transferred; c2 again 03-06
    A3 09:16    answered                      billing   30    100  0    50   ag1    escalated
    A4 09:20    answered                      sales     50    300  0    30   ag2
    B1 09:01    abandoned (short, 3 s)        billing   3
    B2 09:02    abandoned (within SL)         billing   15
    B3 09:17    abandoned                     billing   60
    B4 09:18    abandoned                     sales     90
    C1 09:40    callback requested            billing   45
    I1 09:03    self-served in the IVR
    I2 09:33    abandoned in the IVR
    F1 09:34    failed (never reached the IVR)
    H1 10:05    answered, chat, no IVR        chat      5     200  0    0    ag3
    O1 09:10    outbound (not a KPI contact)            -     100            ag1
    T1 10:00    synthetic test call (excluded), measured as test_cases.toml expects
    W1 Sat 02-28 12:00 answered, wait 0, talk 60;  W2 Sun 03-01 12:00 answered, wait 25, talk 120

Monday, all queues: contacts 13 (inbound, not test), offered 10 (5 answered + 4 abandoned + 1 callback),
answered within 20 s = 3 (A1, A2, H1), abandoned within 20 s = 2 (B1, B2).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import quality, queries, run_analysis
from contactlake.config import CentreConfig, Settings
from contactlake.ports import Ports
from tests.functional.analyse.handmade import CENTRE, contact, hand_config, write_contacts

MONDAY = date(2026, 3, 2)


def _rows() -> list[dict[str, object]]:
    answered = {"outcome": "answered"}
    return [
        contact("A1", "2026-03-02 09:00:10", **answered, queue_seconds=10.0, talk_seconds=180.0, hold_seconds=0.0,
                acw_seconds=20.0, agent_id="ag1", customer_key="c1"),
        contact("A2", "2026-03-02 09:05:00", **answered, queue_seconds=20.0, talk_seconds=240.0, hold_seconds=60.0,
                acw_seconds=0.0, agent_id="ag2", customer_key="c2", hold_count=1, transfer_count=1),
        contact("A3", "2026-03-02 09:16:00", **answered, queue_seconds=30.0, talk_seconds=100.0, hold_seconds=0.0,
                acw_seconds=50.0, agent_id="ag1", customer_key="c3", escalation_count=1),
        contact("A4", "2026-03-02 09:20:00", **answered, queue="sales", queue_seconds=50.0, talk_seconds=300.0,
                hold_seconds=0.0, acw_seconds=30.0, agent_id="ag2", customer_key="c4"),
        contact("B1", "2026-03-02 09:01:00", "abandoned", queue_seconds=3.0, customer_key="c5"),
        contact("B2", "2026-03-02 09:02:00", "abandoned", queue_seconds=15.0, customer_key="c6"),
        contact("B3", "2026-03-02 09:17:00", "abandoned", queue_seconds=60.0, customer_key="c7"),
        contact("B4", "2026-03-02 09:18:00", "abandoned", queue="sales", queue_seconds=90.0, customer_key="c8"),
        contact("C1", "2026-03-02 09:40:00", "callback_requested", queue_seconds=45.0, customer_key="c9"),
        contact("I1", "2026-03-02 09:03:00", "self_served", ivr_seconds=60.0),
        contact("I2", "2026-03-02 09:33:00", "ivr_abandoned"),
        contact("F1", "2026-03-02 09:34:00", "failed", queue=None, ivr_seconds=0.0),
        contact("H1", "2026-03-02 10:05:00", **answered, channel="chat", queue="chat", ivr_seconds=0.0,
                queue_seconds=5.0, talk_seconds=200.0, hold_seconds=0.0, acw_seconds=0.0, agent_id="ag3",
                customer_key="c10"),
        contact("O1", "2026-03-02 09:10:00", **answered, direction="outbound", talk_seconds=100.0, agent_id="ag1"),
        contact("T1", "2026-03-02 10:00:00", **answered, queue_seconds=15.0, talk_seconds=120.0, hold_seconds=0.0,
                acw_seconds=30.0, agent_id="ag9", test_case_id="answered_within_sl"),
        contact("W1", "2026-02-28 12:00:00", **answered, queue_seconds=0.0, talk_seconds=60.0, agent_id="ag1",
                customer_key="c11"),
        contact("W2", "2026-03-01 12:00:00", **answered, queue_seconds=25.0, talk_seconds=120.0, agent_id="ag2",
                customer_key="c12"),
        # Repeats: c1 within 72 h of A1 (not resolved first time); c2 after 72 h (A2 resolved).
        contact("R1", "2026-03-04 08:00:00", **answered, queue_seconds=5.0, talk_seconds=60.0, agent_id="ag1",
                customer_key="c1"),
        contact("R2", "2026-03-06 10:00:00", **answered, queue_seconds=5.0, talk_seconds=60.0, agent_id="ag1",
                customer_key="c2"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Ports:
    """The dataset above, analysed once for the module (the tests only read it)."""
    ports = build_local_ports(Settings(home=tmp_path_factory.mktemp("kpis") / "lake"))
    write_contacts(ports, _rows())
    run_analysis(ports, hand_config(), [CENTRE], date(2026, 2, 28), MONDAY)
    return ports


def _centre(variant: str = "abandons_ignored") -> CentreConfig:
    """The aggregates keep the counts, so any service-level variant is read back from the same lake."""
    return hand_config(service_level={"threshold_seconds": 20, "target": 0.8, "variant": variant}).centre(
        CENTRE
    )


def _one(table: pa.Table, **match: object) -> dict[str, object]:
    rows = [r for r in table.to_pylist() if all(r[k] == v for k, v in match.items())]
    assert len(rows) == 1, rows
    return rows[0]


def test_every_day_kpi_matches_the_hand_computed_value(lake: Ports) -> None:
    centre = _centre()
    day = _one(queries.kpis(lake, centre, "day", MONDAY, MONDAY), period_start=MONDAY)
    assert day == pytest.approx(
        {
            "period_start": MONDAY,
            "contacts": 13,
            "offered": 10,
            "answered": 5,
            "abandoned": 3,  # B2, B3, B4
            "short_abandoned": 1,  # B1
            "callback_requested": 1,
            "self_served": 1,
            "ivr_abandoned": 1,
            "answered_within_sl": 3,
            "abandoned_within_sl": 2,
            "service_level": 3 / (10 - 2),  # abandons ignored
            "asa_seconds": (10 + 20 + 30 + 50 + 5) / 5,
            "longest_wait_seconds": 90,
            "avg_time_to_abandon_seconds": (15 + 60 + 90) / 3,
            "aht_seconds": (200 + 300 + 150 + 330 + 200) / 5,
            "abandon_rate": 3 / (10 - 1),
            "hold_rate": 1 / 5,
            "transfer_rate": 1 / 5,
            "escalation_rate": 1 / 5,
            "ivr_containment": 1 / 11,  # 11 entered the IVR: all but F1 and the chat
            "callback_rate": 1 / 10,
            "fcr_rate": 4 / 5,  # A1 had a repeat within 72 h
        }
    )


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("answered_only", 3 / 5),
        ("abandons_ignored", 3 / 8),
        ("abandons_negative", 3 / 10),
        ("short_abandons_positive", (3 + 2) / 10),
    ],
)
def test_service_level_variants(lake: Ports, variant: str, expected: float) -> None:
    centre = _centre(variant)
    day = _one(queries.kpis(lake, centre, "day", MONDAY, MONDAY), period_start=MONDAY)
    assert day["service_level"] == pytest.approx(expected)


def test_interval_grains_in_local_time(lake: Ports) -> None:
    centre = _centre()
    expected = {
        "15min": [("09:00", 4, 2), ("09:15", 4, 2), ("09:30", 1, 0), ("10:00", 1, 1)],
        "30min": [("09:00", 8, 4), ("09:30", 1, 0), ("10:00", 1, 1)],
        "60min": [("09:00", 9, 4), ("10:00", 1, 1)],
    }
    for grain, want in expected.items():
        table = queries.kpis(lake, centre, grain, MONDAY, MONDAY)
        got = [
            (f"{r['period_start']:%H:%M}", r["offered"], r["answered"])
            for r in table.to_pylist()
            if r["contacts"]
        ]
        assert got == want, grain
    quarter = _one(queries.kpis(lake, centre, "15min", MONDAY, MONDAY),
                   period_start=datetime(2026, 3, 2, 9, 30))  # fmt: skip
    assert (quarter["contacts"], quarter["offered"], quarter["ivr_abandoned"]) == (3, 1, 1)  # I2, F1, C1


def test_week_and_month_grains(lake: Ports) -> None:
    centre = _centre()
    first = date(2026, 2, 28)
    weeks = queries.kpis(lake, centre, "week", first, MONDAY).to_pylist()
    assert [(r["period_start"], r["offered"], r["answered"]) for r in weeks] == [
        (date(2026, 2, 23), 2, 2),  # Sat W1 + Sun W2 (ISO week starts Monday)
        (MONDAY, 10, 5),
    ]
    assert weeks[0]["service_level"] == pytest.approx(1 / 2)  # W1 within 20 s, W2 not
    months = queries.kpis(lake, centre, "month", first, MONDAY).to_pylist()
    assert [(r["period_start"], r["offered"], r["answered"]) for r in months] == [
        (date(2026, 2, 1), 1, 1),
        (date(2026, 3, 1), 11, 6),
    ]


def test_queue_channel_and_agent_dimensions(lake: Ports) -> None:
    centre = _centre()
    by_queue = queries.kpis(lake, centre, "day", MONDAY, MONDAY, "queue")
    assert {r["queue"]: (r["contacts"], r["offered"], r["answered"]) for r in by_queue.to_pylist()} == {
        "(none)": (3, 0, 0),
        "billing": (7, 7, 3),
        "sales": (2, 2, 1),
        "chat": (1, 1, 1),
    }
    by_channel = queries.kpis(lake, centre, "day", MONDAY, MONDAY, "channel")
    assert {r["channel"]: (r["offered"], r["answered"]) for r in by_channel.to_pylist()} == {
        "voice": (9, 4),
        "chat": (1, 1),
    }
    by_agent = queries.kpis(lake, centre, "day", MONDAY, MONDAY, "agent")
    agents = {r["agent_id"]: r for r in by_agent.to_pylist()}
    assert {a: (r["offered"], r["answered"]) for a, r in agents.items()} == {
        "(none)": (5, 0),
        "ag1": (2, 2),
        "ag2": (2, 2),
        "ag3": (1, 1),
    }
    assert agents["ag2"]["aht_seconds"] == pytest.approx((300 + 330) / 2)
    sales_only = queries.kpis(lake, centre, "day", MONDAY, MONDAY, "agent", queue="sales")
    assert {r["agent_id"]: r["answered"] for r in sales_only.to_pylist()} == {"(none)": 0, "ag2": 1}


def test_agent_kpis(lake: Ports) -> None:
    centre = _centre()
    rows = {r["agent_id"]: r for r in queries.agent_kpis(lake, centre, MONDAY, MONDAY).to_pylist()}
    assert set(rows) == {"ag1", "ag2", "ag3"}
    assert rows["ag1"] == pytest.approx(
        rows["ag1"]
        | {
            "answered": 2,
            "aht_seconds": (200 + 150) / 2,
            "talk_seconds": (180 + 100) / 2,
            "hold_seconds": 0.0,
            "acw_seconds": (20 + 50) / 2,
            "hold_rate": 0.0,
            "transfers": 0,
            "transfer_rate": 0.0,
            "escalation_rate": 1 / 2,
        }
    )
    assert (rows["ag2"]["hold_rate"], rows["ag2"]["transfers"], rows["ag2"]["transfer_rate"]) == (0.5, 1, 0.5)


def test_test_and_outbound_contacts_stay_out_of_business_kpis(lake: Ports) -> None:
    centre = _centre()
    agents = queries.kpis(lake, centre, "day", MONDAY, MONDAY, "agent").to_pylist()
    assert "ag9" not in {r["agent_id"] for r in agents}  # T1's agent handled only the test call
    tests = quality.check_test_contacts(lake, centre, MONDAY, MONDAY).to_pylist()
    measured = {r["check"]: r["actual"] for r in tests}
    assert {r["contact_id"] for r in tests} == {"T1"}
    assert (measured["offered"], measured["answered_within_sl"], measured["aht_seconds"]) == (1.0, 1.0, 150.0)
    assert all(r["passed"] for r in tests), [r for r in tests if not r["passed"]]


def test_service_level_example_from_the_issue(hand_ports: Ports) -> None:
    """70 answered within 20 s, 10 abandoned within 20 s, 20 answered after: 100 offered."""
    rows = [
        contact(f"W{i}", "2026-03-02 10:00:00", "answered", queue_seconds=10.0, talk_seconds=60.0)
        for i in range(70)
    ]
    rows += [contact(f"B{i}", "2026-03-02 10:00:00", "abandoned", queue_seconds=10.0) for i in range(10)]
    rows += [
        contact(f"L{i}", "2026-03-02 10:00:00", "answered", queue_seconds=40.0, talk_seconds=60.0)
        for i in range(20)
    ]
    write_contacts(hand_ports, rows)
    run_analysis(hand_ports, hand_config(), [CENTRE], MONDAY, MONDAY)
    results = {}
    for variant in ("abandons_ignored", "abandons_negative", "short_abandons_positive", "answered_only"):
        # The aggregates keep the counts, so any variant can be read back from them.
        centre = hand_config(service_level={"threshold_seconds": 20, "variant": variant}).centre(CENTRE)
        day = queries.kpis(hand_ports, centre, "day", MONDAY, MONDAY).to_pylist()[0]
        assert day["offered"] == 100
        results[variant] = round(day["service_level"] * 100, 1)
    assert results == {
        "abandons_ignored": 77.8,  # 70 / (100 - 10)
        "abandons_negative": 70.0,  # 70 / 100
        "short_abandons_positive": 80.0,  # (70 + 10) / 100
        "answered_only": 77.8,  # 70 / 90
    }


def test_a_queue_transfer_is_its_own_outcome_offered_and_reconciled(tmp_path: Path) -> None:
    """Two answered, one abandoned, two transferred out of the queue: offered 5, queue_transferred 2."""
    ports = build_local_ports(Settings(home=tmp_path / "lake"))
    write_contacts(
        ports,
        [
            contact(
                "A1", "2026-03-02 09:00:00", "answered", queue_seconds=10.0, talk_seconds=60.0, agent_id="a"
            ),
            contact(
                "A2", "2026-03-02 09:20:00", "answered", queue_seconds=30.0, talk_seconds=60.0, agent_id="a"
            ),
            contact("B1", "2026-03-02 09:05:00", "abandoned", queue_seconds=40.0),
            contact("X1", "2026-03-02 09:10:00", "transferred", queue_seconds=12.0),
            contact("X2", "2026-03-02 09:40:00", "transferred", queue_seconds=50.0),
        ],
    )
    run_analysis(ports, hand_config(), [CENTRE], MONDAY, MONDAY)
    daily = ports.engine.query(
        "SELECT sum(offered) AS offered, sum(answered) AS answered, sum(queue_transferred) AS moved, "
        "sum(callback_requested) AS callbacks FROM kpi_daily WHERE contact_date = DATE '2026-03-02'"
    ).to_pylist()[0]
    assert daily == {"offered": 5, "answered": 2, "moved": 2, "callbacks": 0}
    checks = quality.reconciliation(ports, _centre(), MONDAY, MONDAY).to_pylist()
    parts = [c for c in checks if c["check"].startswith("offered = answered + abandoned")]
    assert parts == [
        {
            "scope": "day",
            "subject": "2026-03-02",
            "check": "offered = answered + abandoned + callback requested + transferred",
            "expected": 5.0,
            "actual": 5.0,
            "passed": True,
        }
    ]
