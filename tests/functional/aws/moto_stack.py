"""The stack of template.yaml, stood up in moto: the same bucket names, Glue tables, workgroup, bus, SES
identity, SSM key and configuration object, so each function runs with its deployed environment.

moto does not execute SQL. :class:`AthenaOnDuckDB` answers each ``StartQueryExecution`` by running the
statement (with its execution parameters) on DuckDB over a copy of the moto buckets, and hands moto the
rows as Athena would return them — or, for an ``UNLOAD``, writes them as Parquet files where its ``TO``
points — so the functions' Athena paths run end to end.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pyarrow as pa

from infra import cfn
from infra.iam import ACCOUNT, PARTITION, REGION, Call, Stack
from tests.conftest import load_handler
from tests.functional.aws.recorder import Recorder

SAMPLE = Path(str(resources.files("contactlake") / "sample_data"))


#: A centre whose contact records arrive from Amazon Connect (Kinesis Data Firehose objects), added to the
#: shipped configuration: its re-delivered contacts displace stored copies, a path of its own.
CONNECT_CENTRE = b"""
[centres.leeds]
timezone = "Europe/London"

[centres.leeds.sources.ctr]
adapter = "amazon_connect"

[api.callers.north_admin_role]
centres = ["north"]
actions = ["read", "upload", "admin"]
role = "internal"
principal = "arn:aws:iam::123456789012:role/contactlake-north-admin"
"""


class LambdaContext:
    def __init__(self, name: str) -> None:
        self.function_name = name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.aws_request_id = f"req-{name}"


def create_resources(stack: Stack) -> None:
    """Buckets, Glue database and tables, Athena workgroup, event bus, SES identity, SSM key, config."""
    s3 = boto3.client("s3", region_name=REGION)
    for name in stack.bucket_names():
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})  # type: ignore[typeddict-item]
    glue = boto3.client("glue", region_name=REGION)
    database = str(stack.parameters["GlueDatabaseName"])
    glue.create_database(DatabaseInput={"Name": database})
    for _, table in cfn.resources(stack.template, "AWS::Glue::Table"):
        glue.create_table(DatabaseName=database, TableInput=table["Properties"]["TableInput"])
    for _, workgroup in cfn.resources(stack.template, "AWS::Athena::WorkGroup"):
        props = workgroup["Properties"]
        output = props["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"]
        boto3.client("athena", region_name=REGION).create_work_group(
            Name=props["Name"], Configuration={"ResultConfiguration": {"OutputLocation": output}}
        )
    for _, bus in cfn.resources(stack.template, "AWS::Events::EventBus"):
        boto3.client("events", region_name=REGION).create_event_bus(Name=bus["Properties"]["Name"])
    route_events(stack)
    boto3.client("ses", region_name=REGION).verify_domain_identity(
        Domain=str(stack.parameters["MailIdentity"])
    )
    for _, config_set in cfn.resources(stack.template, "AWS::SES::ConfigurationSet"):
        boto3.client("sesv2", region_name=REGION).create_configuration_set(
            ConfigurationSetName=config_set["Properties"]["Name"]
        )
    ssm = boto3.client("ssm", region_name=REGION)
    for parameter, value in (
        ("PiiKeyParameterName", "test-pseudonymisation-key"),
        ("ApiTokenKeyParameterName", "test-page-token-key"),
    ):
        ssm.put_parameter(Name=str(stack.parameters[parameter]), Value=value, Type="SecureString")
    lake = stack_bucket(stack, "lake")
    config = (SAMPLE / "contactlake.toml").read_bytes() + CONNECT_CENTRE
    s3.put_object(Bucket=lake, Key=str(stack.parameters["ConfigObjectKey"]), Body=config)
    for mapping in sorted((SAMPLE / "mappings").glob("*.toml")):
        s3.put_object(Bucket=lake, Key=f"config/mappings/{mapping.name}", Body=mapping.read_bytes())


def _route_queue(logical_id: str) -> str:
    return f"route-{logical_id}"


def route_events(stack: Stack) -> None:
    """The stack's EventBridge rules (as SAM turns template.yaml's EventBridgeRule events into them), each
    delivering to an SQS queue that stands in for its function (moto runs no Lambda code): moto matches
    the patterns, and :func:`delivered` reads what the function would have been invoked with."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    by_arn = {
        f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{f.name}": f.logical_id
        for f in stack.functions.values()
    }
    for name, rule in cfn.resources(stack.template, "AWS::Events::Rule"):
        props = rule["Properties"]
        [target] = props["Targets"]
        queue = sqs.create_queue(QueueName=_route_queue(by_arn[target["Arn"]]))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
        bus = props["EventBusName"]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(props["EventPattern"]))
        events.put_targets(
            Rule=name, EventBusName=bus, Targets=[{"Id": target["Id"], "Arn": arn["QueueArn"]}]
        )


def delivered(logical_id: str) -> list[dict[str, Any]]:
    """The events routed to a function since the last call (each as Lambda receives it), oldest first."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.get_queue_url(QueueName=_route_queue(logical_id))["QueueUrl"]
    events = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return events
        for message in batch:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def stack_bucket(stack: Stack, area: str) -> str:
    env = str(stack.parameters["Environment"])
    return f"contactlake-{env}-{area}-{ACCOUNT}-{REGION}"


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    """An S3 ObjectCreated notification as Lambda receives it (keys URL-encoded)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key), "size": 1},
                },
            }
        ]
    }


class Invoker:
    """Calls a function's handler as Lambda would: found by its CodeUri and Handler in template.yaml, with
    the environment template.yaml gives it, and the recorder attributing its calls to it."""

    def __init__(self, stack: Stack, recorder: Recorder) -> None:
        self.stack, self.recorder = stack, recorder

    @contextmanager
    def running(self, logical_id: str) -> Iterator[None]:
        from aws_lambda_powertools.utilities import parameters

        from contactlake.runtime import runtime

        function = self.stack.functions[logical_id]
        saved = dict(os.environ)
        os.environ.update(self.stack.env(function))
        # A cold container: no runtime, no cached parameters (each function fetches the key itself).
        runtime.cache_clear()
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        try:
            with self.recorder.acting_as(logical_id):
                yield
        finally:
            os.environ.clear()
            os.environ.update(saved)
            runtime.cache_clear()

    def handler(self, logical_id: str) -> Callable[..., Any]:
        function = self.stack.functions[logical_id]
        module_name, attribute = function.handler.rsplit(".", 1)
        folder = function.code_uri.strip("/")
        if folder == "functions/report":
            from tests.functional.report.lake import load_report_app

            module = load_report_app()
        else:
            assert module_name == "app", function.handler
            module = load_handler(folder.removeprefix("functions/"))
        return getattr(module, attribute)  # type: ignore[no-any-return]

    def invoke(self, logical_id: str, event: Mapping[str, Any]) -> Any:
        with self.running(logical_id):
            return self.handler(logical_id)(dict(event), LambdaContext(self.stack.functions[logical_id].name))


# ------------------------------------------------------------------------------------------ Athena bridge


def _moto_objects(bucket: str) -> Iterator[tuple[str, bytes]]:
    from moto.s3.models import s3_backends

    backend = s3_backends[ACCOUNT][PARTITION]
    for key in backend.get_bucket(bucket).keys.values():
        if getattr(key, "is_latest", True) and not getattr(key, "is_delete_marker", False):
            yield key.name, key.value


def _inline(sql: str, literals: list[str]) -> str:
    """Put Athena's execution parameters back in place of its ``?`` placeholders (found by sqlglot's
    tokenizer, so a ``?`` or a quote in a comment or string is left alone)."""
    from sqlglot.tokens import Tokenizer, TokenType  # type: ignore[attr-defined]

    spans = [(t.start, t.end) for t in Tokenizer().tokenize(sql) if t.token_type == TokenType.PLACEHOLDER]
    assert len(spans) == len(literals), f"{len(spans)} placeholders, {len(literals)} parameters"
    for (start, end), literal in sorted(zip(spans, literals, strict=True), reverse=True):
        sql = sql[:start] + literal + sql[end + 1 :]
    return sql


def _athena_type(arrow: pa.DataType) -> str:
    if pa.types.is_int64(arrow):
        return "bigint"
    if pa.types.is_integer(arrow):
        return "integer"
    if pa.types.is_floating(arrow):
        return "double"
    if pa.types.is_boolean(arrow):
        return "boolean"
    if pa.types.is_date(arrow):
        return "date"
    if pa.types.is_timestamp(arrow):
        return "timestamp with time zone" if arrow.tz else "timestamp"
    if pa.types.is_decimal(arrow):
        return "decimal"
    return "varchar"


def _text(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"VarCharValue": "true" if value else "false"}
    if isinstance(value, datetime):
        suffix = " UTC" if value.tzinfo else ""
        naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return {"VarCharValue": naive.isoformat(sep=" ", timespec="milliseconds") + suffix}
    if isinstance(value, date):
        return {"VarCharValue": value.isoformat()}
    return {"VarCharValue": str(value)}


def athena_query_results(table: pa.Table) -> Any:
    """``table`` as Athena's GetQueryResults gives it (moto's ``QueryResults``): text cells, a header row."""
    from moto.athena.models import QueryResults

    columns = [
        {
            "Name": f.name,
            "Label": f.name,
            "Type": _athena_type(f.type),
            "Precision": getattr(f.type, "precision", 0),
            "Scale": getattr(f.type, "scale", 0),
        }
        for f in table.schema
    ]
    header = {"Data": [{"VarCharValue": f.name} for f in table.schema]}
    rows = [header] + [{"Data": [_text(v) for v in row.values()]} for row in table.to_pylist()]
    return QueryResults(rows, columns)


def _store_result_csv(backend: Any, execution_id: str, rows: list[dict[str, Any]]) -> None:
    from moto.s3.models import s3_backends
    from moto.s3.utils import bucket_and_name_from_url

    def cell(value: dict[str, str]) -> str:
        return '"' + value["VarCharValue"].replace('"', '""') + '"' if "VarCharValue" in value else ""

    text = "".join(",".join(cell(value) for value in row["Data"]) + "\n" for row in rows)
    bucket, key = bucket_and_name_from_url(backend.executions[execution_id].config["OutputLocation"])
    s3_backends[ACCOUNT]["aws"].put_object(bucket_name=bucket, key_name=key, value=text.encode("utf-8"))


#: The statement ``AthenaEngine.unload`` sends, its SELECT and where the files go.
_UNLOAD = re.compile(
    r"UNLOAD \(\n(?P<select>.*)\n\) TO '(?P<location>s3://[^']+/)' WITH \((?P<options>[^)]*)\)", re.S
)


def _write_unloaded(table: pa.Table, location: str) -> None:
    """What UNLOAD leaves at its ``TO`` location: nothing for no rows, else Parquet files written in
    parallel (two here, split in the middle), named without an extension."""
    import pyarrow.parquet as pq
    from moto.s3.models import s3_backends
    from moto.s3.utils import bucket_and_name_from_url

    bucket, prefix = bucket_and_name_from_url(location)
    if any(key.startswith(prefix) for key, _ in _moto_objects(bucket)):
        raise AssertionError(f"UNLOAD to {location}, which holds data: Athena refuses it")
    half = table.num_rows // 2
    parts = [table.slice(0, half), table.slice(half)] if half else [table] if table.num_rows else []
    for n, part in enumerate(parts):
        sink = io.BytesIO()
        pq.write_table(part, sink, compression="zstd")
        s3_backends[ACCOUNT]["aws"].put_object(
            bucket_name=bucket, key_name=f"{prefix}20261102_000000_0000{n}_bridge", value=sink.getvalue()
        )


class AthenaOnDuckDB:
    """Answers moto's Athena executions with DuckDB over a mirror of the lake and quarantine buckets."""

    def __init__(self, stack: Stack, scratch: Path) -> None:
        self.stack, self.scratch = stack, scratch

    def __call__(self, call: Call, parsed: dict[str, Any]) -> None:
        if call.service != "athena" or call.operation != "StartQueryExecution" or not call.result_id:
            return
        from moto.athena.models import athena_backends

        from contactlake.adapters import build_ports
        from contactlake.config import Settings

        home = self.scratch / "mirror"
        shutil.rmtree(home, ignore_errors=True)
        for area in ("lake", "quarantine"):
            for key, data in _moto_objects(stack_bucket(self.stack, area)):
                if key.endswith(".parquet"):
                    target = home / area / key
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
        sql = _inline(str(call.params["QueryString"]), list(call.params.get("ExecutionParameters", [])))
        engine = build_ports(Settings(mode="local", home=home)).engine
        backend = athena_backends[ACCOUNT][REGION]
        unload = _UNLOAD.match(sql)
        if unload is not None:
            assert unload["options"] == "format = 'PARQUET', compression = 'ZSTD'", unload["options"]
            _write_unloaded(engine.query(unload["select"]), unload["location"])
            backend.query_results[call.result_id] = athena_query_results(
                pa.table({"rows": pa.array([], pa.int64())})
            )
            return
        results = athena_query_results(engine.query(sql))
        backend.query_results[call.result_id] = results
        # The result CSV Athena leaves in the results location, which awswrangler reads (ADR 0015), written
        # as Athena writes it: every value quoted, quotes inside doubled, NULL as nothing. (moto's own
        # writer does not double quotes, so a JSON value shifted the columns.)
        _store_result_csv(backend, call.result_id, results.rows)
