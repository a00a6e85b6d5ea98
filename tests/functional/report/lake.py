"""A small real lake for the report and API tests: the shipped exports of both centres for 2-9 Nov 2026,
ingested and analysed once per test process (both test folders share it)."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

from contactlake.adapters.local import build_local_ports
from contactlake.analyse.run import run_analysis
from contactlake.config import AppConfig, Settings, load_app_config
from contactlake.pipeline import process_upload
from contactlake.ports import Ports
from tests.unit.report.testconfig import TEST_CONFIG

FIRST_DAY = date(2026, 11, 2)
LAST_DAY = date(2026, 11, 9)
DAYS = [date(2026, 11, d) for d in range(2, 10)]


@dataclass(frozen=True)
class SmallLake:
    home: Path
    settings: Settings
    config: AppConfig

    def ports(self) -> Ports:
        return build_local_ports(self.settings)

    def copy(self, target: Path) -> SmallLake:
        """A private copy for tests that change the lake (delete an upload, add reports)."""
        shutil.copytree(self.home, target)
        config_path = str(target / "contactlake.toml")
        return SmallLake(target, Settings(home=target, config_path=config_path), load_app_config(config_path))


@cache
def build_small_lake(home: Path) -> SmallLake:
    home.mkdir(parents=True)
    (home / "contactlake.toml").write_text(TEST_CONFIG, encoding="utf-8")
    settings = Settings(home=home, config_path=str(home / "contactlake.toml"))
    ports = build_local_ports(settings)
    config = load_app_config(settings.config_path)
    exports = Path(str(resources.files("contactlake") / "sample_data" / "exports"))
    for path in sorted(exports.rglob("*.csv.gz")):
        if not any(day.isoformat() in path.name for day in DAYS):
            continue
        key = path.relative_to(exports).as_posix()
        ports.store.put("raw", key, path.read_bytes())
        process_upload(ports, config, settings, key)
    run_analysis(ports, config, sorted(config.centres), FIRST_DAY, LAST_DAY)
    return SmallLake(home, settings, config)


REPORT_APP_DIR = Path(__file__).resolve().parents[3] / "functions" / "report"


def load_report_app() -> ModuleType:
    """functions/report/app.py imported as ``app`` with ``chalicelib`` importable, as Chalice itself does."""
    if str(REPORT_APP_DIR) not in sys.path:
        sys.path.insert(0, str(REPORT_APP_DIR))
    saved = os.environ.pop("CONTACTLAKE_API_AUTH", None)  # routes are declared as deployed: IAM
    try:
        module = importlib.import_module("app")
    finally:
        if saved is not None:
            os.environ["CONTACTLAKE_API_AUTH"] = saved
    assert Path(str(module.__file__)).resolve() == REPORT_APP_DIR / "app.py", (
        f"another 'app' module: {module}"
    )
    return module


def use_lake(monkeypatch: pytest.MonkeyPatch, home: Path, **env: str) -> None:
    """Point the per-container runtime (settings, config, ports) at ``home``; rebuilt on next use."""
    from contactlake.runtime import runtime

    monkeypatch.setenv("CONTACTLAKE_MODE", "local")
    monkeypatch.setenv("CONTACTLAKE_HOME", str(home))
    monkeypatch.setenv("CONTACTLAKE_CONFIG", str(home / "contactlake.toml"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime.cache_clear()
