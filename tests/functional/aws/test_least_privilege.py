"""Least privilege that works on first deploy: every AWS call each function makes is allowed by its role
in template.yaml, and its role allows nothing the calls (or Lambda, or a documented need) do not use.

The functions run on a moto copy of the stack (tests/functional/aws/scenarios.py); infra/iam.py maps each
recorded call to IAM requests and evaluates them against the SAM-transformed template.
"""

from __future__ import annotations

import pytest

from infra import iam
from tests.functional.aws.permissions import README, Measured, measure

pytestmark = pytest.mark.slow

@pytest.fixture(scope="session")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Measured:
    return measure(tmp_path_factory.mktemp("aws-stack"))


def test_the_functions_do_their_work_on_the_stack(measured: Measured) -> None:
    results = measured.outcomes.results
    staged, validated = results["first"]
    assert staged["uploads"][0]["status"] == "staged"
    assert [v["uploads"][0]["reconciles"] for v in validated] == [True]
    assert results["redelivered"][0]["uploads"][0]["status"] == "stored"
    assert results["unreadable"][0]["uploads"][0]["status"] == "rejected"
    firehose_a, firehose_b = results["connect"]
    assert [v["uploads"][0]["reconciles"] for v in firehose_a[1] + firehose_b[1]] == [True, True]
    assert results["analyse"]["tables"]
    assert results["report"]["counts"].get("sent", 0) >= 1
    assert results["held"]["counts"].get("held", 0) >= 1
    api = results["api"]
    assert {name: r["statusCode"] for name, r in api.items()} == {
        **{name: 200 for name in api}, "upload_url": 201, "generate": 201, "generate_held": 201,
    }


@pytest.mark.parametrize("function", ["IngestFunction", "ValidateFunction", "AnalyseFunction", "ReportFunction", "ApiFunction"])
def test_every_call_the_function_makes_is_allowed(measured: Measured, function: str) -> None:
    assert measured.calls, "nothing was recorded"
    refused = [d.explain() for d in measured.evaluation().for_function(function) if not d.allowed]
    assert refused == [], "\n".join(refused)


def test_every_grant_is_used(measured: Measured) -> None:
    unused = iam.unused_grants(measured.evaluation())
    assert unused == [], "\n".join(f"{g.statement}: {g.kind} {g.value} is never used" for g in unused)


def test_readme_permission_table_is_current(measured: Measured) -> None:
    readme = README.read_text(encoding="utf-8")
    table = iam.permission_table(measured.evaluation())
    assert iam.TABLE_BEGIN in readme, "infra/README.md has no generated permissions block"
    assert iam.replace_table(readme, table) == readme, (
        "infra/README.md's permission table is out of date: run "
        "`.venv/bin/python -m tests.functional.aws.permissions --write`"
    )
