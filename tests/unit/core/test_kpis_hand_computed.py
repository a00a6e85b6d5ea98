"""KPIs of a small hand-made export equal numbers worked out by hand (the spine, end to end)."""

from __future__ import annotations

from datetime import date

import pytest

from contactlake.analyse import materialise_kpis
from contactlake.config import AppConfig, Settings, parse_app_config
from contactlake.pipeline import process_upload
from contactlake.ports import Ports

HEADER = (
    "call_id,start_time,queue_start,answer_time,end_time,ivr_secs,wait_secs,talk_secs,hold_secs,hold_count,"
    "wrap_secs,result,queue,agent,caller_number,channel,transfers,escalations,disposition,test_case"
)
# Eight contacts on 2026-03-02 (a Monday; London is on GMT, so local = UTC), all in the 09:00 and 09:15
# intervals of queue "billing", plus one self-served IVR call and one synthetic test call:
#   answered: waits 10, 20, 30, 50 s   → within 20 s: 2     ASA = 110/4 = 27.5 s
#   handle (talk+hold+wrap): 200, 300, 100+50+30=... see ROWS; AHT worked below
#   abandoned: waits 3 (short, < 5 s), 15 (within 20 s), 60, 90
ROWS = [
    "A1,2026-03-02T09:00:00,2026-03-02T09:00:30,2026-03-02T09:00:40,2026-03-02T09:04:00,30,10,180,0,0,20,ANS,billing,ag1,+4470000001,voice,0,0,ok,",
    "A2,2026-03-02T09:05:00,2026-03-02T09:05:30,2026-03-02T09:05:50,2026-03-02T09:10:50,30,20,240,60,1,0,ANS,billing,ag2,+4470000002,voice,1,0,ok,",
    "A3,2026-03-02T09:16:00,2026-03-02T09:16:30,2026-03-02T09:17:00,2026-03-02T09:18:40,30,30,100,0,0,50,ANS,billing,ag1,+4470000003,voice,0,1,ok,",
    "A4,2026-03-02T09:20:00,2026-03-02T09:20:30,2026-03-02T09:21:20,2026-03-02T09:26:20,30,50,300,0,0,30,ANS,billing,ag2,+4470000004,voice,0,0,ok,",
    "B1,2026-03-02T09:01:00,2026-03-02T09:01:30,,2026-03-02T09:01:33,30,3,,,,,ABN,billing,,+4470000005,voice,0,0,,",
    "B2,2026-03-02T09:02:00,2026-03-02T09:02:30,,2026-03-02T09:02:45,30,15,,,,,ABN,billing,,+4470000006,voice,0,0,,",
    "B3,2026-03-02T09:17:00,2026-03-02T09:17:30,,2026-03-02T09:18:30,30,60,,,,,ABN,billing,,+4470000007,voice,0,0,,",
    "B4,2026-03-02T09:18:00,2026-03-02T09:18:30,,2026-03-02T09:20:00,30,90,,,,,ABN,billing,,+4470000008,voice,0,0,,",
    "I1,2026-03-02T09:03:00,,,2026-03-02T09:04:00,60,,,,,,IVR,,,+4470000009,voice,0,0,,",
    "T1,2026-03-02T09:04:00,2026-03-02T09:04:30,2026-03-02T09:04:35,2026-03-02T09:06:35,30,5,120,0,0,0,ANS,billing,ag9,+4470000010,voice,0,0,test,answered_within_sl",
]  # fmt: skip


def _config(variant: str) -> AppConfig:
    return parse_app_config(
        {
            "centres": {
                "hand": {
                    "timezone": "Europe/London",
                    "short_abandon_seconds": 5,
                    "service_level": {"threshold_seconds": 20, "target": 0.8, "variant": variant},
                    "sources": {"acd": {"adapter": "generic_csv", "mapping": "acd_calls.toml"}},
                }
            }
        }
    )


def _run(ports: Ports, settings: Settings, variant: str) -> dict[str, object]:
    config = _config(variant)
    ports.store.put("raw", "hand/acd/calls-2026-03-02.csv", ("\n".join([HEADER, *ROWS]) + "\n").encode())
    manifest = process_upload(ports, config, settings, "hand/acd/calls-2026-03-02.csv")
    assert (manifest.rows_read, manifest.rows_stored, manifest.rows_quarantined) == (10, 10, 0)
    materialise_kpis(ports, config.centre("hand"), date(2026, 3, 2), date(2026, 3, 2))
    rows = ports.engine.query("SELECT * FROM kpi_daily WHERE centre_id = :c", {"c": "hand"}).to_pylist()
    billing = [r for r in rows if r["queue"] == "billing"]
    assert len(billing) == 1
    return billing[0]


def test_daily_counts_and_means(ports: Ports, settings: Settings) -> None:
    day = _run(ports, settings, "abandons_ignored")
    # The test call (T1) is excluded from business KPIs; the IVR call is not offered to an agent.
    assert day["offered"] == 8
    assert day["answered"] == 4
    assert day["short_abandoned"] == 1  # B1 waited 3 s < 5 s
    assert day["abandoned"] == 3  # B2, B3, B4
    assert day["answered_within_sl"] == 2  # A1 (10 s), A2 (20 s)
    assert day["abandoned_within_sl"] == 2  # B1 (3 s), B2 (15 s)
    assert day["asa_seconds"] == pytest.approx((10 + 20 + 30 + 50) / 4)
    # AHT = (talk + hold + wrap) / answered = (200 + 300 + 150 + 330) / 4
    assert day["aht_seconds"] == pytest.approx((180 + 20 + 240 + 60 + 0 + 100 + 50 + 300 + 30) / 4)
    assert day["longest_wait_seconds"] == 90
    assert day["avg_time_to_abandon_seconds"] == pytest.approx((15 + 60 + 90) / 3)
    # abandon rate excludes short abandons from both sides: 3 / (8 - 1)
    assert day["abandon_rate"] == pytest.approx(3 / 7)
    # abandons ignored: answered within / (offered - abandoned within) = 2 / (8 - 2)
    assert day["service_level"] == pytest.approx(2 / 6)


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("answered_only", 2 / 4),
        ("abandons_negative", 2 / 8),
        ("short_abandons_positive", (2 + 2) / 8),
    ],
)
def test_service_level_variants(ports: Ports, settings: Settings, variant: str, expected: float) -> None:
    assert _run(ports, settings, variant)["service_level"] == pytest.approx(expected)


def test_interval_rows_sum_to_the_day(ports: Ports, settings: Settings) -> None:
    _run(ports, settings, "abandons_ignored")
    intervals = ports.engine.query(
        "SELECT interval_start, offered, answered, abandoned FROM kpi_interval WHERE queue = 'billing' "
        "ORDER BY interval_start"
    ).to_pylist()
    assert [(str(r["interval_start"]), r["offered"], r["answered"], r["abandoned"]) for r in intervals] == [
        ("2026-03-02 09:00:00", 4, 2, 1),  # A1 A2 B1(short) B2
        ("2026-03-02 09:15:00", 4, 2, 2),  # A3 A4 B3 B4
    ]
