"""Least privilege that works on first deploy: every AWS call each function makes is allowed by its role
in template.yaml, and its role allows nothing the calls (or Lambda, or a documented need) do not use.

The functions run on a moto copy of the stack (tests/functional/aws/scenarios.py); infra/iam.py maps each
recorded call to IAM requests and evaluates them against the SAM-transformed template.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra import iam
from tests.functional.aws.permissions import README, Measured, measure_once

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Measured:
    return measure_once(tmp_path_factory)


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
    # The analyse function ran its queries through awswrangler (ADR 0015), each counted in the result.
    athena = results["analyse"]["athena"]
    assert athena["queries"] == len(athena["bytes_per_query"]) >= 5
    wrangled = {c.function for c in measured.calls if c.service == "athena" and c.operation == "GetWorkGroup"}
    assert wrangled == {"AnalyseFunction"}
    # Rows for the lake came through UNLOAD (read back and deleted), and the run left its record.
    unloads = [
        c for c in measured.calls
        if c.operation == "StartQueryExecution" and str(c.params["QueryString"]).startswith("UNLOAD (")
    ]  # fmt: skip
    assert {c.function for c in unloads} == {"AnalyseFunction"}
    assert results["unload_left"] == []
    record = results["analysis_record"]
    assert (
        results["analyse"]["record"]
        == "manifests/analysis/2026-11-03/9f1e0c55-3a8b-4bde-9c55-0c1c2a7c6f10.json"
    )
    assert record["athena"] == athena
    assert record["windows"] == results["analyse"]["windows"]
    assert {t["table"] for t in record["tables"]} >= {"kpi_daily", "pathway_daily"}
    assert results["report"]["counts"].get("sent", 0) >= 1
    assert results["held"]["counts"].get("held", 0) >= 1
    api = results["api"]
    assert {name: r["statusCode"] for name, r in api.items()} == {
        **dict.fromkeys(api, 200),
        "upload_url": 201,
        "generate": 201,
        "generate_held": 201,
    }


def test_a_corrected_re_export_restates_the_sent_reports_on_aws(measured: Measured) -> None:
    """Issue 16: nobody calls restate_reports on AWS: the correction's events, routed by template.yaml's
    rules, run analyse then report, and the recipients get a notice (SES) and the restated report (S3)."""
    restated = measured.outcomes.results["restated"]
    # Analyses that replaced nothing (the first uploads') never reach the report function.
    assert restated["earlier_routed"]["report"] == []
    assert set(restated["earlier_routed"]["analyse"]) == {"UploadValidated"}
    [validated] = restated["validated"]
    upload = validated["uploads"][0]["upload_id"]
    assert restated["upload_validated"]["detail"]["upload_id"] == upload
    replaced = restated["upload_validated"]["detail"]["replaced_upload_id"]
    assert replaced
    finished = restated["analysis_finished"]
    assert finished["detail-type"] == "AnalysisFinished"
    assert finished["detail"] == {
        "centre_id": "north", "days": ["2026-11-02"], "replaced": True, "replaced_uploads": [replaced],
    }  # fmt: skip
    statuses = {(r["audience"], r["status"]) for r in restated["restatements"]}
    assert ("operations", "restated") in statuses, restated["restatements"]
    assert any(s.startswith("Restated: Operations daily report") for s in restated["subjects"])
    assert any("(restated)" in s for s in restated["subjects"]), restated["subjects"]
    assert restated["restated_banner"]


@pytest.mark.parametrize(
    "function", ["IngestFunction", "ValidateFunction", "AnalyseFunction", "ReportFunction", "ApiFunction"]
)
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


def _statement(template: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    return next(s for s in statements if s.get("Sid") == sid)


def _prefix_conditioned_list(template: dict[str, Any]) -> None:
    _statement(template, "IngestRole", "ListLake")["Condition"] = {
        "StringLike": {"s3:prefix": ["staging/*", "manifests/*", "config/*"]}
    }


def _no_abort_for_spills(template: dict[str, Any]) -> None:
    _statement(template, "ValidateRole", "QuarantineRows")["Action"].remove("s3:AbortMultipartUpload")


def _quarantine_readable_by_api(template: dict[str, Any]) -> None:
    _statement(template, "ApiRole", "ReadLakeAndReports")["Resource"].append(
        {
            "Fn::Sub": "arn:${AWS::Partition}:s3:::contactlake-${Environment}-quarantine-${AWS::AccountId}-${AWS::Region}/rows/*"
        }
    )


def _partition_reads_for_a_writer(template: dict[str, Any]) -> None:
    _statement(template, "ValidateRole", "RegisterPartitions")["Action"].append("glue:GetPartitions")


REGRESSIONS = {
    "ListBucket conditioned on s3:prefix (403 for a new upload's manifest)": (
        _prefix_conditioned_list,
        "refused",
        "IngestFunction: s3:ListBucket on arn:aws:s3:::contactlake-dev-lake-",
    ),
    "no AbortMultipartUpload for quarantine spills": (
        _no_abort_for_spills,
        "refused",
        "ValidateFunction: s3:AbortMultipartUpload on",
    ),
    "quarantine rows readable by the API": (
        _quarantine_readable_by_api,
        "unused",
        "ApiRole/api/ReadLakeAndReports: resource arn:aws:s3:::contactlake-dev-quarantine",
    ),
    "Glue partition reads granted to a writer": (
        _partition_reads_for_a_writer,
        "unused",
        "ValidateRole/validate/RegisterPartitions: action glue:GetPartitions",
    ),
}


@pytest.mark.parametrize("name", list(REGRESSIONS))
def test_a_regressed_role_is_caught(measured: Measured, name: str) -> None:
    """The evaluation is not vacuous: each defect of the template as it was is found again."""
    from infra import cfn

    change, kind, expected = REGRESSIONS[name]
    template = cfn.load_template()
    change(template)
    evaluation = iam.evaluate(iam.load_stack(template), measured.calls)
    if kind == "refused":
        found = [d.explain() for d in evaluation.refused()]
    else:
        found = [f"{g.statement}: {g.kind} {g.value}" for g in iam.unused_grants(evaluation)]
    assert any(expected in line for line in found), found
