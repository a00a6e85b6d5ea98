"""Every KPI read comes back in its ORDER BY's order, every time (the local engine's execute path lost it
in about one read in six when insertion order was not preserved)."""

from __future__ import annotations

from contactlake.analyse.common import DIMENSIONS, GRAINS
from contactlake.analyse.queries import kpis
from tests.functional.analyse.conftest import SampleLake

_COLUMN = {"queue": "queue", "channel": "channel", "agent": "agent_id"}


def test_every_grain_and_dimension_is_read_in_order_every_time(sample_lake: SampleLake) -> None:
    out_of_order = []
    for attempt in range(4):
        for grain in GRAINS:
            for dimension in DIMENSIONS:
                table = kpis(
                    sample_lake.ports, sample_lake.centre, grain, sample_lake.date_from, sample_lake.date_to,
                    dimension,
                )  # fmt: skip
                keys = ["period_start", *([_COLUMN[dimension]] if dimension != "none" else [])]
                rows = list(zip(*(table.column(k).to_pylist() for k in keys), strict=True))
                if rows != sorted(rows):
                    out_of_order.append((attempt, grain, dimension))
    assert out_of_order == []
