"""Fixtures every test area shares: a temporary local lake, the demo configuration, handler loading."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ContactLake")
os.environ.setdefault("POWERTOOLS_DEV", "false")

REPO = Path(__file__).resolve().parents[1]
EVENTS = Path(__file__).resolve().parent / "events"

from contactlake.adapters.local import build_local_ports  # noqa: E402
from contactlake.config import AppConfig, Settings, load_app_config  # noqa: E402
from contactlake.ports import Ports  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "lake")


@pytest.fixture
def config() -> AppConfig:
    return load_app_config()


@pytest.fixture
def ports(settings: Settings) -> Ports:
    return build_local_ports(settings)


def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py under a unique name (every function's module is called app)."""
    path = REPO / "functions" / function / "app.py"
    name = f"contactlake_function_{function}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials so nothing can reach a real account, even by mistake."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_REGION": "eu-west-2",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def athena_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto boto3 session with a results bucket and an Athena workgroup writing to it (awswrangler's
    way to Athena: it reads the workgroup's output location)."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        session = boto3.session.Session(region_name="eu-west-2")
        session.client("s3").create_bucket(
            Bucket="results", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
        )
        session.client("athena").create_work_group(
            Name="wg", Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/q/"}}
        )
        yield session
