"""Erlang C and Erlang A reproduce the pyworkforce library's published test vectors exactly."""

from __future__ import annotations

import math

import pytest

from contactlake.analyse.erlang import (
    erlang_a,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_service_level,
    erlang_c_wait_probability,
    traffic_erlangs,
)

# 100 calls in 30 minutes, AHT 3 minutes, 80 % answered within 20 seconds (times in minutes).
CALLS, AHT, INTERVAL, THRESHOLD = 100, 3.0, 30.0, 20 / 60


def test_erlang_c_pyworkforce_vector() -> None:
    result = erlang_c(CALLS, AHT, INTERVAL, THRESHOLD, target=0.8, max_occupancy=0.85, shrinkage=0.3)
    assert result.traffic == 10.0
    assert (result.raw_positions, result.positions) == (14, 20)  # 20 = ceil(14 / (1 - 0.3))
    assert round(result.service_level, 5) == 0.88835
    assert round(result.occupancy, 6) == 0.714286
    assert round(result.waiting_probability, 6) == 0.174132


def test_erlang_a_pyworkforce_vector() -> None:
    result = erlang_a(CALLS, AHT, INTERVAL, THRESHOLD, target=0.8, patience=5.0, max_occupancy=0.85,
                      max_abandonment=0.05, shrinkage=0.3)  # fmt: skip
    assert (result.raw_positions, result.positions) == (13, 19)
    assert round(result.service_level, 3) == 0.858
    assert round(result.occupancy, 3) == 0.750
    assert round(result.abandon_probability, 3) == 0.025


def test_erlang_a_metrics_match_pyworkforce_regression_snapshot() -> None:
    """pyworkforce's exact stationary metrics for 14 agents (its test_erlanga_regression_metrics)."""
    m = erlang_a_metrics(CALLS, AHT, INTERVAL, patience=5.0, agents=14, threshold=THRESHOLD)
    assert round(m.waiting_probability, 5) == 0.14526
    assert round(m.abandon_probability, 6) == 0.013984
    assert round(m.occupancy, 6) == 0.704297
    assert round(m.average_speed_of_answer, 6) == 0.069919
    assert round(m.service_level, 6) == 0.916792


def test_erlang_a_converges_to_erlang_c_with_infinite_patience() -> None:
    for agents in (11, 15, 20):
        a = erlang_a_metrics(CALLS, AHT, INTERVAL, patience=1e7, agents=agents, threshold=THRESHOLD)
        assert a.waiting_probability == pytest.approx(erlang_c_wait_probability(10.0, agents), abs=1e-5)
        assert a.service_level == pytest.approx(
            erlang_c_service_level(10.0, agents, AHT, THRESHOLD), abs=1e-5
        )


def test_erlang_b_recursion_matches_the_closed_form_and_stays_finite() -> None:
    closed = (10**5 / math.factorial(5)) / sum(10**k / math.factorial(k) for k in range(6))
    assert erlang_b(10.0, 5) == pytest.approx(closed)
    assert 0 < erlang_b(5000.0, 5100) < 1  # factorials would overflow here


def test_occupancy_cap_raises_the_requirement() -> None:
    # A 50 % target needs few agents, but a 70 % occupancy cap needs ceil(10 / 0.7) = 15.
    result = erlang_c(CALLS, AHT, INTERVAL, THRESHOLD, target=0.5, max_occupancy=0.7)
    assert result.raw_positions == 15
    assert result.occupancy == pytest.approx(10 / 15)


def test_no_traffic_needs_no_agents() -> None:
    assert erlang_c(0, AHT, INTERVAL, THRESHOLD, 0.8).raw_positions == 0
    assert erlang_a(0, AHT, INTERVAL, THRESHOLD, 0.8, patience=5).raw_positions == 0
    assert traffic_erlangs(40, 300, 900) == pytest.approx(40 * 300 / 900)


def test_overloaded_systems() -> None:
    assert erlang_c_wait_probability(10.0, 10) == 1.0
    assert erlang_c_service_level(10.0, 9, AHT, THRESHOLD) == 0.0
    # Erlang A stays stable under overload: abandonment keeps the queue finite.
    assert (
        0
        < erlang_a_metrics(
            CALLS, AHT, INTERVAL, patience=5.0, agents=8, threshold=THRESHOLD
        ).abandon_probability
        < 1
    )
    with pytest.raises(ValueError, match="shrinkage"):
        erlang_c(CALLS, AHT, INTERVAL, THRESHOLD, 0.8, shrinkage=1.0)
