"""Erlang C and Erlang A staffing in plain Python (no numpy, no scipy), numerically stable.

Conventions follow the pyworkforce library (its published test vectors are reproduced exactly by
``tests/unit/analyse/test_erlang.py``):

* traffic ``A = arrivals / interval x AHT`` (Erlangs); any time unit, used consistently;
* Erlang C: search upward from ``round(A + 1)`` agents for the first meeting the service-level target;
  if that exceeds the occupancy cap, use ``ceil(A / max_occupancy)`` instead;
* Erlang A (M/M/c+M): the smallest ``c >= max(1, ceil(A))`` meeting the service-level target, the
  occupancy cap and the abandonment cap, from the exact stationary distribution of the birth-death chain;
* positions after shrinkage: ``ceil(raw / (1 - shrinkage))``.

Erlang B is computed with the inverse recursion ``1/B(n) = 1 + n/A x 1/B(n-1)`` (no factorials, no
overflow). For Erlang A's service level, the probability that a customer who finds ``j`` others
waiting is answered within ``t`` has a closed form (derived in docs/adr/0006-staffing-and-forecast.md):
``b / (b + j + 1) x I_p(j + 1, b + 1)`` with ``b = c mu / theta``, ``p = 1 - exp(-theta t)`` and ``I`` the
regularised incomplete beta function, evaluated for integer first argument as a negative-binomial sum
in log space. That is exact (no uniformisation truncation) and O(queue length) per evaluation, so a
month of 15-minute intervals is computed in well under a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ErlangAResult",
    "ErlangCResult",
    "erlang_a",
    "erlang_a_metrics",
    "erlang_b",
    "erlang_c",
    "erlang_c_service_level",
    "erlang_c_wait_probability",
    "traffic_erlangs",
]

#: Stationary distribution tail below this share of the mass is dropped (as pyworkforce does).
_TAIL = 1e-15


def traffic_erlangs(arrivals: float, aht: float, interval: float) -> float:
    """Offered load A = arrival rate x AHT."""
    if interval <= 0:
        raise ValueError(f"interval must be positive, got {interval}")
    return arrivals / interval * aht


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability of an M/M/c/c system (iterative, stable for any size)."""
    if agents < 0:
        raise ValueError(f"agents must be >= 0, got {agents}")
    if traffic <= 0:
        return 0.0
    inverse = 1.0
    for n in range(1, agents + 1):
        inverse = 1.0 + inverse * n / traffic
    return 1.0 / inverse


def erlang_c_wait_probability(traffic: float, agents: int) -> float:
    """P(an arrival waits) in M/M/c; 1 when the system is overloaded (agents <= traffic)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    blocking = erlang_b(traffic, agents)
    return agents * blocking / (agents - traffic * (1 - blocking))


def erlang_c_service_level(traffic: float, agents: int, aht: float, threshold: float) -> float:
    """Share answered within ``threshold``: 1 - P(wait) x exp(-(c - A) x threshold / AHT)."""
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    wait = erlang_c_wait_probability(traffic, agents)
    return max(0.0, 1.0 - wait * math.exp(-(agents - traffic) * threshold / aht))


def _positions(raw: int, shrinkage: float) -> int:
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage}")
    return math.ceil(raw / (1 - shrinkage))


@dataclass(frozen=True)
class ErlangCResult:
    traffic: float
    raw_positions: int
    positions: int
    service_level: float
    occupancy: float
    waiting_probability: float


def erlang_c(
    arrivals: float,
    aht: float,
    interval: float,
    threshold: float,
    target: float,
    max_occupancy: float = 1.0,
    shrinkage: float = 0.0,
) -> ErlangCResult:
    """Agents required by Erlang C for ``target`` service level within ``threshold``."""
    if not 0 <= target <= 1 or not 0 < max_occupancy <= 1:
        raise ValueError(f"target {target} must be in [0, 1] and max_occupancy {max_occupancy} in (0, 1]")
    traffic = traffic_erlangs(arrivals, aht, interval)
    if traffic <= 0:
        return ErlangCResult(0.0, 0, 0, 1.0, 0.0, 0.0)
    agents = round(traffic + 1)
    level = erlang_c_service_level(traffic, agents, aht, threshold)
    while level < target:
        agents += 1
        level = erlang_c_service_level(traffic, agents, aht, threshold)
    occupancy = traffic / agents
    if occupancy > max_occupancy:
        agents = math.ceil(traffic / max_occupancy)
        occupancy = traffic / agents
        level = erlang_c_service_level(traffic, agents, aht, threshold)
    return ErlangCResult(
        traffic=traffic,
        raw_positions=agents,
        positions=_positions(agents, shrinkage),
        service_level=level,
        occupancy=occupancy,
        waiting_probability=erlang_c_wait_probability(traffic, agents),
    )


@dataclass(frozen=True)
class ErlangAResult:
    traffic: float
    raw_positions: int
    positions: int
    service_level: float
    occupancy: float
    waiting_probability: float
    abandon_probability: float
    average_speed_of_answer: float


@dataclass(frozen=True)
class _Chain:
    """Stationary distribution of M/M/c+M and what follows from it."""

    probs: tuple[float, ...]
    agents: int
    waiting_probability: float
    abandon_probability: float
    occupancy: float
    average_speed_of_answer: float


def _chain(arrival_rate: float, service_rate: float, abandon_rate: float, agents: int) -> _Chain:
    probs = [1.0]
    total, n = 1.0, 0
    while True:
        n += 1
        death = min(n, agents) * service_rate + max(n - agents, 0) * abandon_rate
        term = probs[-1] * arrival_rate / death
        probs.append(term)
        total += term
        if n > agents and term < _TAIL * total:
            break
        if probs[-1] > 1e250:  # heavy traffic: rescale before overflowing
            probs = [p / 1e250 for p in probs]
            total /= 1e250
    norm = math.fsum(probs)
    probs = [p / norm for p in probs]
    waiting = math.fsum(probs[agents:])
    queue_length = math.fsum((k - agents) * probs[k] for k in range(agents, len(probs)))
    abandon = abandon_rate * queue_length / arrival_rate
    return _Chain(
        probs=tuple(probs),
        agents=agents,
        waiting_probability=waiting,
        abandon_probability=abandon,
        occupancy=arrival_rate * (1 - abandon) / (agents * service_rate),
        average_speed_of_answer=queue_length / arrival_rate,
    )


def _served_within(chain: _Chain, service_rate: float, abandon_rate: float, threshold: float) -> float:
    """P(answered within ``threshold``) for an arrival, by the closed form in the module docstring."""
    c, probs = chain.agents, chain.probs
    level = math.fsum(probs[:c])
    if threshold <= 0:
        return level
    b = c * service_rate / abandon_rate
    beta = b + 1
    theta_t = abandon_rate * threshold
    log_one_minus_y = math.log(-math.expm1(-theta_t))  # log(1 - exp(-theta t))
    log_q = -theta_t * beta  # log of the negative-binomial pmf at k = 0: y ** beta
    cumulative = 0.0
    delayed = []
    for j in range(len(probs) - c):
        cumulative += math.exp(log_q)
        delayed.append(probs[c + j] * b / (b + j + 1) * max(0.0, 1.0 - cumulative))
        log_q += math.log((beta + j) / (j + 1)) + log_one_minus_y
    return min(1.0, level + math.fsum(delayed))


def erlang_a_metrics(
    arrivals: float, aht: float, interval: float, patience: float, agents: int, threshold: float
) -> ErlangAResult:
    """Erlang A performance of ``agents`` agents (shrinkage not applied: positions == agents)."""
    if agents <= 0 or patience <= 0 or aht <= 0:
        raise ValueError(f"agents ({agents}), patience ({patience}) and aht ({aht}) must be positive")
    arrival_rate = arrivals / interval
    service_rate, abandon_rate = 1.0 / aht, 1.0 / patience
    chain = _chain(arrival_rate, service_rate, abandon_rate, agents)
    return ErlangAResult(
        traffic=arrival_rate * aht,
        raw_positions=agents,
        positions=agents,
        service_level=_served_within(chain, service_rate, abandon_rate, threshold),
        occupancy=chain.occupancy,
        waiting_probability=chain.waiting_probability,
        abandon_probability=chain.abandon_probability,
        average_speed_of_answer=chain.average_speed_of_answer,
    )


def erlang_a(
    arrivals: float,
    aht: float,
    interval: float,
    threshold: float,
    target: float,
    patience: float,
    max_occupancy: float = 1.0,
    max_abandonment: float = 1.0,
    shrinkage: float = 0.0,
) -> ErlangAResult:
    """Agents required by Erlang A: service level, occupancy cap and abandonment cap all met."""
    if not 0 <= target <= 1 or not 0 < max_occupancy <= 1 or not 0 <= max_abandonment <= 1:
        raise ValueError("target and max_abandonment must be in [0, 1], max_occupancy in (0, 1]")
    traffic = traffic_erlangs(arrivals, aht, interval)
    if traffic <= 0:
        return ErlangAResult(0.0, 0, 0, 1.0, 0.0, 0.0, 0.0, 0.0)
    arrival_rate = arrivals / interval
    service_rate, abandon_rate = 1.0 / aht, 1.0 / patience
    agents = max(1, math.ceil(traffic))
    while True:
        chain = _chain(arrival_rate, service_rate, abandon_rate, agents)
        # The cheap constraints first: the service level is only evaluated once they hold.
        if chain.occupancy <= max_occupancy and chain.abandon_probability <= max_abandonment:
            level = _served_within(chain, service_rate, abandon_rate, threshold)
            if level >= target:
                break
        agents += 1
    return ErlangAResult(
        traffic=traffic,
        raw_positions=agents,
        positions=_positions(agents, shrinkage),
        service_level=level,
        occupancy=chain.occupancy,
        waiting_probability=chain.waiting_probability,
        abandon_probability=chain.abandon_probability,
        average_speed_of_answer=chain.average_speed_of_answer,
    )
