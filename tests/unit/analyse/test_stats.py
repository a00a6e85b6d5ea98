"""The trend and interval statistics against values worked out by hand or published."""

from __future__ import annotations

import math

import pytest

from contactlake.analyse.stats import (
    mann_kendall,
    poisson_rate_test,
    robust_z,
    seasonal_mann_kendall,
    sen_slope,
    two_proportion_test,
    wilson_interval,
)


def test_mann_kendall_on_a_strictly_rising_series() -> None:
    trend = mann_kendall(list(range(1, 11)))
    # S = 45 (all 45 pairs rise); Var(S) = 10 * 9 * 25 / 18 = 125; z = (45 - 1) / sqrt(125).
    assert trend.s_statistic == 45
    assert trend.p_value == pytest.approx(math.erfc((44 / math.sqrt(125)) / math.sqrt(2)))
    assert (trend.direction, trend.slope_per_step) == ("up", 1.0)


def test_mann_kendall_tie_correction() -> None:
    trend = mann_kendall([1.0, 1.0, 2.0, 3.0, 2.0, 4.0, 3.0, 5.0])
    # S = 6 + 6 + 4 + 1 + 3 + 0 + 1 = 21; three pairs of ties: Var = (8*7*21 - 3 * 2*1*9) / 18 = 1122 / 18.
    assert trend.s_statistic == 21
    assert trend.p_value == pytest.approx(math.erfc((20 / math.sqrt(1122 / 18)) / math.sqrt(2)))
    assert trend.direction == "up"


def test_mann_kendall_without_trend() -> None:
    trend = mann_kendall([3.0, 1.0, 3.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    assert (trend.s_statistic, trend.p_value, trend.direction) == (0, 1.0, "none")


def test_too_few_points_make_no_claim() -> None:
    trend = mann_kendall([1.0, 2.0, 3.0])
    assert (trend.direction, trend.p_value) == ("insufficient data", None)


def test_seasonal_mann_kendall_compares_like_with_like() -> None:
    # A weekly cycle (weekends low) rising by 10 a week: plain MK sees noise, seasonal MK sees the rise.
    week = [100, 100, 100, 100, 100, 30, 20]
    seasons = [[w + 10 * k for k in range(3)] for w in week]
    trend = seasonal_mann_kendall(seasons)
    # Each weekday: S = 3, Var = 3 * 2 * 11 / 18; summed over 7 seasons.
    variance = 7 * (3 * 2 * 11 / 18)
    assert trend.s_statistic == 21
    assert trend.p_value == pytest.approx(math.erfc(((21 - 1) / math.sqrt(variance)) / math.sqrt(2)))
    assert (trend.direction, trend.slope_per_step) == ("up", 10.0)


def test_sen_slope_ignores_an_outlier() -> None:
    assert sen_slope([1, 2, 3, 100, 5, 6]) == 1.0


def test_wilson_interval_published_value() -> None:
    low, high = wilson_interval(70, 100)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.6042, 0.7811)
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 10)  # type: ignore[misc]
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)


def test_robust_z() -> None:
    median, spread, z = robust_z(200.0, [100.0, 110.0, 90.0, 105.0, 95.0])  # type: ignore[misc]
    # median 100, MAD = median(|0|, 10, 10, 5, 5) = 5, spread = 1.4826 * 5
    assert (median, spread) == (100.0, pytest.approx(7.413))
    assert z == pytest.approx(100 / 7.413)
    assert robust_z(1.0, [1.0, 2.0]) is None


def test_period_change_tests() -> None:
    p = two_proportion_test(80, 100, 60, 100)
    pooled = 140 / 200
    expected_z = 0.2 / math.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert p == pytest.approx(math.erfc(expected_z / math.sqrt(2)))
    assert poisson_rate_test(100, 100) == pytest.approx(1.0)
    assert poisson_rate_test(150, 100) == pytest.approx(math.erfc((25 / math.sqrt(62.5)) / math.sqrt(2)))
