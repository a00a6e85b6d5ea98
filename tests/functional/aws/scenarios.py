"""Each function's work on the moto stack, run through its real handler with its deployed environment.

These are functional tests in their own right (each step checks its outcome) and the source of the
permissions evaluation: every AWS call they make is recorded against the function whose handler made it.
"""

from __future__ import annotations

import email
import gzip
import json
import warnings
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any

import boto3

from infra.iam import REGION, Stack
from tests.conftest import EVENTS
from tests.fixtures.lakes import FIXTURES
from tests.functional.aws.moto_stack import (
    SAMPLE,
    AthenaOnDuckDB,
    Invoker,
    create_resources,
    delivered,
    s3_event,
    stack_bucket,
)
from tests.functional.aws.recorder import Recorder

#: An IAM principal the shipped configuration maps to the north centre ([api.callers.north_ops_role]).
NORTH_OPS = "arn:aws:sts::123456789012:assumed-role/contactlake-north-ops/dashboard"
#: A north caller who may also build reports now (the "admin" action; moto_stack adds it to the config).
NORTH_ADMIN = "arn:aws:sts::123456789012:assumed-role/contactlake-north-admin/console"
DAY = "2026-11-02"


@dataclass
class Outcomes:
    """What each step returned, for the functional assertions."""

    results: dict[str, Any] = field(default_factory=dict)


def gateway_event(
    method: str,
    path: str,
    resource: str,
    params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    caller: str = NORTH_OPS,
) -> dict[str, Any]:
    """The REST API proxy event API Gateway sends after checking the caller's SigV4 signature."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Host": "abc.execute-api.eu-west-2.amazonaws.com", "Content-Type": "application/json"},
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "identity": {"sourceIp": "10.0.0.1", "userArn": caller},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def _ready_keys(stack: Stack) -> list[str]:
    s3 = boto3.client("s3", region_name=REGION)
    listed = s3.list_objects_v2(Bucket=stack_bucket(stack, "lake"), Prefix="staging/").get("Contents", [])
    return [o["Key"] for o in listed if o["Key"].endswith("/_ready.json")]


def _upload(
    stack: Stack, invoker: Invoker, key: str, body: bytes
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An upload lands in raw: ingest runs on its event, then validate on each _ready.json it wrote."""
    raw = stack_bucket(stack, "raw")
    boto3.client("s3", region_name=REGION).put_object(Bucket=raw, Key=key, Body=body)
    staged = invoker.invoke("IngestFunction", s3_event(raw, key))
    validated = [
        invoker.invoke("ValidateFunction", s3_event(stack_bucket(stack, "lake"), ready))
        for ready in _ready_keys(stack)
    ]
    return staged, validated


def run_all(stack: Stack, recorder: Recorder, scratch: Path) -> Outcomes:
    create_resources(stack)
    recorder.listeners.append(AthenaOnDuckDB(stack, scratch))
    invoker = Invoker(stack, recorder)
    out = Outcomes()
    exports = SAMPLE / "exports" / "north"
    calls = (exports / "acd" / f"calls-{DAY}.csv.gz").read_bytes()

    # Ingest + validate: a dataset's first upload, the other dataset of the day, a re-delivery, a
    # re-export of the day (supersedes the first), and an unreadable file (rejected whole by ingest).
    out.results["first"] = _upload(stack, invoker, f"north/acd/calls-{DAY}.csv.gz", calls)
    out.results["agents"] = _upload(
        stack,
        invoker,
        f"north/agents/agents-{DAY}.csv.gz",
        (exports / "agents" / f"agents-{DAY}.csv.gz").read_bytes(),
    )
    out.results["redelivered"] = _upload(stack, invoker, f"north/acd/calls-{DAY}.csv.gz", calls)
    lines = gzip.decompress(calls).splitlines(keepends=True)
    out.results["reexport"] = _upload(
        stack, invoker, f"north/acd/calls-{DAY}-resent.csv.gz", gzip.compress(b"".join(lines[:-5]))
    )
    out.results["unreadable"] = _upload(
        stack, invoker, "north/acd/calls-broken.csv.gz", b"\x1f\x8b not gzip at all"
    )
    # Amazon Connect: a contact re-delivered in a later Firehose object displaces the stored copy.
    records = (FIXTURES / "amazon_connect" / "ctr-2024-03-05.jsonl").read_bytes().splitlines()
    out.results["connect"] = [
        _upload(
            stack,
            invoker,
            "leeds/ctr/2024/03/05/09/part-a.gz",
            gzip.compress(records[0] + b"\n" + records[2]),
        ),
        _upload(stack, invoker, "leeds/ctr/2024/03/05/10/part-b.gz", gzip.compress(records[1])),
    ]

    # Analyse: the UploadValidated event recomputes the day's aggregates through Athena.
    event = json.loads((EVENTS / "upload_validated.json").read_text())
    out.results["analyse"] = invoker.invoke("AnalyseFunction", event)
    s3 = boto3.client("s3", region_name=REGION)
    lake = stack_bucket(stack, "lake")
    out.results["analysis_record"] = json.loads(
        s3.get_object(Bucket=lake, Key=out.results["analyse"]["record"])["Body"].read()
    )
    listed = s3.list_objects_v2(Bucket=stack_bucket(stack, "athena"), Prefix="unload/")
    out.results["unload_left"] = [o["Key"] for o in listed.get("Contents", [])]

    # Scheduled reports: the daily run builds, stores and mails (SES) every daily report.
    out.results["report"] = invoker.invoke("ReportFunction", {"period": "daily", "as_of": DAY})
    # A corrected re-export of the day after its daily reports went out: routed as template.yaml routes
    # it, its UploadValidated event runs the analyse function, whose AnalysisFinished event (a correction)
    # runs the report function, which restates the reports with a notice (SES) and stores them (S3).
    out.results["restated"] = _correction_restates(stack, invoker, lines)
    # The monthly run for November, which has one day of data: the board's executive report is held.
    out.results["held"] = invoker.invoke("ReportFunction", {"period": "monthly", "as_of": "2026-12-01"})
    # Delivery of a message too large to attach: links to the stored copies instead (pre-signed).
    stored = _first_report_key(stack)  # looked up by the test, before the function acts
    with invoker.running("ReportFunction"):
        from contactlake.report.mail import Attachment, compose_email
        from contactlake.runtime import runtime
        from tests.unit.report.conftest import make_report

        mailer = runtime().ports.mailer
        mailer.max_bytes = 2000  # type: ignore[attr-defined]
        big = Attachment("north-operations-daily.pdf", "application/pdf", b"%PDF-1.4\n" + b"0" * 5000, stored)
        message = compose_email(
            make_report(),
            sender=str(stack.parameters["MailSender"]),
            recipients=["ops-north@example.com"],
            attachments=[big],
        )
        out.results["large_mail"] = mailer.send(message)

    # The REST API: every read route for a centre, an upload URL, a report on request, a download link.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api: dict[str, Any] = {}
        kpis = {"from": DAY, "to": DAY, "grain": "day"}
        for name, event in {
            "centres": gateway_event("GET", "/centres", "/centres"),
            "kpis": gateway_event(
                "GET", "/centres/north/kpis", "/centres/{centre_id}/kpis", {"centre_id": "north"}, kpis
            ),
            "trends": gateway_event(
                "GET", "/centres/north/trends", "/centres/{centre_id}/trends", {"centre_id": "north"}, kpis
            ),
            "pathways": gateway_event(
                "GET",
                "/centres/north/pathways",
                "/centres/{centre_id}/pathways",
                {"centre_id": "north"},
                kpis,
            ),
            "staffing": gateway_event(
                "GET",
                "/centres/north/staffing",
                "/centres/{centre_id}/staffing",
                {"centre_id": "north"},
                kpis,
            ),
            "data_quality": gateway_event(
                "GET",
                "/centres/north/data-quality",
                "/centres/{centre_id}/data-quality",
                {"centre_id": "north"},
                kpis,
            ),
            "uploads": gateway_event(
                "GET", "/centres/north/uploads", "/centres/{centre_id}/uploads", {"centre_id": "north"}, kpis
            ),
            "upload_url": gateway_event(
                "POST",
                "/centres/north/upload-url",
                "/centres/{centre_id}/upload-url",
                {"centre_id": "north"},
                body={"source": "acd", "filename": "calls-2026-11-03.csv.gz"},
            ),
            "reports": gateway_event("GET", "/reports", "/reports"),
            "generate": gateway_event(
                "POST",
                "/reports",
                "/reports",
                body={"audience": "operations", "period": "daily", "as_of": DAY, "centre": "north"},
                caller=NORTH_ADMIN,
            ),
            "generate_held": gateway_event(
                "POST",
                "/reports",
                "/reports",
                body={
                    "audience": "executive",
                    "period": "monthly",
                    "as_of": "2026-12-01",
                    "centres": ["north"],
                },
                caller=NORTH_ADMIN,
            ),
        }.items():
            api[name] = invoker.invoke("ApiFunction", event)
        generated = json.loads(api["generate"]["body"])
        download = generated["downloads"][0].removeprefix("/reports/")
        scope, audience, period, filename = download.split("/")
        api["download"] = invoker.invoke(
            "ApiFunction",
            gateway_event(
                "GET",
                f"/reports/{download}",
                "/reports/{scope}/{audience}/{period}/{filename}",
                {"scope": scope, "audience": audience, "period": period, "filename": filename},
            ),
        )
        out.results["api"] = api
    return out


def _correction_restates(stack: Stack, invoker: Invoker, lines: list[bytes]) -> dict[str, Any]:
    from moto.ses.models import ses_backends

    from infra.iam import ACCOUNT

    earlier = {"analyse": delivered("AnalyseFunction"), "report": delivered("ReportFunction")}
    ses = ses_backends[ACCOUNT][REGION]
    mails_before = len(ses.sent_messages)
    key = f"north/acd/calls-{DAY}-resent.csv.gz"
    _, validated = _upload(stack, invoker, key, gzip.compress(b"".join(lines[:-60])))
    [upload_validated] = delivered("AnalyseFunction")
    analysed = invoker.invoke("AnalyseFunction", upload_validated)
    [analysis_finished] = delivered("ReportFunction")
    restated = invoker.invoke("ReportFunction", analysis_finished)
    reports = stack_bucket(stack, "reports")
    html = (
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket=reports, Key=f"north/operations/daily/{DAY}.html")["Body"]
        .read()
        .decode()
    )
    return {
        "earlier_routed": {name: [e["detail-type"] for e in events] for name, events in earlier.items()},
        "validated": validated,
        "upload_validated": upload_validated,
        "analysis_finished": analysis_finished,
        "analysed": analysed,
        "restatements": restated["restatements"],
        "subjects": [
            str(email.message_from_string(m.raw_data, policy=policy.default)["Subject"])
            for m in ses.sent_messages[mails_before:]
        ],
        "restated_banner": "Restated: this report replaces version 1" in html,
    }


def _first_report_key(stack: Stack) -> str:
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=stack_bucket(stack, "reports"))
    keys = [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".pdf")]
    assert keys, "the daily run stored no PDF report"
    return keys[0]
