"""What moto's own IAM enforcement sees, as ADR 0010 records it: a second opinion, not the gate.

With ``set_initial_no_auth_action_count`` moto checks requests signed by its IAM users against their
policies. It refuses what a policy does not grant, but it does not model S3's 403 for a missing key to a
caller without ``s3:ListBucket``, nor the ``s3:prefix`` condition: the two things behind the refusals the
permissions evaluation (infra/iam.py) found. If moto starts modelling them, this test fails: update ADR
0010 and consider moto as a gate.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from infra import iam

BUCKET = "contactlake-dev-lake-123456789012-eu-west-2"
#: The shape of the ingest role before the fix: reads of manifests/, listing conditioned on a prefix.
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/manifests/*"},
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{BUCKET}",
            "Condition": {"StringLike": {"s3:prefix": ["manifests/*"]}},
        },
    ],
}


def _outcome(call: Any) -> str:
    try:
        call()
    except ClientError as error:
        return f"{error.response['ResponseMetadata']['HTTPStatusCode']} {error.response['Error']['Code']}"
    return "allowed"


@set_initial_no_auth_action_count(5)
@mock_aws
def _moto_answers() -> dict[str, str]:
    admin = boto3.client("iam", region_name=iam.REGION)
    s3 = boto3.client("s3", region_name=iam.REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": iam.REGION})  # type: ignore[typeddict-item]
    admin.create_user(UserName="ingest")
    admin.put_user_policy(UserName="ingest", PolicyName="ingest", PolicyDocument=json.dumps(POLICY))
    key = admin.create_access_key(UserName="ingest")["AccessKey"]
    s3.put_object(Bucket=BUCKET, Key="manifests/known.json", Body=b"{}")
    fn = boto3.client(
        "s3",
        region_name=iam.REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    return {
        "granted read": _outcome(lambda: fn.get_object(Bucket=BUCKET, Key="manifests/known.json")),
        "missing key": _outcome(lambda: fn.get_object(Bucket=BUCKET, Key="manifests/new-upload.json")),
        "read outside the prefix": _outcome(lambda: fn.get_object(Bucket=BUCKET, Key="curated/x.parquet")),
        "list outside the prefix": _outcome(lambda: fn.list_objects_v2(Bucket=BUCKET, Prefix="curated/")),
        "write not granted": _outcome(lambda: fn.put_object(Bucket=BUCKET, Key="manifests/x.json", Body=b"")),
    }


def test_moto_iam_sees_grants_but_not_the_missing_key_rule_nor_prefix_conditions(
    aws_credentials: None,
) -> None:
    answers = _moto_answers()
    assert answers == {
        "granted read": "allowed",
        "read outside the prefix": "403 AccessDenied",
        "write not granted": "403 AccessDenied",
        # AWS: 403 AccessDenied (no unconditioned s3:ListBucket); moto: 404.
        "missing key": "404 NoSuchKey",
        # AWS: 403 (the s3:prefix condition fails); moto ignores the condition.
        "list outside the prefix": "allowed",
    }
