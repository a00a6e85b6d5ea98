"""Shared fixtures for the infrastructure tests: the parsed template, its parameters, expanded forms.

These tests are offline and need no AWS credentials. They import ``infra.*`` from the repository root
and ``contactlake`` (installed editable, or ``PYTHONPATH=shared``).

cfn-lint and checkov each need several CPU-seconds on this template, so when their tests are collected
they are started as background processes right after collection and run while the other tests do; the
tests then only wait for their output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from .support import REPO, TEMPLATE, Background, checkov_executable

# The repository root holds infra/; shared/ holds contactlake when it is not installed (editable).
for path in (REPO, REPO / "shared"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from infra import cfn, params  # noqa: E402

LINT_REGION = "eu-west-2"


_BACKGROUND: dict[str, Background] = {}


def _commands() -> dict[str, tuple[list[str], dict[str, str] | None]]:
    """The background tools: cfn-lint on template.yaml, checkov on the Fn::ForEach-expanded template."""
    runner = "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())"
    commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "cfn-lint": ([sys.executable, "-c", runner, "--regions", LINT_REGION, "--", str(TEMPLATE)], None),
    }
    checkov = checkov_executable()
    if checkov is not None:
        # checkov does not expand Fn::ForEach: scan the expanded template (a superset of template.yaml).
        expanded = cfn.expand_foreach(cfn.load_template(TEMPLATE), params.load("dev"))
        target = Path(tempfile.mkdtemp(prefix="contactlake-checkov-")) / "template.expanded.json"
        target.write_text(json.dumps(expanded), encoding="utf-8")
        # Offline: no Prisma Cloud guideline download, no version check.
        env = {
            **os.environ,
            "BC_SKIP_MAPPING": "TRUE",
            "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
            "LOG_LEVEL": "ERROR",
        }
        cmd = [str(checkov), "-f", str(target), "--framework", "cloudformation", "--quiet", "--compact"]
        commands["checkov"] = ([*cmd, "-o", "json", "--skip-download"], env)
    return commands


_TESTS = {"cfn-lint": "test_cfn_lint_is_clean", "checkov": "test_checkov_finds_no_failures"}


def start(name: str) -> Background:
    """The named tool's run, started now unless it already was."""
    if name not in _BACKGROUND:
        cmd, env = _commands()[name]
        _BACKGROUND[name] = Background(
            subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env
            )
        )
    return _BACKGROUND[name]


def pytest_collection_finish(session: pytest.Session) -> None:
    # Under pytest-xdist every worker collects every test: start nothing early there (the worker that
    # gets a tool's test starts it); in a plain run, start both now so they overlap the other tests.
    if hasattr(session.config, "workerinput") or getattr(session.config.option, "numprocesses", None):
        return
    here = Path(__file__).parent
    wanted = {item.name for item in session.items if Path(str(item.fspath)).parent == here}
    for name, test in _TESTS.items():
        if test in wanted and (name != "checkov" or checkov_executable() is not None):
            start(name)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for background in _BACKGROUND.values():
        if background.process.poll() is None:
            background.process.kill()
            background.process.communicate()


@pytest.fixture(scope="session")
def tool_run() -> Any:
    """``tool_run("cfn-lint" | "checkov")`` -> the tool's Background run (started if it was not)."""
    return start


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return cfn.load_template(TEMPLATE)


@pytest.fixture(scope="session")
def dev_params() -> dict[str, str]:
    return params.load("dev")


@pytest.fixture(scope="session")
def expanded(template: dict[str, Any], dev_params: dict[str, str]) -> dict[str, Any]:
    """The template as CloudFormation sees it after AWS::LanguageExtensions, with dev's parameters."""
    return cfn.expand_foreach(template, dev_params)
