"""Ingest and validate Lambdas under moto: an S3 upload → SQS notification → handlers → curated lake."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from contactlake.adapters.aws import EventBridgePublisher, GlueCatalog, S3ObjectStore
from contactlake.adapters.local import OutboxMailer
from contactlake.config import Settings, load_app_config, parse_app_config
from contactlake.ports import Ports
from contactlake.runtime import Runtime
from contactlake.tables import all_tables
from tests.conftest import load_handler
from tests.fixtures.lakes import FIXTURES, centres

REGION = "eu-west-2"
BUCKETS = {"raw": "cl-raw", "lake": "cl-lake", "quarantine": "cl-quarantine", "reports": "cl-reports"}
SAMPLE = (
    Path(__file__).resolve().parents[3]
    / "shared/contactlake/sample_data/exports/north/acd/calls-2026-11-02.csv.gz"
)


@dataclass
class Context:
    function_name: str = "test"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:test"
    aws_request_id: str = "req-1"


def _glue_type(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_int64(arrow_type):
        return "bigint"
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "double"
    return "string"


@pytest.fixture
def aws(aws_credentials: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in BUCKETS.values():
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="uploads")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for bucket, rule in ((BUCKETS["raw"], None), (BUCKETS["lake"], ("staging/", "_ready.json"))):
            notification: dict[str, Any] = {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}
            if rule:
                notification["Filter"] = {
                    "Key": {
                        "FilterRules": [
                            {"Name": "prefix", "Value": rule[0]},
                            {"Name": "suffix", "Value": rule[1]},
                        ]
                    }
                }
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [notification]}
            )
        glue = boto3.client("glue", region_name=REGION)
        glue.create_database(DatabaseInput={"Name": "contactlake"})
        for table in all_tables().values():
            glue.create_table(
                DatabaseName="contactlake",
                TableInput={
                    "Name": table.name,
                    "PartitionKeys": [
                        {"Name": n, "Type": "date" if t == "DATE" else "string"} for n, t in table.partitions
                    ],
                    "StorageDescriptor": {
                        "Columns": [{"Name": f.name, "Type": _glue_type(f.type)} for f in table.schema],
                        "Location": f"s3://{BUCKETS[table.area]}/{table.prefix}/",
                        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                        "SerdeInfo": {
                            "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                        },
                    },
                },
            )
        events = boto3.client("events", region_name=REGION)
        store = S3ObjectStore(s3, BUCKETS)
        ports = Ports(
            store=store,
            engine=None,  # type: ignore[arg-type]  # ingest/validate never query
            mailer=OutboxMailer(tmp_path / "outbox"),
            catalog=GlueCatalog(glue, "contactlake", BUCKETS),
            events=EventBridgePublisher(events, "default"),
        )
        rt = Runtime(
            settings=Settings(mode="aws", pii_key=b"test-key"), config=load_app_config(), ports=ports
        )
        yield {"s3": s3, "sqs": sqs, "queue": queue_url, "glue": glue, "runtime": rt}


def _next_s3_event(aws: dict[str, Any]) -> dict[str, Any]:
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in messages]
    for m in messages:
        aws["sqs"].delete_message(QueueUrl=aws["queue"], ReceiptHandle=m["ReceiptHandle"])
    records = [r for b in bodies for r in b.get("Records", [])]
    assert records, f"no S3 notification arrived: {bodies}"
    return {"Records": records}


def test_upload_event_produces_partitioned_parquet_quarantine_and_manifest(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest = load_handler("ingest")
    validate = load_handler("validate")
    monkeypatch.setattr(ingest, "runtime", lambda: aws["runtime"])
    monkeypatch.setattr(validate, "runtime", lambda: aws["runtime"])
    s3 = aws["s3"]
    # A key with a space arrives URL-encoded in the event; the handler decodes it exactly once.
    key = "north/acd/nightly export 2026-11-02.csv.gz"
    s3.put_object(Bucket=BUCKETS["raw"], Key=key, Body=SAMPLE.read_bytes())

    staged = ingest.handler(_next_s3_event(aws), Context())
    assert staged["uploads"][0]["status"] == "staged"
    upload_id = staged["uploads"][0]["upload_id"]

    validated = validate.handler(_next_s3_event(aws), Context())
    assert validated["uploads"] == [{"upload_id": upload_id, "status": "stored", "reconciles": True}]

    manifest = json.loads(
        s3.get_object(Bucket=BUCKETS["lake"], Key=f"manifests/{upload_id}.json")["Body"].read()
    )
    assert (
        manifest["rows_read"]
        == manifest["rows_stored"] + manifest["rows_quarantined"] + manifest["rows_excluded"]
    )
    assert manifest["rows_quarantined"] == 3
    assert manifest["flagged_by_rule"] == {"duration.negative": 1}  # stored, the negative talk time nulled
    curated = s3.list_objects_v2(Bucket=BUCKETS["lake"], Prefix="curated/contacts/")["Contents"]
    assert {o["Key"].rsplit("/", 1)[0] for o in curated} == {
        "curated/contacts/centre_id=north/contact_date=2026-11-02"
    }
    stored = sum(
        pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKETS["lake"], Key=o["Key"])["Body"].read())).num_rows
        for o in curated
    )
    assert stored == manifest["rows_stored"]
    quarantine = s3.list_objects_v2(Bucket=BUCKETS["quarantine"], Prefix="rows/centre_id=north/")["Contents"]
    rows = pq.read_table(
        io.BytesIO(s3.get_object(Bucket=BUCKETS["quarantine"], Key=quarantine[0]["Key"])["Body"].read())
    )
    assert sorted(rows.column("rule_id").to_pylist()) == [
        "duplicate.contact_id_in_file", "outcome.unknown_code", "timestamp.invalid",
    ]  # fmt: skip
    # Staging is tidied up, and the partition is registered in Glue.
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKETS["lake"], Prefix="staging/")
    partitions = aws["glue"].get_partitions(DatabaseName="contactlake", TableName="contacts")["Partitions"]
    assert [p["Values"] for p in partitions] == [["north", "2026-11-02"]]

    # A duplicate delivery of the same events changes nothing.
    before = {
        o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKETS["lake"], Prefix="curated/")["Contents"]
    }
    s3.put_object(Bucket=BUCKETS["raw"], Key=key, Body=SAMPLE.read_bytes())
    again = ingest.handler(_next_s3_event(aws), Context())
    assert again["uploads"][0]["status"] == "stored"
    after = {
        o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKETS["lake"], Prefix="curated/")["Contents"]
    }
    assert after == before


def test_put_file_streams_a_large_export_as_a_multipart_upload(aws: dict[str, Any], tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    data = b"x" * (9 * 1024 * 1024)  # above boto3's 8 MiB multipart threshold
    source.write_bytes(data)
    store = aws["runtime"].ports.store
    store.put_file("raw", "north/acd/big.csv", source)
    etag = store.head("raw", "north/acd/big.csv").etag
    assert etag is not None
    assert etag.strip('"').endswith("-2")  # two parts: S3's multipart ETag
    with store.open("raw", "north/acd/big.csv", if_match=etag) as body:
        assert body.read() == data


def test_a_connect_contact_redelivered_in_a_later_object_replaces_the_stored_copy_on_s3(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two Firehose objects through both Lambdas: the newer delivery displaces the stored copy in S3."""
    rt = aws["runtime"]
    connect = Runtime(
        settings=rt.settings,
        config=parse_app_config(centres(), source_path=str(tmp_path / "contactlake.toml")),
        ports=rt.ports,
    )
    ingest, validate = load_handler("ingest"), load_handler("validate")
    monkeypatch.setattr(ingest, "runtime", lambda: connect)
    monkeypatch.setattr(validate, "runtime", lambda: connect)
    s3 = aws["s3"]
    records = (FIXTURES / "amazon_connect" / "ctr-2024-03-05.jsonl").read_bytes().splitlines()
    upload_ids = []
    for key, body in (
        ("leeds/ctr/2024/03/05/09/part-a.gz", gzip.compress(records[0] + b"\n" + records[2])),
        ("leeds/ctr/2024/03/05/10/part-b.gz", gzip.compress(records[1])),
    ):
        s3.put_object(Bucket=BUCKETS["raw"], Key=key, Body=body)
        upload_ids.append(ingest.handler(_next_s3_event(aws), Context())["uploads"][0]["upload_id"])
        assert validate.handler(_next_s3_event(aws), Context())["uploads"][0]["reconciles"]

    def read(key: str) -> Any:
        return s3.get_object(Bucket=BUCKETS["lake"], Key=key)["Body"].read()

    curated = s3.list_objects_v2(Bucket=BUCKETS["lake"], Prefix="curated/contacts/")["Contents"]
    contacts = [row for o in curated for row in pq.read_table(io.BytesIO(read(o["Key"]))).to_pylist()]
    copies = [row for row in contacts if row["contact_id"] == "c0a80001-1111-4aaa-8001-000000000001"]
    assert [(row["upload_id"], row["acw_seconds"]) for row in copies] == [(upload_ids[1], 30.0)]
    assert len(contacts) == 2
    earlier = json.loads(read(f"manifests/{upload_ids[0]}.json"))
    assert earlier["displaced_by"] == {upload_ids[1]: 1}
    assert (earlier["rows_read"], earlier["rows_stored"], earlier["rows_excluded"]) == (2, 1, 1)


def _uploads_validated(printed: str) -> int:
    """The ``UploadsValidated`` count the handler's metrics (CloudWatch EMF lines on stdout) carry."""
    total = 0
    for line in printed.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            emf = json.loads(line)
            value = emf.get("UploadsValidated", 0) if "centre_id" not in emf else 0  # the total series
            total += sum(value) if isinstance(value, list) else int(value)
    return total


def test_a_duplicate_validate_event_is_a_no_op_not_an_error(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 item 10: the second delivery found ``_ready.json`` deleted and raised ObjectNotFound;
    it also counted the upload again in ``UploadsValidated``."""
    ingest = load_handler("ingest")
    validate = load_handler("validate")
    monkeypatch.setattr(ingest, "runtime", lambda: aws["runtime"])
    monkeypatch.setattr(validate, "runtime", lambda: aws["runtime"])
    s3 = aws["s3"]
    s3.put_object(Bucket=BUCKETS["raw"], Key="north/acd/calls-2026-11-02.csv.gz", Body=SAMPLE.read_bytes())
    ingest.handler(_next_s3_event(aws), Context())
    event = _next_s3_event(aws)
    capsys.readouterr()
    first = validate.handler(event, Context())
    assert _uploads_validated(capsys.readouterr().out) == 1
    lake_before = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKETS["lake"])["Contents"]}
    again = validate.handler(event, Context())
    assert again == first
    assert _uploads_validated(capsys.readouterr().out) == 0
    assert {
        o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKETS["lake"])["Contents"]
    } == lake_before
    # An event for a staging marker that never existed (or a foreign key) is acknowledged, not retried.
    stray = {**event, "Records": [{**event["Records"][0]}]}
    stray["Records"][0]["s3"] = {
        **event["Records"][0]["s3"],
        "object": {
            **event["Records"][0]["s3"]["object"],
            "key": "staging/north-acd-0000000000000000/_ready.json",
        },
    }
    assert validate.handler(stray, Context())["uploads"][0]["status"] == "skipped"
