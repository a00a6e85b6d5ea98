"""checkov finds nothing in template.yaml, and every suppression says why.

checkov pins a boto3 that conflicts with the project's, so it lives in its own virtualenv, ``.venv-tools``
(built from ``requirements/tools-constraints.txt`` by the Makefile before the tests run). Set
``CONTACTLAKE_CHECKOV`` to use another checkov executable.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from infra import cfn

from .support import CHECKOV_HINT, Background, checkov_executable


def _summaries(output: str) -> list[dict[str, Any]]:
    data = json.loads(output)
    reports = data if isinstance(data, list) else [data]
    return [report.get("summary", report) for report in reports]


def _failed(output: str) -> list[str]:
    data = json.loads(output)
    reports = data if isinstance(data, list) else [data]
    return [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]


@pytest.mark.slow
def test_checkov_finds_no_failures(tool_run: Callable[[str], Background]) -> None:
    """Scans the Fn::ForEach-expanded template (started in the background by conftest.py)."""
    if checkov_executable() is None:
        pytest.skip(CHECKOV_HINT)
    code, out, err = tool_run("checkov").result()
    assert out.strip(), f"checkov printed nothing (exit {code}): {err[-2000:]}"
    assert _failed(out) == []
    for summary in _summaries(out):
        assert summary["failed"] == 0, summary
        assert summary["parsing_errors"] == 0, summary
        assert summary["resource_count"] >= 50, summary


def test_every_checkov_suppression_has_a_reason(template: dict[str, Any]) -> None:
    found = 0
    for logical_id, resource in cfn.resources(template):
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            found += 1
            assert str(skip.get("id", "")).startswith("CKV"), logical_id
            assert len(str(skip.get("comment", "")).split()) >= 8, (
                f"{logical_id} {skip.get('id')}: give a real reason"
            )
    assert found, "expected the documented suppressions (VPC, DLQ vs destinations, API cache, log bucket)"
