"""The small real lake (built once per process) and a private copy per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contactlake.runtime import runtime
from tests.functional.report.lake import SmallLake, build_small_lake


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> SmallLake:
    return build_small_lake(tmp_path_factory.getbasetemp() / "report-lake")


@pytest.fixture
def lake(small_lake: SmallLake, tmp_path: Path) -> Iterator[SmallLake]:
    yield small_lake.copy(tmp_path / "lake")
    runtime.cache_clear()
