"""Every KPI grain before and after a change to the analyse path, compared on one lake.

Used for issue 17 (one pass per table, month files): run it with the old code and with the new one on
copies of the same curated lake, then ``--compare`` the two dumps. Each run deletes the aggregates,
runs the whole analysis (``run_analysis``) for every centre over the lake's days, and writes what the
reports and the API read — :func:`kpis` at every grain and dimension, ``agent_kpis`` and ``staffing`` —
one Parquet file per result. Integer columns must be equal; float columns equal to 1e-9 relative (sums
of durations added in another order may differ in the last bits).

    python -m bench.kpi_equality dump <home> <out>        # with the code to measure on PYTHONPATH
    python -m bench.kpi_equality compare <before> <after>
"""

from __future__ import annotations

import math
import shutil
import sys
from datetime import date
from pathlib import Path


def dump(home: Path, out: Path) -> int:
    import pyarrow.parquet as pq

    from contactlake.adapters import build_ports
    from contactlake.analyse import run_analysis
    from contactlake.analyse.common import DIMENSIONS, GRAINS
    from contactlake.analyse.queries import agent_kpis, kpis, staffing
    from contactlake.config import Settings, load_app_config

    shutil.rmtree(home / "lake" / "aggregates", ignore_errors=True)
    settings = Settings(home=home)
    ports = build_ports(settings)
    config = load_app_config(settings.config_path)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for centre_id in sorted(config.centres):
        days = ports.engine.query(
            "SELECT min(contact_date) AS lo, max(contact_date) AS hi FROM contacts WHERE centre_id = :c",
            {"c": centre_id},
        ).to_pylist()[0]
        if days["lo"] is None:
            continue
        lo, hi = date.fromisoformat(str(days["lo"])), date.fromisoformat(str(days["hi"]))
        run_analysis(ports, config, [centre_id], lo, hi)
        centre = config.centre(centre_id)
        results = {
            "agent_kpis": agent_kpis(ports, centre, lo, hi),
            "staffing": staffing(ports, centre, lo, hi),
        }
        for grain in GRAINS:
            for dimension in DIMENSIONS:
                results[f"kpis-{grain}-{dimension}"] = kpis(ports, centre, grain, lo, hi, dimension)
        for name, table in results.items():
            pq.write_table(table.replace_schema_metadata(None), out / f"{centre_id}-{name}.parquet")
            written += 1
    print(f"{written} results written to {out}")
    return 0


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def compare(before: Path, after: Path) -> int:
    import pyarrow.parquet as pq

    names = sorted(p.name for p in before.glob("*.parquet"))
    if names != sorted(p.name for p in after.glob("*.parquet")):
        print("the two dumps hold different results")
        return 1
    differing = []
    for name in names:
        old, new = pq.read_table(before / name), pq.read_table(after / name)
        if old.schema != new.schema or old.num_rows != new.num_rows:
            differing.append(f"{name}: schema or rows ({old.num_rows} -> {new.num_rows})")
            continue
        rows = zip(old.to_pylist(), new.to_pylist(), strict=True)
        bad = [(o, n) for o, n in rows if not all(_same(o[k], n[k]) for k in o)]
        if bad:
            o, n = bad[0]
            diff = {k: (o[k], n[k]) for k in o if not _same(o[k], n[k])}
            differing.append(f"{name}: {len(bad)} rows differ, first {diff}")
    total = sum(pq.read_metadata(before / n).num_rows for n in names)
    print(f"{len(names)} results, {total:,} rows compared: {len(differing)} differ")
    for line in differing:
        print("  " + line)
    return 1 if differing else 0


if __name__ == "__main__":
    verb, first, second = sys.argv[1:4]
    sys.exit(dump(Path(first), Path(second)) if verb == "dump" else compare(Path(first), Path(second)))
