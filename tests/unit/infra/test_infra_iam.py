"""infra/iam.py: IAM evaluation rules on hand-made calls against the real (SAM-transformed) template."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import cfn, iam

LAKE = "contactlake-dev-lake-123456789012-eu-west-2"
RAW = "contactlake-dev-raw-123456789012-eu-west-2"


@pytest.fixture(scope="module")
def stack() -> iam.Stack:
    return iam.load_stack()


def _decisions(stack: iam.Stack, *calls: iam.Call) -> list[iam.Decision]:
    return iam.evaluate(stack, calls, needs=[]).decisions


def _answer(stack: iam.Stack, call: iam.Call, action: str) -> iam.Decision:
    return next(d for d in _decisions(stack, call) if d.request.action == action)


def test_a_missing_key_needs_list_bucket_without_a_prefix(stack: iam.Stack) -> None:
    missing = iam.Call(
        "IngestFunction", "s3", "GetObject", {"Bucket": LAKE, "Key": "manifests/u.json"}, 404, "NoSuchKey"
    )
    listing = _answer(stack, missing, "s3:ListBucket")
    assert listing.request.context == ()
    assert listing.allowed, listing.explain()
    found = iam.Call("IngestFunction", "s3", "GetObject", {"Bucket": LAKE, "Key": "manifests/u.json"})
    assert [d.request.action for d in _decisions(stack, found) if d.request.why.startswith("s3:")] == [
        "s3:GetObject",
        "kms:Decrypt",
    ]


def test_a_prefix_condition_does_not_cover_a_missing_key(stack: iam.Stack) -> None:
    template = cfn.load_template()
    statements = template["Resources"]["IngestRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    listing = next(s for s in statements if s["Sid"] == "ListLake")
    listing["Condition"] = {"StringLike": {"s3:prefix": ["manifests/*"]}}
    conditioned = iam.load_stack(template)
    prefix_list = iam.Call("IngestFunction", "s3", "ListObjectsV2", {"Bucket": LAKE, "Prefix": "manifests/"})
    assert _answer(conditioned, prefix_list, "s3:ListBucket").allowed
    missing = iam.Call(
        "IngestFunction", "s3", "HeadObject", {"Bucket": LAKE, "Key": "manifests/u.json"}, 404, "404"
    )
    refused = _answer(conditioned, missing, "s3:ListBucket")
    assert not refused.allowed
    assert "implicitly denied" in refused.explain()


def test_bucket_policy_denies_apply_to_the_role(stack: iam.Stack) -> None:
    call = iam.Call(
        "IngestFunction",
        "s3",
        "PutObject",
        {"Bucket": LAKE, "Key": "staging/u/x.parquet", "ServerSideEncryption": "AES256"},
    )
    denied = _answer(stack, call, "s3:PutObject")
    assert not denied.allowed
    assert denied.statement == "LakeBucketPolicy/DenyOtherEncryptionTypes"


def test_managed_transfers_need_abort_and_presigned_urls_are_evaluated(stack: iam.Stack) -> None:
    spill = iam.Call(
        "ValidateFunction",
        "s3",
        "PutObject",
        {"Bucket": "contactlake-dev-quarantine-123456789012-eu-west-2", "Key": "rows/x.parquet"},
        managed_transfer=True,
    )
    assert _answer(stack, spill, "s3:AbortMultipartUpload").allowed
    presigned = iam.Call(
        "ApiFunction", "s3", "PutObject", {"Bucket": RAW, "Key": "elsewhere/acd/x.csv"}, 0, presigned=True
    )
    assert not _answer(stack, presigned, "s3:PutObject").allowed


def test_athena_queries_need_the_catalogue_and_the_data_of_each_table(stack: iam.Stack) -> None:
    query = iam.Call(
        "ApiFunction",
        "athena",
        "StartQueryExecution",
        {
            "QueryString": "WITH d AS (SELECT * FROM kpi_daily) SELECT count(*) FROM d JOIN contacts USING (centre_id)",
            "WorkGroup": "contactlake-dev",
            "QueryExecutionContext": {"Database": "contactlake"},
        },
    )
    requests = {(d.request.action, d.request.resource) for d in _decisions(stack, query) if d.allowed}
    glue = "arn:aws:glue:eu-west-2:123456789012"
    assert ("glue:GetPartitions", f"{glue}:table/contactlake/contacts") in requests
    assert ("glue:GetTable", f"{glue}:table/contactlake/kpi_daily") in requests
    assert ("s3:GetObject", f"arn:aws:s3:::{LAKE}/curated/contacts/part-0.parquet") in requests
    assert (
        "s3:PutObject",
        "arn:aws:s3:::contactlake-dev-athena-123456789012-eu-west-2/results/query-id.csv",
    ) in requests
    assert not any(table.endswith("/d") for _, table in requests)


def test_unknown_operations_and_operators_are_errors_not_passes(stack: iam.Stack) -> None:
    with pytest.raises(ValueError, match="not mapped"):
        _decisions(stack, iam.Call("IngestFunction", "s3", "RestoreObject", {"Bucket": RAW, "Key": "k"}))
    with pytest.raises(ValueError, match="not modelled"):
        iam.Statement(
            "x", "Allow", ("s3:GetObject",), ("*",), {"DateLessThan": {"aws:CurrentTime": ("2030",)}}
        ).matches("s3:GetObject", "arn:aws:s3:::b/k", {"aws:CurrentTime": "2026"})


def test_every_need_has_a_reason(stack: iam.Stack, tmp_path: Path) -> None:
    needs = tmp_path / "needs.toml"
    needs.write_text('[[need]]\nfunction = "IngestFunction"\naction = "s3:ListBucket"\nresource = "x"\n')
    with pytest.raises(ValueError, match="every need has a reason"):
        iam.load_needs(stack, needs)
    assert all(n.request.why for n in iam.load_needs(stack))


def test_lambda_needs_follow_the_function_properties(stack: iam.Stack) -> None:
    api = {r.action for r in iam.platform_requests(stack, stack.functions["ApiFunction"])}
    ingest = {r.action for r in iam.platform_requests(stack, stack.functions["IngestFunction"])}
    assert "sqs:SendMessage" in ingest
    assert "sqs:SendMessage" not in api  # the API is synchronous: no failure queue
    assert {"logs:PutLogEvents", "xray:PutTraceSegments", "kms:Decrypt"} <= api
