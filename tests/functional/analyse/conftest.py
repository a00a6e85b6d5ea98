"""Fixtures for the analyse tests: an empty hand-made lake, and the shipped sample analysed once."""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse import run_analysis
from contactlake.config import AppConfig, CentreConfig, Settings, load_app_config
from contactlake.pipeline import process_upload
from contactlake.ports import Ports


@pytest.fixture
def hand_ports(tmp_path: Path) -> Ports:
    return build_local_ports(Settings(home=tmp_path / "lake"))


@dataclass
class SampleLake:
    """The shipped demo exports of one centre, ingested and analysed once per test session."""

    ports: Ports
    config: AppConfig
    settings: Settings
    centre: CentreConfig
    date_from: date = date(2026, 11, 2)
    date_to: date = date(2026, 11, 15)


def _build_sample(home: Path) -> None:
    settings = Settings(home=home)
    ports = build_local_ports(settings)
    config = load_app_config()
    exports = Path(str(resources.files("contactlake") / "sample_data" / "exports"))
    for path in sorted((exports / "north").rglob("*.csv.gz")):
        key = path.relative_to(exports).as_posix()
        ports.store.put("raw", key, path.read_bytes())
        process_upload(ports, config, settings, key)
    run_analysis(ports, config, ["north"], date(2026, 11, 2), date(2026, 11, 15))


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> SampleLake:
    """Built once per test run: with pytest-xdist the workers share it (the first builds, under a lock).

    Tests only read it; a test that changes a lake copies it first.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    shared = tmp_path_factory.getbasetemp().parent if worker else tmp_path_factory.getbasetemp()
    home = shared / "analyse-sample" / "lake"
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(shared / "analyse-sample.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = home.parent / "built"
        if not done.exists():
            shutil.rmtree(home, ignore_errors=True)
            _build_sample(home)
            done.touch()
    config = load_app_config()
    settings = Settings(home=home)
    return SampleLake(build_local_ports(settings), config, settings, config.centre("north"))
