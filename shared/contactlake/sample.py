"""Realistic nightly exports for demos, tests and benchmarks (seeded, so every run is the same).

Arrivals follow an intraday curve (morning and early-afternoon peaks) scaled by day of week; each
15-minute interval's count is Poisson. Callers go through an IVR (some are served there, some hang up),
then queue for agents; the queue is simulated first-come-first-served against the interval's staffing,
with exponentially distributed patience, so waits and abandonment *follow from staffing* rather than
being drawn independently. Handle times are lognormal. A few deliberately bad rows are added (an
unparseable time, an unknown outcome code, a repeated contact id, quarantined; a negative duration,
stored with a flag) so the demo shows quarantine and flags at work, and two synthetic test contacts with
known expected measurements.
"""

from __future__ import annotations

import csv
import heapq
import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

__all__ = [
    "CSV_HEADER",
    "CentreProfile",
    "Shift",
    "build_roster",
    "corrected_re_export",
    "generate_activity_rows",
    "generate_day",
    "write_sample",
]

CSV_HEADER = [
    "call_id", "start_time", "queue_start", "answer_time", "end_time", "ivr_secs", "wait_secs", "talk_secs",
    "hold_secs", "hold_count", "wrap_secs", "result", "queue", "agent", "caller_number", "channel",
    "transfers", "escalations", "disposition", "test_case",
]  # fmt: skip
ACTIVITY_HEADER = ["agent", "team", "state", "start", "end"]

# Share of a day's calls in each hour 00-23 (morning peak ~10:00, second peak ~14:00).
_HOURLY = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 2.5, 6.5, 9.0, 9.8, 9.2, 7.8, 7.9, 8.6, 8.1, 7.2, 6.1, 4.6,
           3.6, 2.9, 2.2, 1.4, 0.6]  # fmt: skip
_WEEKDAY = [1.18, 1.05, 1.0, 0.98, 0.95, 0.55, 0.35]  # Monday … Sunday
_RESULT_CODES = {"answered": "ANS", "abandoned": "ABN", "self_served": "IVR", "ivr_abandoned": "IVA"}
_QUEUES = (("billing", 0.45), ("sales", 0.25), ("support", 0.30))


@dataclass(frozen=True)
class CentreProfile:
    centre_id: str
    calls_per_weekday: int
    aht_seconds: float = 300.0
    patience_seconds: float = 110.0
    ivr_self_service: float = 0.22
    ivr_abandon: float = 0.03
    staffing_factor: float = 1.0  # < 1 under-staffs, so service level falls


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _lognormal(rng: random.Random, mean: float, cv: float) -> float:
    sigma = math.sqrt(math.log(1 + cv * cv))
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


def _staffed(profile: CentreProfile, expected_calls: float, interval_seconds: int) -> int:
    """Agents on the phones in an interval: the load plus a safety margin, scaled by staffing_factor."""
    erlangs = expected_calls * profile.aht_seconds / interval_seconds
    return max(1, round((erlangs + 0.4 * math.sqrt(max(erlangs, 0.1))) * profile.staffing_factor))


@dataclass(frozen=True)
class Shift:
    """One agent's day: on shift from ``start`` to ``end`` (seconds after midnight), minus ``away``."""

    agent: str
    team: str
    start: float
    end: float
    away: tuple[tuple[float, float, str], ...]  # (start, end, state) of breaks and training

    def available(self, t: float) -> bool:
        return self.start <= t < self.end and not any(a <= t < b for a, b, _ in self.away)


#: Share of a shift spent on breaks and training (the roster over-staffs by this to cover them).
_AWAY_SHARE = 0.12
_SHIFT_QUARTERS = 32  # 8 hours
_OPEN, _CLOSE = 28, 88  # 07:00-22:00 in quarters


def build_roster(profile: CentreProfile, day: date, rng: random.Random) -> list[Shift]:
    """Shifts that cover each interval's staffing need (greedy: start a shift where cover falls short)."""
    daily = profile.calls_per_weekday * _WEEKDAY[day.weekday()]
    need = {
        q: _staffed(profile, daily * _HOURLY[q // 4] / 100 / 4, 900) / (1 - _AWAY_SHARE) for q in range(96)
    }
    shifts: list[Shift] = []
    cover = [0] * 96
    for q in range(_OPEN, _CLOSE):
        while cover[q] < need[q]:
            n = len(shifts) + 1
            end_q = min(q + _SHIFT_QUARTERS, _CLOSE)
            for covered in range(q, end_q):
                cover[covered] += 1
            start, end = q * 900.0, end_q * 900.0
            away = []
            for offset_hours, minutes, state in (
                (2, 15, "BREAK"),
                (4, 30, "BREAK"),
                (6, 45 if n % 5 == 0 else 15, "TRAINING"),
            ):
                a = start + offset_hours * 3600 + rng.randrange(0, 20) * 60
                if a + minutes * 60 <= end:
                    away.append((a, a + minutes * 60, state))
            shifts.append(
                Shift(f"{profile.centre_id[:3].upper()}{n:03d}", f"team-{1 + n % 4}", start, end, tuple(away))
            )
    return shifts


def generate_day(
    profile: CentreProfile, day: date, rng: random.Random, roster: list[Shift] | None = None
) -> Iterator[dict[str, str]]:
    """One night's export for one centre: rows keyed by CSV_HEADER, wall-clock local times."""
    daily = profile.calls_per_weekday * _WEEKDAY[day.weekday()]
    midnight = datetime(day.year, day.month, day.day)
    shifts = roster if roster is not None else build_roster(profile, day, rng)
    agents_free: list[tuple[float, str]] = []
    arrivals: list[float] = []
    for quarter in range(96):
        expected = daily * _HOURLY[quarter // 4] / 100 / 4
        arrivals.extend(quarter * 900 + rng.random() * 900 for _ in range(_poisson(rng, expected)))
    arrivals.sort()
    busy_until: dict[str, float] = {}
    serial = 0
    for t in arrivals:
        serial += 1
        call_id = f"{profile.centre_id.upper()}-{day:%Y%m%d}-{serial:06d}"
        caller = f"+44 7{rng.randrange(100, 999)} {rng.randrange(100000, 999999)}"
        if rng.random() < 0.15:
            caller = f"+44 7700 9{rng.randrange(0, 300):05d}"  # repeat callers, for first-contact resolution
        ivr = _lognormal(rng, 45, 0.6)
        queue_name = rng.choices([q for q, _ in _QUEUES], [w for _, w in _QUEUES])[0]
        row = dict.fromkeys(CSV_HEADER, "")
        row.update(
            call_id=call_id,
            start_time=(midnight + timedelta(seconds=t)).isoformat(timespec="seconds"),
            ivr_secs=f"{ivr:.0f}",
            caller_number=caller,
            channel="voice",
            queue=queue_name,
            transfers="0",
            escalations="0",
            hold_count="0",
        )
        roll = rng.random()
        on_duty = sum(1 for shift in shifts if shift.available(t))
        if roll < profile.ivr_self_service or (on_duty == 0 and roll < 0.6):
            row.update(
                result=_RESULT_CODES["self_served"],
                queue="",
                end_time=(midnight + timedelta(seconds=t + ivr)).isoformat(timespec="seconds"),
            )
            yield row
            continue
        if roll < profile.ivr_self_service + profile.ivr_abandon or on_duty == 0:
            row.update(
                result=_RESULT_CODES["ivr_abandoned"],
                queue="",
                end_time=(midnight + timedelta(seconds=t + ivr)).isoformat(timespec="seconds"),
            )
            yield row
            continue
        enqueue = t + round(ivr)
        # Agents available now (on shift, not on a break); each is free from the end of their last contact.
        pool = [shift.agent for shift in shifts if shift.available(enqueue)] or [shifts[0].agent]
        agents_free = [(max(busy_until.get(a, 0.0), enqueue), a) for a in pool]
        heapq.heapify(agents_free)
        free_at, agent = agents_free[0]
        wait = max(0.0, free_at - enqueue)
        patience = rng.expovariate(1 / profile.patience_seconds)
        row["queue_start"] = (midnight + timedelta(seconds=enqueue)).isoformat(timespec="seconds")
        if wait > patience:
            row.update(
                result=_RESULT_CODES["abandoned"],
                wait_secs=f"{patience:.0f}",
                end_time=(midnight + timedelta(seconds=enqueue + round(patience))).isoformat(
                    timespec="seconds"
                ),
            )
            yield row
            continue
        wait = round(wait)
        talk = _lognormal(rng, profile.aht_seconds * 0.78, 0.7)
        hold = _lognormal(rng, 45, 0.8) if rng.random() < 0.18 else 0.0
        wrap = _lognormal(rng, profile.aht_seconds * 0.12, 0.5)
        answer = enqueue + wait
        end = answer + round(talk) + round(hold)
        busy_until[agent] = end + wrap
        transfers = 1 if rng.random() < 0.07 else 0
        escalations = 1 if rng.random() < 0.02 else 0
        row.update(
            result=_RESULT_CODES["answered"],
            agent=agent,
            wait_secs=f"{wait}",
            answer_time=(midnight + timedelta(seconds=answer)).isoformat(timespec="seconds"),
            end_time=(midnight + timedelta(seconds=end)).isoformat(timespec="seconds"),
            talk_secs=f"{talk:.0f}",
            hold_secs=f"{hold:.0f}",
            hold_count="1" if hold else "0",
            wrap_secs=f"{wrap:.0f}",
            transfers=str(transfers),
            escalations=str(escalations),
            disposition=rng.choice(["resolved", "resolved", "resolved", "follow_up", "complaint"]),
        )
        yield row


def _bad_rows(profile: CentreProfile, day: date, good: list[dict[str, str]]) -> list[dict[str, str]]:
    """Deliberately broken rows, one per common fault, so the demo shows quarantine and flags working."""
    template = next(r for r in good if r["result"] == "ANS")
    stem = f"{profile.centre_id.upper()}-{day:%Y%m%d}"
    bad_time = {**template, "call_id": f"{stem}-BAD001", "start_time": f"{day:%Y-%m-%d} 25:61:00"}
    negative = {**template, "call_id": f"{stem}-BAD002", "talk_secs": "-42"}
    unknown = {**template, "call_id": f"{stem}-BAD003", "result": "XFER?"}
    repeated = dict(template)  # the same call exported twice
    return [bad_time, negative, unknown, repeated]


def _test_contacts(profile: CentreProfile, day: date) -> list[dict[str, str]]:
    """Synthetic test calls placed by the centre's test plan, with outcomes known in advance."""
    stem = f"TEST-{profile.centre_id.upper()}-{day:%Y%m%d}"
    start = datetime(day.year, day.month, day.day, 10, 0)
    answered = dict.fromkeys(CSV_HEADER, "")
    answered.update(
        call_id=f"{stem}-A",
        start_time=start.isoformat(timespec="seconds"),
        queue_start=(start + timedelta(seconds=30)).isoformat(timespec="seconds"),
        answer_time=(start + timedelta(seconds=45)).isoformat(timespec="seconds"),
        end_time=(start + timedelta(seconds=45 + 120)).isoformat(timespec="seconds"),
        ivr_secs="30",
        wait_secs="15",
        talk_secs="120",
        hold_secs="0",
        hold_count="0",
        wrap_secs="30",
        result="ANS",
        queue="billing",
        agent="TESTAGENT",
        caller_number="+44 7700 900999",
        channel="voice",
        transfers="0",
        escalations="0",
        disposition="test",
        test_case="answered_within_sl",
    )
    abandoned = dict(answered)
    abandoned.update(
        call_id=f"{stem}-B",
        answer_time="",
        talk_secs="",
        hold_secs="",
        hold_count="",
        wrap_secs="",
        wait_secs="40",
        result="ABN",
        agent="",
        disposition="",
        end_time=(start + timedelta(seconds=70)).isoformat(timespec="seconds"),
        test_case="abandoned_after_40s",
    )
    return [answered, abandoned]


def generate_activity_rows(
    profile: CentreProfile, day: date, rng: random.Random, roster: list[Shift] | None = None
) -> list[dict[str, str]]:
    """Agent states for the day from the roster the calls were answered by: shifts, breaks, training."""
    midnight = datetime(day.year, day.month, day.day)

    def stamp(seconds: float) -> str:
        return (midnight + timedelta(seconds=seconds)).isoformat(timespec="seconds")

    rows = []
    for shift in roster if roster is not None else build_roster(profile, day, rng):
        spans = [(shift.start, shift.end, "STAFFED"), *shift.away]
        rows += [
            {"agent": shift.agent, "team": shift.team, "state": state, "start": stamp(a), "end": stamp(b)}
            for a, b, state in spans
        ]
    return rows


def _csv(rows: list[dict[str, str]], header: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


DEFAULT_PROFILES = (
    CentreProfile("north", calls_per_weekday=1400, staffing_factor=0.8),
    CentreProfile("south", calls_per_weekday=900, aht_seconds=340, staffing_factor=0.72, patience_seconds=90),
)


def write_sample(
    folder: Path,
    start: date,
    days: int,
    profiles: tuple[CentreProfile, ...] = DEFAULT_PROFILES,
    seed: int = 7,
    bad_rows: bool = True,
) -> list[Path]:
    """Write ``<folder>/<centre>/<source>/<day>.csv`` nightly exports; returns the files written."""
    rng = random.Random(seed)  # noqa: S311  (sample data, not security)
    written = []
    for profile in profiles:
        for offset in range(days):
            day = start + timedelta(days=offset)
            roster = build_roster(profile, day, rng)
            rows = list(generate_day(profile, day, rng, roster))
            if bad_rows:
                rows += _bad_rows(profile, day, rows) + _test_contacts(profile, day)
            path = folder / profile.centre_id / "acd" / f"calls-{day:%Y-%m-%d}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_csv(rows, CSV_HEADER), encoding="utf-8")
            activity = folder / profile.centre_id / "agents" / f"agents-{day:%Y-%m-%d}.csv"
            activity.parent.mkdir(parents=True, exist_ok=True)
            activity.write_text(
                _csv(generate_activity_rows(profile, day, rng, roster), ACTIVITY_HEADER), encoding="utf-8"
            )
            written += [path, activity]
    return written


def corrected_re_export(original: bytes, every: int = 40) -> bytes:
    """The demo's corrected re-export of a gzipped calls CSV: the vendor re-sends the day without the calls
    it had logged twice (here every ``every``-th data row), which restates the reports that covered it."""
    import gzip

    lines = gzip.decompress(original).decode("utf-8").splitlines()
    kept = [lines[0], *(line for n, line in enumerate(lines[1:], 1) if n % every)]
    return gzip.compress(("\n".join(kept) + "\n").encode("utf-8"), mtime=0)
