"""Results read through awswrangler equal the local engine's, value for value (ADR 0015).

The Athena-shaped statement (positional ``?``, the literals as Athena substitutes them) runs on the
sample lake; its rows go to moto as Athena's result (text cells and column types, as the moto stack's
bridge hands them over), moto leaves the result CSV in S3, and the analyse function's engine reads it
back through ``wr.athena`` — typed by awswrangler from Athena's column types. What comes out must equal
what the local engine computes for the same model and parameters: the materialisation's three grouping
sets and the grains the API reads.
"""

from __future__ import annotations

from typing import Any

import pytest

from contactlake.adapters.athena import AthenaEngine
from contactlake.analyse.common import normalise
from contactlake.sqlfiles import load_sql, parameter_names, referenced_tables
from tests.functional.analyse.conftest import SampleLake
from tests.functional.analyse.test_athena_shaped_sql import PARAMS, _as_athena_runs_it, _rows
from tests.functional.aws.moto_stack import athena_query_results

REGION = "eu-west-2"
ACCOUNT = "123456789012"

CASES = [
    ("kpi_interval", {}),
    ("kpi_rollup", {"grain": "15min", "dimension": "agent"}),
    ("kpi_rollup", {"grain": "day", "dimension": "queue"}),
    ("kpi_rollup", {"grain": "month", "dimension": "none"}),
]


@pytest.mark.parametrize(("model", "choice"), CASES)
def test_awswrangler_reads_what_the_local_engine_computes(
    sample_lake: SampleLake, athena_session: Any, model: str, choice: dict[str, str]
) -> None:
    from moto.athena.models import athena_backends

    local_engine = sample_lake.ports.engine
    sql = load_sql(model)
    bound = {k: {**PARAMS, **choice}[k] for k in parameter_names(sql)}
    local = normalise(local_engine.query(sql, bound))
    connection = local_engine.connect(referenced_tables(sql))  # type: ignore[attr-defined]
    computed = connection.sql(_as_athena_runs_it(sql, bound)).to_arrow_table()
    athena_backends[ACCOUNT][REGION].query_results_queue.append(athena_query_results(computed))

    engine = AthenaEngine(
        athena_session.client("athena"),
        None,
        "wg",
        "lakedb",
        "s3://results/q/",
        session=athena_session,
        wrangler=True,
        wait_poll_seconds=0.01,
    )
    read = normalise(engine.query(sql, bound))

    assert local.num_rows > 0
    assert read.column_names == local.column_names
    assert _rows(read) == _rows(local)
    kinds = [(f.name, str(f.type).split("[")[0]) for f in read.schema]
    assert kinds == [(f.name, str(f.type).split("[")[0]) for f in local.schema]
