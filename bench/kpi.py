"""KPI benchmark: every grain over millions of contacts on DuckDB, and the bytes a one-day report reads.

Contender — contactlake's analyse path on the local engine (DuckDB executing the Athena SQL through
sqlglot): :func:`contactlake.analyse.materialise_kpis` recomputes each centre's aggregates for the whole
year from the contact lake (the nightly job), then every grain of
:data:`contactlake.analyse.common.GRAINS` is asked of :func:`contactlake.analyse.queries.kpis` per centre,
by queue (what reports, the API and BI tools ask for).

Baseline — the naive way, chosen because it is what an analyst does without a lake engine and because
it shows what partition pruning and materialised aggregates save: pandas reads the whole contacts table
(every centre and day, only the columns the KPIs use), then computes the same counts and sums with
group-bys, once per grain, first-contact resolution included (next contact of the same customer within
the centre's window). Both sides' totals are compared per grain, so the figures are known to be the same
KPIs. "DuckDB without partition pruning" was the other option offered; it was not chosen because it
would still be a columnar engine with filter pushdown, so it hides most of the cost a naive pipeline
pays, and it cannot run the shipped SQL unchanged (the SQL filters on the partition columns).

Bytes read — DuckDB's own profiler (``io.total_bytes_read`` and the files each scan opened) for the
queries behind a one-centre one-day report, against the size of the whole lake.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.harness import ChildRun, run_child
from bench.kpi_data import KpiLake

__all__ = [
    "TOTALS",
    "KpiComparison",
    "bench_kpi",
    "run_bytes_read",
    "run_contactlake",
    "run_pandas",
]

#: Summed over every row of a grain's result, on both sides, to prove they computed the same KPIs (and
#: first-contact resolution, summed once over everything: ``fcr_resolved``).
TOTALS = ("contacts", "offered", "answered", "abandoned", "answered_within_sl")
_SL_THRESHOLD = 20
_SHORT_ABANDON = 5
_FCR_HOURS = 72


def _centre_configs(centres: list[dict[str, str]]) -> list[Any]:
    from contactlake.config import CentreConfig, ServiceLevelPolicy

    return [
        CentreConfig(
            centre_id=c["centre_id"],
            name=c["centre_id"].title(),
            timezone=c["timezone"],
            service_level=ServiceLevelPolicy(threshold_seconds=_SL_THRESHOLD, variant="abandons_ignored"),
            short_abandon_seconds=_SHORT_ABANDON,
            fcr_window_hours=_FCR_HOURS,
        )
        for c in centres
    ]


def _ports(home: Path, threads: int) -> Any:
    """Local ports whose DuckDB engine uses exactly ``threads`` threads."""
    from contactlake.adapters.local import DuckDBEngine, LocalObjectStore, build_local_ports
    from contactlake.config import Settings

    ports = build_local_ports(Settings(home=home))
    ports.engine = DuckDBEngine(LocalObjectStore(home), threads=threads)
    return ports


def _sum(table: Any, column: str) -> float:
    import pyarrow.compute as pc

    return float(pc.sum(table.column(column)).as_py() or 0)


def run_contactlake(args: dict[str, Any]) -> dict[str, Any]:
    """Child side: materialise every centre's year, then ask for every grain by queue.

    Each read — one centre, one grain, the year — is timed on its own (``reads``); a grain's time is the
    sum over the centres.

    ``materialise_kpis`` reports each table it writes through ``on_step``; the time between reports is
    that table's cost, so the nightly job is broken down by aggregate table. The grains go through
    :func:`contactlake.analyse.queries.kpis`, what the API and the reports call.
    """
    import shutil

    from contactlake.analyse import materialise_kpis
    from contactlake.analyse.common import GRAINS, rollup
    from contactlake.analyse.queries import kpis

    home = Path(args["home"])
    shutil.rmtree(home / "lake" / "aggregates", ignore_errors=True)  # a cold start: nothing materialised
    ports = _ports(home, int(args["threads"]))
    centres = _centre_configs(args["centres"])
    date_from, date_to = date.fromisoformat(args["date_from"]), date.fromisoformat(args["date_to"])
    seconds: dict[str, float] = {}
    materialise: dict[str, float] = {}
    rows: dict[str, int] = {}
    totals: dict[str, dict[str, float]] = {}
    clock = [time.perf_counter()]

    def on_step(message: str) -> None:
        now = time.perf_counter()
        table = message.split(": ", 1)[-1].split(" ", 1)[0] or "step"
        materialise[table] = materialise.get(table, 0.0) + now - clock[0]
        clock[0] = now

    started = time.perf_counter()
    for centre in centres:
        clock[0] = time.perf_counter()
        materialise_kpis(ports, centre, date_from, date_to, on_step=on_step)
    seconds["materialise"] = time.perf_counter() - started
    reads: dict[str, dict[str, float]] = {}
    for grain in GRAINS:
        results = []
        reads[grain] = {}
        for centre in centres:
            started = time.perf_counter()
            results.append(kpis(ports, centre, grain, date_from, date_to, "queue"))
            reads[grain][centre.centre_id] = time.perf_counter() - started
        seconds[grain] = sum(reads[grain].values())
        rows[grain] = sum(r.num_rows for r in results)
        totals[grain] = {k: sum(_sum(r, k) for r in results) for k in TOTALS}
    # Not timed: first-contact resolution as a count (kpis() returns it as a rate), for the agreement check.
    whole = [rollup(ports, centre, date_from, date_to, "all") for centre in centres]
    return {
        "seconds": seconds,
        "reads": reads,
        "materialise": materialise,
        "rows": rows,
        "totals": totals,
        "fcr_resolved": sum(_sum(r, "fcr_resolved") for r in whole),
        "grains": list(GRAINS),
    }


_PANDAS_COLUMNS = [
    "centre_id",
    "contact_date",
    "contact_id",
    "initiated_utc",
    "initiated_local",
    "queue",
    "channel",
    "direction",
    "outcome",
    "queue_seconds",
    "talk_seconds",
    "hold_seconds",
    "acw_seconds",
    "hold_count",
    "transfer_count",
    "escalation_count",
    "customer_key",
    "previous_contact_id",
    "test_case_id",
    "ivr_entered_utc",
    "ivr_seconds",
]


def _ties_by_contact_id(order: Any, tie: Any, contact_ids: Any) -> Any:
    """Re-order runs of legs with the same centre, customer and start by contact id (as the SQL does)."""
    import numpy as np

    order = order.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], tie.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        block = order[start : stop + 1]
        ids = np.array(contact_ids.iloc[block].tolist(), dtype=object)
        order[start : stop + 1] = block[np.argsort(ids, kind="stable")]
    return order


def _next_first_leg(frame: Any, eligible_leg: Any) -> Any:
    """Start of the same customer's next inbound first leg at the same centre (NaT if none)."""
    import numpy as np

    legs = np.flatnonzero(eligible_leg)
    centre = frame["centre_id"].cat.codes.to_numpy()[legs]
    customer = frame["customer_key"].iloc[legs].factorize()[0]
    utc = frame["initiated_utc"].to_numpy()
    ranked = np.lexsort((utc[legs], customer, centre))
    order = legs[ranked]
    same = (centre[ranked][1:] == centre[ranked][:-1]) & (customer[ranked][1:] == customer[ranked][:-1])
    tie = same & (utc[order][1:] == utc[order][:-1])
    if tie.any():
        order = _ties_by_contact_id(order, tie, frame["contact_id"])
    following = np.full(len(frame), np.datetime64("NaT"), dtype=utc.dtype)
    following[order[:-1]] = np.where(same, utc[order[1:]], np.datetime64("NaT"))
    return following


def _pandas_prepare(frame: Any) -> Any:
    """Per-contact flags, the same definitions as kpi_interval.sql (docs/metrics.md)."""
    import numpy as np
    import pandas as pd

    tests = frame["test_case_id"].notna()
    if tests.any():
        frame = frame.loc[~tests].reset_index(drop=True)
    inbound = frame["direction"].fillna("inbound").eq("inbound").to_numpy(dtype=bool)

    def outcome_is(*names: str) -> Any:
        return inbound & frame["outcome"].isin(names).to_numpy(dtype=bool)

    def flag(values: Any) -> Any:
        return values.astype(np.int8)

    wait = frame["queue_seconds"].fillna(0).to_numpy()
    talk = frame["talk_seconds"].fillna(0).to_numpy()
    hold = frame["hold_seconds"].fillna(0).to_numpy()
    answered, abandoned_any = outcome_is("answered"), outcome_is("abandoned")
    short = abandoned_any & (wait < _SHORT_ABANDON)
    offered = outcome_is("answered", "abandoned", "callback_requested")
    within = wait <= _SL_THRESHOLD
    # First-contact resolution: an answered first leg with no inbound first leg of the same customer
    # (same centre) starting within the window after it.
    eligible_leg = (
        inbound & frame["customer_key"].notna().to_numpy() & frame["previous_contact_id"].isna().to_numpy()
    )
    following = _next_first_leg(frame, eligible_leg)
    window_end = frame["initiated_utc"].to_numpy() + np.timedelta64(_FCR_HOURS, "h")
    no_repeat = np.isnat(following) | (following > window_end)
    fcr_eligible = answered & eligible_leg
    ivr = (
        frame["ivr_entered_utc"].notna().to_numpy()
        | (frame["ivr_seconds"].fillna(0).to_numpy() > 0)
        | frame["outcome"].isin(["self_served", "ivr_abandoned"]).to_numpy(dtype=bool)
    )
    return pd.DataFrame(
        {
            "centre_id": frame["centre_id"],
            "initiated_local": frame["initiated_local"],
            "queue": frame["queue"].fillna("(none)"),
            "channel": frame["channel"].fillna("voice"),
            "contacts": flag(inbound),
            "offered": flag(offered),
            "answered": flag(answered),
            "abandoned": flag(abandoned_any & ~short),
            "short_abandoned": flag(short),
            "callback_requested": flag(outcome_is("callback_requested")),
            "self_served": flag(outcome_is("self_served")),
            "ivr_abandoned": flag(outcome_is("ivr_abandoned")),
            "ivr_entered": flag(inbound & ivr),
            "answered_within_sl": flag(answered & within),
            "abandoned_within_sl": flag(abandoned_any & within),
            "answered_wait_seconds": np.where(answered, wait, 0.0),
            "abandoned_wait_seconds": np.where(abandoned_any & ~short, wait, 0.0),
            "queued_wait_seconds": np.where(offered, wait, 0.0),
            "longest_wait_seconds": np.where(offered, wait, np.nan),
            "talk_seconds": np.where(answered, talk, 0.0),
            "hold_seconds": np.where(answered, hold, 0.0),
            "acw_seconds": np.where(answered, frame["acw_seconds"].fillna(0).to_numpy(), 0.0),
            "held": flag(answered & ((frame["hold_count"].fillna(0).to_numpy() > 0) | (hold > 0))),
            "transferred": flag(answered & (frame["transfer_count"].fillna(0).to_numpy() > 0)),
            "escalated": flag(answered & (frame["escalation_count"].fillna(0).to_numpy() > 0)),
            "fcr_eligible": flag(fcr_eligible),
            "fcr_resolved": flag(fcr_eligible & no_repeat),
        }
    )


def _pandas_period(local: Any, grain: str) -> Any:
    import numpy as np

    if grain.endswith("min"):
        return local.dt.floor(f"{int(grain.removesuffix('min'))}min")
    day = local.dt.floor("D")
    if grain == "day":
        return day
    if grain == "week":
        return day - np.timedelta64(1, "D") * day.dt.weekday
    if grain == "month":
        return local.dt.to_period("M").dt.start_time
    raise ValueError(f"grain {grain!r} has no pandas definition in bench/kpi.py")


def _pandas_grain(prepared: Any, grain: str) -> Any:
    import pandas as pd

    keys = pd.DataFrame(
        {
            "centre_id": prepared["centre_id"],
            "period_start": _pandas_period(prepared["initiated_local"], grain),
            "queue": prepared["queue"],
        }
    )
    measures = prepared.drop(columns=["centre_id", "initiated_local", "queue", "channel"])
    grouped = pd.concat([keys, measures], axis=1).groupby(
        ["centre_id", "period_start", "queue"], observed=True, sort=False
    )
    summed = grouped.sum(numeric_only=True)
    summed["longest_wait_seconds"] = grouped["longest_wait_seconds"].max()
    summed["service_level"] = summed["answered_within_sl"] / (
        summed["offered"] - summed["abandoned_within_sl"]
    ).where(lambda d: d != 0)
    summed["aht_seconds"] = (
        summed["talk_seconds"] + summed["hold_seconds"] + summed["acw_seconds"]
    ) / summed["answered"].where(lambda a: a != 0)
    return summed


def run_pandas(args: dict[str, Any]) -> dict[str, Any]:
    """Child side: load the whole contacts table into pandas, then group once per grain."""
    import pandas as pd

    lake = Path(args["home"]) / "lake" / "curated" / "contacts"
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    totals: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    frame = pd.read_parquet(lake, columns=_PANDAS_COLUMNS)
    seconds["load"] = time.perf_counter() - started
    started = time.perf_counter()
    prepared = _pandas_prepare(frame)
    del frame
    seconds["prepare"] = time.perf_counter() - started
    for grain in args["grains"]:
        started = time.perf_counter()
        result = _pandas_grain(prepared, grain)
        seconds[grain] = time.perf_counter() - started
        rows[grain] = len(result)
        totals[grain] = {name: float(result[name].sum()) for name in TOTALS}
    return {
        "seconds": seconds,
        "rows": rows,
        "totals": totals,
        "fcr_resolved": float(prepared["fcr_resolved"].sum()),
        "contacts": len(prepared),
    }


class _ProfilingEngine:
    """The local DuckDB engine with DuckDB's profiler on: keeps the I/O counters of every query it runs.

    It stands in for ``ports.engine`` so the bytes are measured on contactlake's own calls (the same
    SQL files, parameters and views the analyse functions use), not on a re-typed copy of them.
    """

    def __init__(self, inner: Any, scratch: Path) -> None:
        self.inner, self.scratch = inner, scratch
        self.profiles: list[dict[str, Any]] = []

    def query(self, sql: str, params: Any = None) -> Any:
        from contactlake.sqlfiles import for_duckdb, referenced_tables

        text, bound = for_duckdb(sql, params or {})
        output = self.scratch / f"profile-{len(self.profiles)}.json"
        con = self.inner.connect(referenced_tables(sql))
        con.execute("SET enable_profiling = 'json'")
        con.execute(f"SET profiling_output = '{output.as_posix()}'")
        con.execute("SET profiling_mode = 'detailed'")
        try:
            table = con.sql(text, params=bound).to_arrow_table()
        finally:
            con.execute("PRAGMA disable_profiling")
        self.profiles.append(_profile_summary(json.loads(output.read_text())))
        return table

    def unload(self, sql: str, params: Any = None) -> Any:
        """The materialising statements are profiled as the reads are (DuckDB answers both alike)."""
        return self.query(sql, params)

    def take(self) -> dict[str, Any]:
        """Everything read since the last call, summed."""
        taken, self.profiles = self.profiles, []
        return {
            "bytes_read": sum(p["bytes_read"] for p in taken),
            "scans": [scan for p in taken for scan in p["scans"]],
            "queries": len(taken),
        }


def _profile_summary(profile: dict[str, Any]) -> dict[str, Any]:
    """DuckDB's JSON profile: total bytes read, and 'files scanned / files matched' for each scan."""
    scans: list[str] = []
    pending = [profile]
    while pending:
        node = pending.pop()
        info = node.get("extra_info")
        if isinstance(info, dict) and "Scanning Files" in info:
            scans.append(str(info["Scanning Files"]))
        pending.extend(node.get("children") or [])
        pending.extend(node.get("operator") or [])
    io = profile.get("io") or {}
    return {"bytes_read": int(io.get("total_bytes_read", 0)), "scans": scans}


def run_bytes_read(args: dict[str, Any]) -> dict[str, Any]:
    """Child side: bytes DuckDB reads to compute and to report one centre-day, against the whole lake.

    "Compute" is the nightly job for that day (:func:`materialise_kpis` for one centre and one day: it
    reads the day's contacts, and the following days' for repeat contacts); "report" is what a daily
    report asks afterwards (:func:`contactlake.analyse.queries.kpis`, day grain, by queue).
    """
    import tempfile

    from contactlake.analyse import materialise_kpis
    from contactlake.analyse.queries import kpis

    home = Path(args["home"])
    ports = _ports(home, 1)
    centres = _centre_configs(args["centres"])
    day = date.fromisoformat(args["day"])
    one = centres[0]
    contacts_dir = home / "lake" / "curated" / "contacts"
    files = list(contacts_dir.rglob("*.parquet"))
    partition_dir = contacts_dir / f"centre_id={one.centre_id}" / f"contact_date={day.isoformat()}"
    partition = list(partition_dir.glob("*.parquet"))
    with tempfile.TemporaryDirectory() as scratch:
        profiling = _ProfilingEngine(ports.engine, Path(scratch))
        ports.engine = profiling
        materialise_kpis(ports, one, day, day)
        computed = profiling.take()
        kpis(ports, one, "day", day, day, "queue")
        report = profiling.take()
    return {
        "centre_id": one.centre_id,
        "day": day.isoformat(),
        "lake_files": len(files),
        "lake_bytes": sum(p.stat().st_size for p in files),
        "partition_files": len(partition),
        "partition_bytes": sum(p.stat().st_size for p in partition),
        "report_from_aggregates": report,
        "one_centre_day_from_lake": computed,
    }


@dataclass(frozen=True)
class KpiComparison:
    """contactlake against the pandas baseline on the same lake, per grain, with the bytes read.

    ``contender`` and ``baseline`` ran with every core allowed (DuckDB uses them all; pandas groups on
    one, reads Parquet on all); the ``*_one_core`` runs, when asked for, are both pinned to one CPU.
    """

    lake: dict[str, Any]
    contender: dict[str, Any]
    baseline: dict[str, Any]
    bytes_read: dict[str, Any]
    grains: tuple[str, ...]
    contender_one_core: dict[str, Any] | None = None
    baseline_one_core: dict[str, Any] | None = None
    #: The local API's latency for a month of daily KPIs (:mod:`bench.kpi_api`), when measured.
    api: dict[str, Any] | None = None

    @staticmethod
    def total(side: dict[str, Any]) -> float:
        """All-grains time of one side: every timed step, from reading the lake to the last grain."""
        return float(sum(side["seconds"].values()))

    @property
    def ratio(self) -> float:
        """Baseline all-grains time / contactlake all-grains time (> 1: contactlake faster)."""
        return self.total(self.baseline) / self.total(self.contender)

    @property
    def kept_aggregates_ratio(self) -> float:
        """Baseline all-grains time / contactlake's grain reads alone, from the aggregates as kept.

        Information, not a target: the steady state, where the nightly job keeps the aggregates current
        (reading a few days of the lake) and a grain is only read. ADR 0019 sets it beside the target.
        """
        reads = sum(float(self.contender["seconds"][grain]) for grain in self.grains)
        return self.total(self.baseline) / reads

    @property
    def slowest_read(self) -> tuple[str, str, float]:
        """The slowest single read of one grain for the year: (grain, centre, seconds)."""
        reads = self.contender["reads"]
        grain, centre = max(
            ((g, c) for g in self.grains for c in reads[g]), key=lambda gc: float(reads[gc[0]][gc[1]])
        )
        return grain, centre, float(reads[grain][centre])

    @property
    def one_core_ratio(self) -> float | None:
        if self.contender_one_core is None or self.baseline_one_core is None:
            return None
        return self.total(self.baseline_one_core) / self.total(self.contender_one_core)

    @property
    def totals_agree(self) -> bool:
        """Same result rows and the same summed counts per grain, on every run."""
        others = [
            s for s in (self.baseline, self.contender_one_core, self.baseline_one_core) if s is not None
        ]
        return all(
            other["rows"][g] == self.contender["rows"][g]
            and all(abs(other["totals"][g][k] - self.contender["totals"][g][k]) < 0.5 for k in TOTALS)
            for other in others
            for g in self.grains
        )

    def share(self, what: str) -> float:
        """Bytes DuckDB read for ``what`` / bytes of the whole contact lake on disk."""
        return float(self.bytes_read[what]["bytes_read"]) / float(self.bytes_read["lake_bytes"])

    @property
    def partition_share(self) -> float:
        """The one centre-day partition's files / the whole lake (what partition pruning selects)."""
        return float(self.bytes_read["partition_bytes"]) / float(self.bytes_read["lake_bytes"])

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            contender_total_seconds=self.total(self.contender),
            baseline_total_seconds=self.total(self.baseline),
            ratio=self.ratio,
            kept_aggregates_ratio=self.kept_aggregates_ratio,
            one_core_ratio=self.one_core_ratio,
            totals_agree=self.totals_agree,
            partition_share=self.partition_share,
            shares={
                what: self.share(what) for what in ("report_from_aggregates", "one_centre_day_from_lake")
            },
        )
        return data


def _child_summary(run: ChildRun) -> dict[str, Any]:
    return {
        **run.result,
        "wall_seconds": run.wall_seconds,
        "cpu_seconds": run.user_seconds + run.system_seconds,
        "peak_rss_mb": run.max_rss_mb,
        "cpus": run.cpus,
    }


def bench_kpi(
    lake: KpiLake,
    threads: int,
    one_core: bool = False,
    cpu: int = 0,
    step: Callable[[str], None] | None = None,
) -> KpiComparison:
    """Both sides with every core (and, if asked, both pinned to ``cpu``), then the bytes read."""
    common = {
        "home": str(lake.home),
        "centres": [{"centre_id": c.centre_id, "timezone": c.timezone} for c in lake.centres],
        "date_from": lake.first_day.isoformat(),
        "date_to": lake.last_day.isoformat(),
    }

    def side(task: str, label: str, pinned: bool, extra: dict[str, Any]) -> dict[str, Any]:
        if step is not None:
            step(f"KPIs over {lake.contacts:,} contacts: {label}")
        width = 1 if pinned else threads
        run = run_child(
            task, {**common, **extra, "threads": width}, cpu=cpu if pinned else None, threads=width
        )
        return _child_summary(run)

    contender = side("kpi.contactlake", f"contactlake (DuckDB, {threads} threads)", False, {})
    grains = tuple(contender["grains"])
    baseline = side("kpi.pandas", "pandas baseline", False, {"grains": list(grains)})
    contender_one = baseline_one = None
    if one_core:
        contender_one = side("kpi.contactlake", f"contactlake on CPU {cpu}", True, {})
        baseline_one = side("kpi.pandas", f"pandas on CPU {cpu}", True, {"grains": list(grains)})
    if step is not None:
        step("bytes read: one centre, one day vs the whole lake")
    middle = lake.first_day + timedelta(days=lake.days // 2)
    bytes_read = run_child("kpi.bytes_read", {**common, "day": middle.isoformat()}, cpu=None).result
    if step is not None:
        step("API: a month of daily KPIs from contactlake serve on loopback")
    api = run_child("kpi.api", {**common, "month": middle.replace(day=1).isoformat()}, cpu=None).result
    lake_info = {
        "home": str(lake.home),
        "contacts": lake.contacts,
        "files": lake.files,
        "bytes": lake.bytes,
        "centres": len(lake.centres),
        "days": lake.days,
        "first_day": lake.first_day.isoformat(),
    }
    return KpiComparison(
        lake_info, contender, baseline, bytes_read, grains, contender_one, baseline_one, api=api
    )
