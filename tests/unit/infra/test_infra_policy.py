"""infra/policy.py passes the real template and catches each kind of regression on a broken copy."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from infra.policy import check_template


def test_template_has_no_policy_violations(template: dict[str, Any], dev_params: dict[str, str]) -> None:
    assert check_template(template, dev_params) == []


def test_unexpanded_template_is_checked_with_placeholder_centres(template: dict[str, Any]) -> None:
    assert check_template(template) == []


def _props(t: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return t["Resources"][logical_id]["Properties"]  # type: ignore[no-any-return]


def _remove_public_access_block(t: dict[str, Any]) -> None:
    del _props(t, "ReportsBucket")["PublicAccessBlockConfiguration"]


def _allow_public_policy(t: dict[str, Any]) -> None:
    _props(t, "LakeBucket")["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] = False


def _wildcard_action(t: dict[str, Any]) -> None:
    statements = _props(t, "IngestRole")["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Effect": "Allow", "Action": "s3:*", "Resource": statements[1]["Resource"]})


def _service_prefix_wildcard(t: dict[str, Any]) -> None:
    statement = _props(t, "AnalyseRole")["Policies"][0]["PolicyDocument"]["Statement"][1]
    statement["Action"] = ["athena:Get*", "athena:StartQueryExecution"]


def _statement(t: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    statements = _props(t, role)["Policies"][0]["PolicyDocument"]["Statement"]
    return next(s for s in statements if s.get("Sid") == sid)  # type: ignore[no-any-return]


def _resource_star(t: dict[str, Any]) -> None:
    _statement(t, "ValidateRole", "ConsumeStaging")["Resource"] = "*"


def _more_than_tracing_on_star(t: dict[str, Any]) -> None:
    _statement(t, "IngestRole", "Tracing")["Action"].append("s3:GetObject")


def _no_failure_destination(t: dict[str, Any]) -> None:
    del _props(t, "ValidateFunction")["EventInvokeConfig"]["DestinationConfig"]


def _no_retry_limit(t: dict[str, Any]) -> None:
    del _props(t, "AnalyseFunction")["EventInvokeConfig"]["MaximumRetryAttempts"]


def _unencrypted_failure_queue(t: dict[str, Any]) -> None:
    del _props(t, "IngestFailureQueue")["KmsMasterKeyId"]


def _old_runtime(t: dict[str, Any]) -> None:
    _props(t, "IngestFunction")["Runtime"] = "python3.9"


def _shared_role(t: dict[str, Any]) -> None:
    _props(t, "AnalyseFunction")["Role"] = _props(t, "ReportFunction")["Role"]


def _no_key_rotation(t: dict[str, Any]) -> None:
    _props(t, "DataKey")["EnableKeyRotation"] = False


def _s3_managed_encryption_on_data_bucket(t: dict[str, Any]) -> None:
    default = _props(t, "QuarantineBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    default["ServerSideEncryptionByDefault"] = {"SSEAlgorithm": "AES256"}


def _no_tls_policy(t: dict[str, Any]) -> None:
    statements = _props(t, "RawBucketPolicy")["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s.get("Sid") != "DenyInsecureTransport"]


def _no_access_logging(t: dict[str, Any]) -> None:
    del _props(t, "AthenaResultsBucket")["LoggingConfiguration"]


def _no_lifecycle(t: dict[str, Any]) -> None:
    del _props(t, "RawBucket")["LifecycleConfiguration"]


def _unversioned(t: dict[str, Any]) -> None:
    _props(t, "AccessLogBucket")["VersioningConfiguration"]["Status"] = "Suspended"


def _validate_without_suffix_filter(t: dict[str, Any]) -> None:
    rules = _props(t, "ValidateFunction")["Events"]["StagingReady"]["Properties"]["Filter"]["S3Key"]["Rules"]
    rules[:] = [r for r in rules if r["Name"] != "suffix"]


def _workgroup_not_enforced(t: dict[str, Any]) -> None:
    _props(t, "AthenaWorkGroup")["WorkGroupConfiguration"]["EnforceWorkGroupConfiguration"] = False


def _no_scan_cutoff(t: dict[str, Any]) -> None:
    del _props(t, "AthenaWorkGroup")["WorkGroupConfiguration"]["BytesScannedCutoffPerQuery"]


def _public_principal_in_bucket_policy(t: dict[str, Any]) -> None:
    _props(t, "ReportsBucketPolicy")["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"}
    )


def _unapproved_managed_policy(t: dict[str, Any]) -> None:
    _props(t, "ApiRole").setdefault("ManagedPolicyArns", []).append(
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonS3FullAccess"}
    )


def _misspelt_bucket_name(t: dict[str, Any]) -> None:
    statement = _props(t, "IngestRole")["Policies"][0]["PolicyDocument"]["Statement"][1]
    statement["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::contactlake-${Environment}-rawx-${AWS::AccountId}-${AWS::Region}/*"
    }


def _deny_without_null_guard(t: dict[str, Any]) -> None:
    """The classic mistake: this deny would also block every upload that sends no encryption header."""
    statements = _props(t, "LakeBucketPolicy")["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s.get("Sid") == "DenyOtherKmsKeys"]
    deny["Condition"] = {"StringNotEqualsIfExists": deny["Condition"]["StringNotEquals"]}


BREAKAGES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "public bucket (no public access block)": (
        _remove_public_access_block,
        "ReportsBucket: PublicAccessBlockConfiguration",
    ),
    "public bucket (policy block off)": (
        _allow_public_policy,
        "LakeBucket: PublicAccessBlockConfiguration.BlockPublicPolicy",
    ),
    "wildcard action": (_wildcard_action, "IngestRole: statement: wildcard action 's3:*'"),
    "service prefix wildcard": (_service_prefix_wildcard, "wildcard action 'athena:Get*'"),
    "resource star": (_resource_star, "ValidateRole: ConsumeStaging: Allow on Resource '*'"),
    "resource star beyond X-Ray's write actions": (
        _more_than_tracing_on_star,
        "IngestRole: Tracing: Allow on Resource '*'",
    ),
    "failure destination removed": (
        _no_failure_destination,
        "ValidateFunction: asynchronous function without an on-failure",
    ),
    "retry limit removed": (
        _no_retry_limit,
        "AnalyseFunction: asynchronous function without EventInvokeConfig.MaximumRetryAttempts",
    ),
    "unencrypted failure queue": (_unencrypted_failure_queue, "IngestFailureQueue: queue must be encrypted"),
    "old runtime": (_old_runtime, "IngestFunction: runtime 'python3.9'"),
    "shared role": (_shared_role, "one role per function"),
    "key rotation off": (_no_key_rotation, "DataKey: EnableKeyRotation"),
    "SSE-S3 on a data bucket": (
        _s3_managed_encryption_on_data_bucket,
        "QuarantineBucket: default encryption must be SSE-KMS",
    ),
    "TLS-only policy removed": (
        _no_tls_policy,
        "RawBucket: needs a bucket policy denying aws:SecureTransport",
    ),
    "access logging removed": (_no_access_logging, "AthenaResultsBucket: server access logging"),
    "lifecycle removed": (_no_lifecycle, "RawBucket: needs at least one enabled lifecycle rule"),
    "versioning suspended": (_unversioned, "AccessLogBucket: versioning"),
    "validate trigger without suffix": (
        _validate_without_suffix_filter,
        "ValidateFunction: S3 event StagingReady on LakeBucket",
    ),
    "workgroup not enforced": (_workgroup_not_enforced, "AthenaWorkGroup: EnforceWorkGroupConfiguration"),
    "no scan cutoff": (_no_scan_cutoff, "AthenaWorkGroup: BytesScannedCutoffPerQuery"),
    "public principal": (
        _public_principal_in_bucket_policy,
        "ReportsBucketPolicy: statement: Allow to principal '*'",
    ),
    "unapproved managed policy": (_unapproved_managed_policy, "ApiRole: managed policy"),
    "deny without header guard": (_deny_without_null_guard, "LakeBucketPolicy: DenyOtherKmsKeys: Deny with"),
    "misspelt bucket name": (_misspelt_bucket_name, "bucket name 'contactlake-${Environment}-rawx-"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_copy_yields_violation(
    template: dict[str, Any], dev_params: dict[str, str], breakage: str
) -> None:
    mutate, expected = BREAKAGES[breakage]
    broken = copy.deepcopy(template)
    mutate(broken)
    violations = check_template(broken, dev_params)
    assert any(expected in v for v in violations), violations


def test_ingest_may_trigger_on_all_raw_keys_because_it_never_writes_raw(template: dict[str, Any]) -> None:
    """The prefix/suffix rule applies only where a function writes the bucket that triggers it."""
    broken = copy.deepcopy(template)
    statements = _props(broken, "IngestRole")["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append(
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:s3:::contactlake-${Environment}-raw-${AWS::AccountId}-${AWS::Region}/*"
            },
        }
    )
    assert any("IngestFunction: S3 event RawUpload on RawBucket" in v for v in check_template(broken))
