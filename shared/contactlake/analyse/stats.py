"""Small, dependency-free statistics for trends and anomalies (math only; no scipy).

* :func:`mann_kendall` / :func:`seasonal_mann_kendall` — the (seasonal) Mann-Kendall trend test with
  the tie-corrected variance and continuity correction, two-sided p-value from the normal
  approximation; Sen's slope as the trend's size.
* :func:`wilson_interval` — the Wilson score interval for a proportion (good at small n and near 0 or 1,
  unlike the normal "Wald" interval).
* :func:`robust_z` — (x - median) / (1.4826 x MAD), the modified z-score of Iglewicz and Hoaglin; |z| > 3.5
  is their recommended outlier cut-off.
* :func:`two_proportion_test` and :func:`poisson_rate_test` — is a change between two periods more than
  noise? (normal approximations; each result says which).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MIN_CONTACTS",
    "MIN_TREND_POINTS",
    "OUTLIER_Z",
    "Trend",
    "mann_kendall",
    "normal_two_sided_p",
    "poisson_rate_test",
    "robust_z",
    "seasonal_mann_kendall",
    "sen_slope",
    "two_proportion_test",
    "wilson_interval",
]

#: Below this many contacts a rate is reported but no claim (trend, change, target met) is made from it.
MIN_CONTACTS = 30
#: Mann-Kendall's normal approximation needs about this many points to mean anything.
MIN_TREND_POINTS = 8
#: Modified z-score beyond which a value is an anomaly (Iglewicz and Hoaglin, 1993).
OUTLIER_Z = 3.5


def normal_two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2))


@dataclass(frozen=True)
class Trend:
    direction: str  # "up" | "down" | "none" | "insufficient data"
    p_value: float | None
    slope_per_step: float | None
    n: int
    s_statistic: int
    method: str


def sen_slope(values: Sequence[float]) -> float:
    """Median of the pairwise slopes (robust to outliers)."""
    slopes = [
        (values[j] - values[i]) / (j - i) for i in range(len(values)) for j in range(i + 1, len(values))
    ]
    return statistics.median(slopes) if slopes else 0.0


def _s_and_variance(values: Sequence[float]) -> tuple[int, float]:
    """Kendall's S and its variance under no trend, corrected for ties."""
    n = len(values)
    s = 0
    for i in range(n - 1):
        for j in range(i + 1, n):
            diff = values[j] - values[i]
            s += (diff > 0) - (diff < 0)
    ties: dict[float, int] = {}
    for value in values:
        ties[value] = ties.get(value, 0) + 1
    variance = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties.values())) / 18
    return s, variance


def _trend(s: int, variance: float, n: int, slope: float, alpha: float, method: str) -> Trend:
    if n < MIN_TREND_POINTS:
        return Trend("insufficient data", None, None, n, s, f"{method}; needs >= {MIN_TREND_POINTS} points")
    if variance <= 0:
        return Trend("none", 1.0, 0.0, n, s, method)
    z = (s - 1) / math.sqrt(variance) if s > 0 else (s + 1) / math.sqrt(variance) if s < 0 else 0.0
    p = normal_two_sided_p(z)
    direction = "none" if p >= alpha else ("up" if s > 0 else "down")
    return Trend(direction, p, slope, n, s, method)


def mann_kendall(values: Sequence[float], alpha: float = 0.05) -> Trend:
    """Monotonic trend test over equally spaced values (missing values must be removed first)."""
    s, variance = _s_and_variance(values)
    method = (
        "Mann-Kendall test (two-sided, normal approximation, tie and continuity corrected), "
        f"alpha {alpha:g}; slope = Sen's estimator per step"
    )
    return _trend(s, variance, len(values), sen_slope(values) if len(values) > 1 else 0.0, alpha, method)


def seasonal_mann_kendall(seasons: Sequence[Sequence[float]], alpha: float = 0.05) -> Trend:
    """Hirsch's seasonal Mann-Kendall: S and its variance summed over seasons (e.g. days of the week).

    Comparing Mondays with Mondays removes the weekly cycle, which would otherwise swamp the test on
    daily contact-centre data. The slope is the median of within-season slopes, per season cycle.
    """
    s_total, variance_total, n = 0, 0.0, 0
    slopes: list[float] = []
    for values in seasons:
        if len(values) < 2:
            n += len(values)
            continue
        s, variance = _s_and_variance(values)
        s_total += s
        variance_total += variance
        n += len(values)
        slopes += [
            (values[j] - values[i]) / (j - i) for i in range(len(values)) for j in range(i + 1, len(values))
        ]
    method = (
        f"seasonal Mann-Kendall test (Hirsch; season = day of week; two-sided, normal approximation, tie and "
        f"continuity corrected), alpha {alpha:g}; slope = seasonal Kendall (Sen) slope per week"
    )
    return _trend(s_total, variance_total, n, statistics.median(slopes) if slopes else 0.0, alpha, method)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of successes / n; None when n == 0."""
    if n <= 0:
        return None
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def robust_z(value: float, baseline: Sequence[float]) -> tuple[float, float, float] | None:
    """(median, MAD-scaled spread, modified z) of ``value`` against ``baseline``; None if it has < 3 points.

    A baseline with no spread at all (MAD = 0) falls back to the mean absolute deviation, then to 1, so
    a constant history still flags a real departure without dividing by zero.
    """
    if len(baseline) < 3:
        return None
    median = statistics.median(baseline)
    mad = statistics.median(abs(x - median) for x in baseline)
    spread = 1.4826 * mad
    if spread == 0:
        spread = 1.2533 * statistics.fmean(abs(x - median) for x in baseline) or 1.0
    return median, spread, (value - median) / spread


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value that two proportions differ (pooled normal approximation); None if n is 0."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return 1.0
    return normal_two_sided_p((x1 / n1 - x2 / n2) / math.sqrt(variance))


def poisson_rate_test(count1: float, count2: float) -> float | None:
    """Two-sided p-value that two counts over equal exposure differ (conditional binomial, normal approx)."""
    total = count1 + count2
    if total <= 0:
        return None
    return normal_two_sided_p((count1 - total / 2) / math.sqrt(total / 4))
