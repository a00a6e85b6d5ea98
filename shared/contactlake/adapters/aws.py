"""The AWS side: S3 buckets per area, Glue partitions, EventBridge, Athena and SES.

A typed facade over boto3 clients; clients are created once per Lambda container with botocore's
standard retry mode (exponential backoff with jitter on throttling and 5xx).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from contactlake.config import Settings
from contactlake.ports import Area, ObjectChanged, ObjectInfo, ObjectNotFound, Ports

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

__all__ = [
    "AccessRefused",
    "EventBridgePublisher",
    "GlueCatalog",
    "S3ObjectStore",
    "boto_config",
    "build_aws_ports",
]

_OCTETS = "application/octet-stream"
_MISSING = ("NoSuchKey", "404", "NotFound")
_DENIED = ("AccessDenied", "403", "Forbidden")


class AccessRefused(PermissionError):
    """S3 refused a request with 403: the function's role does not allow it. Never "not found" (S3 also
    answers 403 for a missing key to a caller without ``s3:ListBucket``), and not transient: retrying
    cannot help, the role in template.yaml must change (infra/README.md lists what each function may do)."""


def _refused(action: str, where: str) -> AccessRefused:
    return AccessRefused(
        f"S3 refused {action} on {where} (AccessDenied): this function's role does not allow it, or the key "
        "is missing and the role may not s3:ListBucket the bucket; fix the role in template.yaml "
        "(infra/README.md lists each function's permissions) and re-drive the event"
    )


def boto_config() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=5, read_timeout=60)


class S3ObjectStore:
    """Each area is a bucket (raw, lake, quarantine, reports); keys are the same as in a local lake."""

    def __init__(self, client: S3Client, buckets: Mapping[str, str]) -> None:
        self.client = client
        self.buckets = dict(buckets)

    def bucket(self, area: Area) -> str:
        name = self.buckets.get(area)
        if not name:
            raise ValueError(
                f"no bucket configured for the {area} area (set CONTACTLAKE_{area.upper()}_BUCKET)"
            )
        return name

    def put(self, area: Area, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.client.put_object(Bucket=self.bucket(area), Key=key, Body=data, ContentType=content_type)

    def put_file(self, area: Area, key: str, path: Path) -> None:
        """boto3's managed transfer: multipart above 8 MiB, parts streamed from the file."""
        self.client.upload_file(str(path), self.bucket(area), key)

    def get(self, area: Area, key: str) -> bytes:
        with self.open(area, key) as body:
            return body.read()

    def get_versioned(self, area: Area, key: str) -> tuple[bytes, str]:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket(area), Key=key)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in _MISSING:
                raise ObjectNotFound(f"s3://{self.bucket(area)}/{key} does not exist") from None
            if code in _DENIED:
                raise _refused("GetObject", f"s3://{self.bucket(area)}/{key}") from None
            raise
        return response["Body"].read(), str(response.get("ETag", "")).strip('"')

    def create(self, area: Area, key: str, data: bytes, content_type: str = _OCTETS) -> bool:
        """A conditional write (``If-None-Match: *``): S3 answers 412 if the key exists, 409 if another
        conditional write on it is in flight; either way it is not ours."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket(area), Key=key, Body=data, ContentType=content_type, IfNoneMatch="*"
            )
        except ClientError as error:
            if _status(error) in (409, 412):
                return False
            raise
        return True

    def delete_if(self, area: Area, key: str, etag: str) -> bool:
        """A conditional delete (``If-Match``: the ETag); 412 if the object changed, 404 if it is gone."""
        from botocore.exceptions import ClientError

        try:
            self.client.delete_object(Bucket=self.bucket(area), Key=key, IfMatch=etag)
        except ClientError as error:
            if _status(error) in (404, 409, 412):
                return False
            raise
        return True

    def open(self, area: Area, key: str, if_match: str | None = None) -> BinaryIO:
        """Stream the object; with ``if_match`` (an ETag) S3 itself refuses any other version (412)."""
        from botocore.exceptions import ClientError

        try:
            if if_match:
                response = self.client.get_object(Bucket=self.bucket(area), Key=key, IfMatch=if_match)
            else:
                response = self.client.get_object(Bucket=self.bucket(area), Key=key)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in _MISSING or code == "NoSuchBucket":
                raise ObjectNotFound(f"s3://{self.bucket(area)}/{key} does not exist") from None
            if code in _DENIED:
                raise _refused("GetObject", f"s3://{self.bucket(area)}/{key}") from None
            if code in ("PreconditionFailed", "412"):
                raise ObjectChanged(
                    f"s3://{self.bucket(area)}/{key} is no longer the version announced (ETag "
                    f"{if_match}); it was overwritten before or while being read — its newer version is "
                    "processed from its own event"
                ) from None
            raise
        import io

        raw: Any = response["Body"]
        return io.BufferedReader(raw, buffer_size=1024 * 1024)

    def head(self, area: Area, key: str) -> ObjectInfo:
        from botocore.exceptions import ClientError

        try:
            response = self.client.head_object(Bucket=self.bucket(area), Key=key)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in _MISSING:
                raise ObjectNotFound(f"s3://{self.bucket(area)}/{key} does not exist") from None
            if code in _DENIED:
                raise _refused("HeadObject", f"s3://{self.bucket(area)}/{key}") from None
            raise
        return ObjectInfo(
            area,
            key,
            int(response["ContentLength"]),
            version=response.get("VersionId"),
            etag=str(response.get("ETag", "")).strip('"') or None,
            last_modified=response.get("LastModified"),
            metadata=dict(response.get("Metadata") or {}),
        )

    def exists(self, area: Area, key: str) -> bool:
        try:
            self.head(area, key)
        except ObjectNotFound:
            return False
        return True

    def list(self, area: Area, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket(area), Prefix=prefix):
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    area,
                    item["Key"],
                    int(item["Size"]),
                    etag=str(item.get("ETag", "")).strip('"') or None,
                    last_modified=item.get("LastModified"),
                )

    def delete(self, area: Area, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            if chunk:
                self.client.delete_objects(
                    Bucket=self.bucket(area), Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
                )

    def presigned_url(self, area: Area, key: str, expires_seconds: int = 3600, method: str = "GET") -> str:
        operation = {"GET": "get_object", "PUT": "put_object"}[method]
        return str(
            self.client.generate_presigned_url(
                operation, Params={"Bucket": self.bucket(area), "Key": key}, ExpiresIn=expires_seconds
            )
        )


def _status(error: Any) -> int:
    """The HTTP status of a botocore ``ClientError``."""
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class GlueCatalog:
    """Registers new partitions in Glue, idempotently and in batches of 100 (BatchCreatePartition's cap)."""

    def __init__(self, client: GlueClient, database: str, buckets: Mapping[str, str]) -> None:
        self.client, self.database, self.buckets = client, database, dict(buckets)

    def add_partitions(self, table: str, partitions: Sequence[Mapping[str, str]]) -> None:
        if not partitions:
            return
        from contactlake.tables import all_tables

        spec = all_tables()[table]
        descriptor = self.client.get_table(DatabaseName=self.database, Name=table)["Table"][
            "StorageDescriptor"
        ]
        bucket = self.buckets[spec.area]
        inputs: list[Any] = []
        for values in partitions:
            ordered = [str(values[name]) for name in spec.partition_names]
            location = "/".join(
                [
                    f"s3://{bucket}/{spec.prefix}",
                    *(f"{n}={v}" for n, v in zip(spec.partition_names, ordered, strict=True)),
                ]
            )
            inputs.append(
                {"Values": ordered, "StorageDescriptor": {**descriptor, "Location": location + "/"}}
            )
        for start in range(0, len(inputs), 100):
            response = self.client.batch_create_partition(
                DatabaseName=self.database, TableName=table, PartitionInputList=inputs[start : start + 100]
            )
            failures = [
                e
                for e in response.get("Errors", [])
                if e.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"
            ]
            if failures:
                raise RuntimeError(f"Glue refused partitions of {table}: {failures[:3]}")


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient, bus: str) -> None:
        self.client, self.bus = client, bus

    def publish(self, detail_type: str, detail: Mapping[str, object]) -> None:
        response = self.client.put_events(
            Entries=[
                {
                    "Source": "contactlake",
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self.bus,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge did not accept the {detail_type} event: {response['Entries']}")


def build_aws_ports(settings: Settings) -> Ports:
    import boto3

    from contactlake.adapters.athena import AthenaEngine
    from contactlake.adapters.ses import SesMailer

    config = boto_config()
    session = boto3.session.Session(region_name=settings.region)
    s3 = session.client("s3", config=config)
    buckets = {
        "raw": settings.raw_bucket,
        "lake": settings.lake_bucket,
        "quarantine": settings.quarantine_bucket,
        "reports": settings.reports_bucket,
    }
    store = S3ObjectStore(s3, buckets)
    return Ports(
        store=store,
        engine=AthenaEngine.from_settings(
            session.client("athena", config=config),
            settings,
            session=session,
            store=store,
            botocore_config=config,
            scratch_s3=s3,
        ),
        mailer=SesMailer.from_settings(session.client("sesv2", config=config), store, settings),
        catalog=GlueCatalog(session.client("glue", config=config), settings.glue_database, buckets),
        events=EventBridgePublisher(session.client("events", config=config), settings.event_bus),
    )
