"""The faults catalogue, analysis: an Athena query fails or times out part-way through an analysis.

Every Athena engine surfaces a query that ended FAILED, CANCELLED or past its timeout as
:class:`~contactlake.ports.QueryError` (botocore's Stubber shows it for the boto3 engine:
tests/unit/analyse/test_athena_engine.py), and the analyse function lets it fail the invocation, so
Lambda retries the event. What these tests hold to: the failed run leaves every aggregate table either
untouched or complete (each is written only after its query returned), and the retried run leaves the
lake byte for byte as a run without the fault. They rely only on the ``QueryEngine`` port, so they hold
whichever library runs the SQL on Athena.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import run_analysis
from contactlake.config import Settings
from contactlake.ports import Ports, QueryError
from contactlake.tables import AGGREGATE_TABLES
from tests.functional.analyse.conftest import SampleLake
from tests.functional.analyse.conftest import sample_lake as sample_lake  # the shipped sample, analysed

pytestmark = pytest.mark.slow


class FailingAthena:
    """The engine, with the ``fail_at``-th query ending as Athena ends a FAILED or timed-out query."""

    def __init__(self, inner: Any, fail_at: int | None) -> None:
        self.inner, self.fail_at, self.count = inner, fail_at, 0

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        self.count += 1
        if self.count == self.fail_at:
            raise QueryError(
                "Athena query 7a0c-… FAILED: HIVE_CURSOR_ERROR: Query exceeded the maximum run time "
                "(workgroup contactlake); re-run when ready"
            )
        return self.inner.query(sql, params)

    def unload(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """A materialising statement counts, and fails, as any other query."""
        return self.query(sql, params)


def _aggregates(home: Path) -> dict[str, dict[str, bytes]]:
    """Every aggregate table's files, by table."""
    found = {}
    for table in AGGREGATE_TABLES:
        folder = home / table.area / table.prefix
        found[table.name] = {
            p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))
        }
    return found


def _analyse(ports: Ports, sample_lake: SampleLake) -> None:
    run_analysis(ports, sample_lake.config, ["north"], sample_lake.date_from, sample_lake.date_to)


def test_an_athena_failure_part_way_leaves_no_table_half_written_and_the_retry_equals_a_clean_run(
    sample_lake: SampleLake, tmp_path: Path
) -> None:
    clean = _aggregates(sample_lake.settings.home)  # the sample, analysed without faults
    assert all(clean.values())
    home = tmp_path / "lake"
    shutil.copytree(sample_lake.settings.home, home)
    ports = build_local_ports(Settings(home=home))
    counting = FailingAthena(ports.engine, None)
    _analyse(Ports(ports.store, counting, ports.mailer, ports.catalog, ports.events), sample_lake)
    queries = counting.count
    assert queries >= 3
    for fail_at in sorted({1, queries // 2, queries}):
        for table in AGGREGATE_TABLES:  # the aggregates of an earlier run are gone: a fresh lake
            shutil.rmtree(home / table.area / table.prefix, ignore_errors=True)
        failing = Ports(
            ports.store, FailingAthena(ports.engine, fail_at), ports.mailer, ports.catalog, ports.events
        )
        with pytest.raises(QueryError, match="FAILED"):
            _analyse(failing, sample_lake)
        after_failure = _aggregates(home)
        for name, files in after_failure.items():
            assert files in ({}, clean[name]), f"{name} half-written after a failure at query {fail_at}"
        assert after_failure != clean  # the failed query's table, at least, was not written
        _analyse(ports, sample_lake)  # Lambda retries the event
        assert _aggregates(home) == clean, f"the retry after a failure at query {fail_at}"
