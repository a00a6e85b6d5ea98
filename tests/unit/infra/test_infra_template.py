"""template.yaml lints clean, transforms with SAM, and declares what the Python code relies on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra import cfn, iam, policy

from .support import Background

REGION = "eu-west-2"

#: Function -> (code folder, handler); the Python code is written against these.
HANDLERS = {
    "IngestFunction": ("functions/ingest/", "app.handler"),
    "ValidateFunction": ("functions/validate/", "app.handler"),
    "AnalyseFunction": ("functions/analyse/", "app.handler"),
    "ReportFunction": ("functions/report/", "app.scheduled_report"),
    "ApiFunction": ("functions/report/", "app.app"),
}

#: Environment variables every function gets (contactlake.config reads them).
ENV_VARS = {
    "CONTACTLAKE_MODE",
    "CONTACTLAKE_RAW_BUCKET",
    "CONTACTLAKE_LAKE_BUCKET",
    "CONTACTLAKE_QUARANTINE_BUCKET",
    "CONTACTLAKE_REPORTS_BUCKET",
    "CONTACTLAKE_ATHENA_RESULTS_BUCKET",
    "CONTACTLAKE_GLUE_DATABASE",
    "CONTACTLAKE_ATHENA_WORKGROUP",
    "CONTACTLAKE_ATHENA_SCAN_BUDGET_BYTES",
    "CONTACTLAKE_EVENT_BUS",
    "CONTACTLAKE_MAIL_SENDER",
    "CONTACTLAKE_SES_CONFIGURATION_SET",
    "CONTACTLAKE_CONFIG",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
}


def test_cfn_lint_is_clean(tool_run: Callable[[str], Background]) -> None:
    """cfn-lint (errors, warnings and informational rules) runs in the background; see conftest.py."""
    code, out, err = tool_run("cfn-lint").result()
    assert (code, out.strip()) == (0, ""), out + err


@pytest.fixture(scope="module")
def transformed(expanded: dict[str, Any]) -> dict[str, Any]:
    return iam.sam_transform(expanded)


def test_sam_transform_succeeds(transformed: dict[str, Any]) -> None:
    types = {r["Type"] for r in transformed["Resources"].values()}
    assert "AWS::Serverless::Function" not in types
    assert {"AWS::Lambda::Function", "AWS::Lambda::EventInvokeConfig", "AWS::Scheduler::Schedule"} <= types
    functions = [r for r in transformed["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == len(HANDLERS)


def test_sam_generated_resources_keep_iam_rules(transformed: dict[str, Any]) -> None:
    assert policy.check_iam(transformed) == []


def test_transformed_functions_are_arm64_python312_with_own_log_groups(transformed: dict[str, Any]) -> None:
    for logical_id, resource in cfn.resources(transformed, "AWS::Lambda::Function"):
        props = resource["Properties"]
        assert props["Runtime"] == "python3.12", logical_id
        assert props["Architectures"] == ["arm64"], logical_id
        assert props["LoggingConfig"]["LogFormat"] == "JSON", logical_id
        assert "KmsKeyArn" in props, logical_id
        assert set(props["Environment"]["Variables"]) >= ENV_VARS, logical_id


def test_every_async_function_has_bounded_retries_and_failure_queue(transformed: dict[str, Any]) -> None:
    configs = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for _, r in cfn.resources(transformed, "AWS::Lambda::EventInvokeConfig")
    }
    assert set(configs) == {"IngestFunction", "ValidateFunction", "AnalyseFunction", "ReportFunction"}
    for name, props in configs.items():
        assert 0 <= props["MaximumRetryAttempts"] <= 2, name
        assert props["MaximumEventAgeInSeconds"] <= 21600, name
        assert props["DestinationConfig"]["OnFailure"]["Destination"], name


@pytest.mark.parametrize(("function", "expected"), sorted(HANDLERS.items()))
def test_handlers_and_code_folders(
    template: dict[str, Any], function: str, expected: tuple[str, str]
) -> None:
    props = template["Resources"][function]["Properties"]
    assert (props["CodeUri"], props["Handler"]) == expected


def test_globals_give_every_function_the_environment(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(variables) == ENV_VARS
    assert variables["CONTACTLAKE_MODE"] == "aws"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "ContactLake"


def test_only_the_function_that_hashes_callers_can_read_the_pii_key(template: dict[str, Any]) -> None:
    """Issue 15 item 13: all five functions could read the key; the API used it to sign page tokens."""
    resources = {name: r for name, r in template["Resources"].items() if isinstance(r, dict)}

    def grants(role: str, parameter: str) -> bool:
        return any(
            parameter in str(statement.get("Resource"))
            for policy in resources[role]["Properties"].get("Policies", [])
            for statement in policy["PolicyDocument"]["Statement"]
        )

    readers = {
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::IAM::Role" and grants(name, "PiiKeyParameterName")
    }
    assert readers == {"IngestRole"}
    token_readers = {
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::IAM::Role" and grants(name, "ApiTokenKeyParameterName")
    }
    assert token_readers == {"ApiRole"}
    env = {
        name: r["Properties"].get("Environment", {}).get("Variables", {})
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    assert [n for n, v in env.items() if "CONTACTLAKE_PII_KEY_PARAM" in v] == ["IngestFunction"]
    assert [n for n, v in env.items() if "CONTACTLAKE_API_TOKEN_KEY_PARAM" in v] == ["ApiFunction"]


def test_validate_is_triggered_only_by_ready_markers(template: dict[str, Any]) -> None:
    event = template["Resources"]["ValidateFunction"]["Properties"]["Events"]["StagingReady"]["Properties"]
    assert event["Bucket"] == {"Ref": "LakeBucket"}
    rules = {r["Name"]: r["Value"] for r in event["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": "staging/", "suffix": "_ready.json"}


def test_sample_events_match_the_triggers(repo: Path, template: dict[str, Any]) -> None:
    """The events in infra/events/ are what the functions receive; keep them consistent with the filters."""
    events = repo / "infra" / "events"
    rules = template["Resources"]["ValidateFunction"]["Properties"]["Events"]["StagingReady"]["Properties"]
    prefix, suffix = (r["Value"] for r in rules["Filter"]["S3Key"]["Rules"])

    def key(name: str) -> str:
        return str(json.loads((events / name).read_text())["Records"][0]["s3"]["object"]["key"])

    ready, raw = key("s3-staging-ready.json"), key("s3-raw-upload.json")
    assert ready.startswith(prefix)
    assert ready.endswith(suffix)
    assert re.fullmatch(r"[a-z][a-z0-9_-]{1,31}/[^/]+/[^/]+", raw), "raw keys are <centre_id>/<source>/<file>"
    detail = json.loads((events / "eventbridge-upload-validated.json").read_text())
    pattern = template["Resources"]["AnalyseFunction"]["Properties"]["Events"]["UploadValidated"][
        "Properties"
    ]
    assert detail["source"] in pattern["Pattern"]["source"]
    assert detail["detail-type"] in pattern["Pattern"]["detail-type"]
    report_events = template["Resources"]["ReportFunction"]["Properties"]["Events"]
    inputs = {
        json.loads(e["Properties"]["Input"])["period"]
        for e in report_events.values()
        if e["Type"] == "ScheduleV2"
    }
    assert inputs == {"daily", "weekly", "monthly", "quarterly"}
    for period in inputs:
        assert json.loads((events / f"schedule-report-{period}.json").read_text()) == {"period": period}
    # A correction's AnalysisFinished reaches the report function; one that replaced nothing does not.
    from contactlake.bus import matches

    finished = json.loads((events / "eventbridge-analysis-finished.json").read_text())
    restate = report_events["AnalysisFinished"]["Properties"]["Pattern"]
    assert matches(restate, finished)
    assert not matches(restate, {**finished, "detail": {**finished["detail"], "replaced": False}})


def test_foreach_makes_per_centre_alarms_and_upload_grants(
    expanded: dict[str, Any], dev_params: dict[str, str]
) -> None:
    centres = dev_params["CentreIds"].split(",")
    resources = expanded["Resources"]
    for centre in centres:
        ident = re.sub(r"[^A-Za-z0-9]", "", centre)
        missing = resources[f"UploadMissing{ident}Alarm"]["Properties"]
        assert missing["TreatMissingData"] == "breaching"
        assert {"Name": "centre_id", "Value": centre} in missing["Dimensions"]
        grant = resources[f"ApiUpload{ident}Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
        assert grant["Resource"]["Fn::Sub"].endswith(f"/{centre}/*")
        assert resources[f"QuarantineRate{ident}Alarm"]["Properties"]["Threshold"] == {
            "Ref": "QuarantineRateThreshold"
        }
    assert not any(key.startswith(cfn.FOREACH) for key in resources)


def test_expand_foreach_sanitises_logical_ids() -> None:
    template = {
        "Parameters": {"Ids": {"Type": "CommaDelimitedList", "Default": "a-1,b_2"}},
        "Resources": {
            "Fn::ForEach::Loop": [
                "Id",
                {"Ref": "Ids"},
                {
                    "Thing&{Id}": {
                        "Type": "AWS::SNS::Topic",
                        "Properties": {"TopicName": {"Fn::Sub": "t-${Id}"}},
                    }
                },
            ]
        },
    }
    out = cfn.expand_foreach(template)
    assert out["Resources"] == {
        "Thinga1": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "t-a-1"}}},
        "Thingb2": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "t-b_2"}}},
    }


def test_nightly_schedule_input_looks_like_an_eventbridge_scheduled_event(template: dict[str, Any]) -> None:
    """The analyse handler parses its event as EventBridgeEvent (detail-type, time, detail)."""
    raw = template["Resources"]["AnalyseFunction"]["Properties"]["Events"]["Nightly"]["Properties"]["Input"]
    text = cfn.sub_text(raw) or ""
    for placeholder, value in {
        "${AWS::AccountId}": "123456789012",
        "${AWS::Region}": REGION,
        "<aws.scheduler.execution-id>": "e-1",
        "<aws.scheduler.scheduled-time>": "2026-11-22T06:30:00Z",
        "<aws.scheduler.schedule-arn>": "arn:aws:scheduler:eu-west-2:123456789012:schedule/default/x",
    }.items():
        text = text.replace(placeholder, value)
    event = json.loads(text)
    assert event["detail-type"] == "Scheduled Event"
    assert event["time"] == "2026-11-22T06:30:00Z"
    assert isinstance(event["detail"], dict)
