"""A 403 from S3 is a refused permission: never read as "not found", never retried as if transient."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from contactlake.adapters.aws import AccessRefused, S3ObjectStore, boto_config
from contactlake.ports import ObjectNotFound

BUCKET = "cl-lake"
_DENIED_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>"
)


class _Headers(dict[str, str]):
    pass


@pytest.fixture
def store(aws_credentials: None) -> Iterator[tuple[S3ObjectStore, list[str]]]:
    """A store whose S3 answers every object request with 403 AccessDenied (as S3 does to a role that may
    not read the key, or that may not list the bucket when the key is missing); ``sent`` counts requests."""
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-2", config=boto_config())
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        sent: list[str] = []

        def deny(request: Any, **_: Any) -> AWSResponse:
            sent.append(request.method)
            body = b"" if request.method == "HEAD" else _DENIED_XML
            return AWSResponse(request.url, 403, _Headers(), _Raw(body))  # type: ignore[arg-type]

        client.meta.events.register("before-send.s3.GetObject", deny)  # type: ignore[arg-type]
        client.meta.events.register("before-send.s3.HeadObject", deny)  # type: ignore[arg-type]
        yield S3ObjectStore(client, {"lake": BUCKET}), sent


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@pytest.mark.parametrize("read", ["get", "open", "head", "get_versioned"])
def test_access_denied_is_refused_not_missing_and_sent_once(
    store: tuple[S3ObjectStore, list[str]], read: str
) -> None:
    s3, sent = store
    with pytest.raises(
        AccessRefused, match=r"S3 refused .* on s3://cl-lake/manifests/x.json .*template.yaml"
    ):
        getattr(s3, read)("lake", "manifests/x.json")
    assert len(sent) == 1, "a 403 must not be retried"


def test_exists_does_not_hide_a_refusal(store: tuple[S3ObjectStore, list[str]]) -> None:
    s3, _ = store
    with pytest.raises(AccessRefused):
        s3.exists("lake", "staging/u/00000-agent_activity.parquet")
    assert not issubclass(AccessRefused, ObjectNotFound)
