"""The executive report's "three things to know": plain-language sentences generated from the figures.

Candidate facts come from plan-vs-actual rows (a KPI off plan, or well inside it), cost per contact
against budget, and the trend report (a significant trend, a significant week-over-week change, an
anomalous day). Each fact gets a score — misses before successes, larger and more certain effects
first — and the three best are kept, at most two per centre so one site cannot crowd out the others.
Sentences name the statistical test behind any "rising"/"fell" claim; nothing is claimed from a test
that was not significant or not run (too few contacts).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contactlake.report.model import GBP, Column, Format, NumberStyle, format_value

__all__ = [
    "TREND_COLUMNS",
    "Fact",
    "from_anomaly",
    "from_change",
    "from_plan",
    "from_trend",
    "measure_name",
    "top_findings",
    "trend_facts",
]

#: (what it is called in a sentence, format, True if higher is better / None if neither).
_MEASURES: dict[str, tuple[str, Format, bool | None]] = {
    "offered": ("contacts offered", "int", None),
    "offered_per_day": ("contacts offered per day", "int", None),
    "service_level": ("service level", "pct", True),
    "abandon_rate": ("abandon rate", "pct", False),
    "asa_seconds": ("average speed of answer", "seconds", False),
    "aht_seconds": ("average handle time", "seconds", None),
    "cost_per_contact": ("cost per contact", "money", False),
    "staff_cost": ("staff cost", "money", False),
}
_WEIGHT = {
    "service_level": 1.0,
    "abandon_rate": 0.9,
    "cost_per_contact": 0.9,
    "staff_cost": 0.7,
    "asa_seconds": 0.6,
    "aht_seconds": 0.5,
    "offered_per_day": 0.5,
    "offered": 0.5,
}

TREND_COLUMNS = (
    Column("centre", "Centre"),
    Column("measure", "Measure"),
    Column("direction", "Direction"),
    Column("p_value", "p value", "decimal"),
    Column("slope_per_week", "Change per week", "decimal"),
    Column("days", "Days used", "int"),
)


@dataclass(frozen=True)
class Fact:
    centre: str
    measure: str
    score: float
    text: str


def measure_name(measure: str) -> str:
    """How a measure is called in sentences and tables ("abandon rate")."""
    return _name(measure)


def _name(measure: str) -> str:
    return _MEASURES.get(measure, (measure.replace("_", " "), "decimal", None))[0]


def _fmt(measure: str, value: float | None, style: NumberStyle = GBP) -> str:
    return format_value(value, _MEASURES.get(measure, ("", "decimal", None))[1], style)


def _gap(measure: str, actual: float, target: float, style: NumberStyle = GBP) -> str:
    fmt = _MEASURES.get(measure, ("", "decimal", None))[1]
    if fmt == "pct":
        return f"{abs(actual - target) * 100:.1f} points"
    if target:
        return f"{abs(actual - target) / abs(target):.0%}"
    return _fmt(measure, abs(actual - target), style)


def _usable(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def from_plan(centre: str, row: Mapping[str, Any], style: NumberStyle = GBP) -> Fact | None:
    """A KPI against its plan target: misses score high, comfortable successes low. ``style`` is the
    centre's own (its money in its currency)."""
    measure, verdict = str(row.get("kpi")), row.get("on_target")
    if not (_usable(row.get("actual")) and _usable(row.get("target"))) or verdict is None:
        return None
    actual, target = float(row["actual"]), float(row["target"])
    size = min(abs(float(row.get("variance_pct") or 0.0)), 1.0)
    weight = _WEIGHT.get(measure, 0.4)
    better = _MEASURES.get(measure, ("", "", None))[2]
    if verdict:
        if size < 0.03:
            return None
        where = "better than" if better is not None else "within ±10 % of"
        text = (
            f"{centre} is on plan for {_name(measure)}: {_fmt(measure, actual, style)} against "
            f"{_fmt(measure, target, style)} ({_gap(measure, actual, target, style)} {where} plan)."
        )
        return Fact(centre, measure, 0.5 + size * weight, text)
    if better is None:
        side = "above" if actual > target else "below"
        text = (
            f"At {centre}, {_name(measure)} averaged {_fmt(measure, actual, style)}, "
            f"{_gap(measure, actual, target, style)} "
            f"{side} the plan of {_fmt(measure, target, style)}: outside the ±10 % planning band, so plans "
            "built on it need revisiting."
        )
    else:
        text = (
            f"{centre} missed its {_name(measure)} target: {_fmt(measure, actual, style)} against "
            f"{_fmt(measure, target, style)}, {_gap(measure, actual, target, style)} "
            f"{'short' if better else 'over'}."
        )
    return Fact(centre, measure, 2.0 + size * weight * 3, text)


def from_trend(centre: str, trend: Any) -> Fact | None:
    """A significant long-term trend (seasonal Mann-Kendall or whatever the trend report names)."""
    direction, p_value = getattr(trend, "direction", None), getattr(trend, "p_value", None)
    if direction not in ("up", "down") or p_value is None or p_value >= 0.05:
        return None
    measure = str(trend.measure)
    better = _MEASURES.get(measure, ("", "", None))[2]
    verdict = (
        "" if better is None else (" (an improvement)" if (direction == "up") == better else " (a worsening)")
    )
    text = (
        f"At {centre}, {_name(measure)} has been {'rising' if direction == 'up' else 'falling'} over "
        f"{trend.days} days{verdict}; {_test(trend.method)}, p = {p_value:.3f}."
    )
    return Fact(centre, measure, 1.4 + (0.3 if p_value < 0.01 else 0.0), text)


def from_change(centre: str, change: Any) -> Fact | None:
    """A significant week-over-week change."""
    if not getattr(change, "significant", False) or change.current is None or change.previous is None:
        return None
    measure = str(change.measure)
    fmt = _MEASURES.get(measure, ("", "decimal", None))[1]
    moved = "rose" if change.current > change.previous else "fell"
    amount = (
        f"{abs(change.current - change.previous) * 100:.1f} points"
        if fmt == "pct"
        else f"{abs(change.change_pct or 0):.0%}"
    )
    text = (
        f"At {centre}, {_name(measure)} {moved} {amount} in the last 7 days compared with the 7 before "
        f"({_fmt(measure, change.previous)} → {_fmt(measure, change.current)}; {_test(change.method)}, "
        f"p = {change.p_value:.3f})."
    )
    return Fact(centre, measure, 1.2 + min(abs(change.change_pct or 0.0), 1.0), text)


def from_anomaly(centre: str, anomaly: Any) -> Fact:
    """A day far from its same-weekday baseline."""
    measure = str(anomaly.measure)
    side = "above" if anomaly.value > anomaly.baseline else "below"
    text = (
        f"{anomaly.date:%A %d %B} at {centre} was unusual: {_name(measure)} {_fmt(measure, anomaly.value)}, "
        f"well {side} the usual {_fmt(measure, anomaly.baseline)} for that weekday "
        f"(robust z = {anomaly.z:.1f})."
    )
    return Fact(centre, measure, 1.0 + min(abs(anomaly.z) / 10, 1.0), text)


def _test(method: str) -> str:
    """The test's name from a method string ('label: two-proportion z-test (…)' → 'two-proportion z-test')."""
    text = method.split(":", 1)[1] if ":" in method.split(";")[0] else method
    return text.split(";")[0].split(",")[0].split("(")[0].strip()


def trend_facts(centre: str, report: Any) -> list[Fact]:
    facts: list[Fact | None] = [from_trend(centre, t) for t in getattr(report, "trends", ())]
    facts += [from_change(centre, c) for c in getattr(report, "week_over_week", ()) or ()]
    facts += [from_anomaly(centre, a) for a in getattr(report, "anomalies", ()) or ()]
    return [f for f in facts if f is not None]


def top_findings(facts: Iterable[Fact | None], count: int = 3, per_centre: int = 2) -> list[str]:
    """The ``count`` best facts, no two about the same centre and measure, at most ``per_centre`` each."""
    chosen: list[Fact] = []
    seen: set[tuple[str, str]] = set()
    per: Counter[str] = Counter()
    for fact in sorted((f for f in facts if f is not None), key=lambda f: (-f.score, f.text)):
        if (fact.centre, fact.measure) in seen or per[fact.centre] >= per_centre:
            continue
        chosen.append(fact)
        seen.add((fact.centre, fact.measure))
        per[fact.centre] += 1
        if len(chosen) == count:
            break
    return [f.text for f in chosen]
