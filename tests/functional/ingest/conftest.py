"""A fresh local lake per test (see tests/fixtures/lakes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.lakes import LocalLake


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    return LocalLake.create(tmp_path)
