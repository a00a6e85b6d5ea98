"""What PyPI and `pip show` tell a newcomer: where the project lives, what it is for, its licence."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

import contactlake

REPO = Path(__file__).resolve().parents[3]
HOME = "https://github.com/contactlake/contactlake"


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_urls_point_at_the_repository(project: dict[str, Any]) -> None:
    urls = project["urls"]
    assert urls["Homepage"] == urls["Source"] == HOME
    assert urls["Issues"] == f"{HOME}/issues"
    assert urls["Documentation"].startswith(HOME)


def test_classifiers_and_licence(project: dict[str, Any]) -> None:
    classifiers = set(project["classifiers"])
    assert {
        "Environment :: Console",
        "Programming Language :: Python :: 3.11",
        "Typing :: Typed",
    } <= classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # PEP 639: the licence expression says it
    assert project["license"] == "MIT"
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_version_is_written_once(project: dict[str, Any]) -> None:
    assert "version" in project["dynamic"]
    assert "version" not in project
    assert version("contactlake") == contactlake.__version__


def test_configuration_schema_library_is_a_dependency(project: dict[str, Any]) -> None:
    assert any(d.startswith("pydantic>=") for d in project["dependencies"])
    pins = (REPO / "requirements" / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert "pydantic==2.13.5" in pins
