"""Least privilege, evaluated: which IAM requests each function makes, and whether its role allows them.

``template.yaml`` is read the way CloudFormation sees it (``Fn::ForEach`` expanded, the SAM transform
applied, conditions evaluated, intrinsics resolved for one account, region and parameter file), and each
function's role becomes a list of statements: inline policies, ``AWS::IAM::Policy`` resources attached to
it, and the one AWS-managed policy the rules allow. Bucket policies add their ``Deny`` statements.

A *request* is one IAM authorisation: an action, a resource ARN and the request's condition keys. They
come from three places:

* AWS calls recorded while the code runs (``tests/functional/aws``), each mapped by :func:`requests_for`
  to what IAM checks for it, including what the call needs implicitly: KMS through S3 for objects in
  SSE-KMS buckets, S3's ``s3:ListBucket`` check when a key is missing (404 instead of 403), the multipart
  actions of boto3's managed transfers, and Athena's reads of the Glue catalogue, the data and the
  results location;
* what Lambda itself does with the role (:func:`platform_requests`: logs, traces, the on-failure queue,
  decrypting the environment), read from the function's properties;
* ``infra/permissions.toml``: needs no test can exercise (a query stopped at its timeout), each with a
  reason.

:func:`evaluate` answers every request (explicit deny, allow, or implicit deny); :func:`unused_grants`
lists each (statement, action, resource) of a role that no request needed. ``python infra/iam.py`` prints
the per-function table of infra/README.md from a recording.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra import cfn
from infra.params import load as load_parameters

__all__ = [
    "TABLE_BEGIN",
    "Call",
    "Decision",
    "Evaluation",
    "Grant",
    "Need",
    "Request",
    "Stack",
    "evaluate",
    "load_needs",
    "load_stack",
    "permission_table",
    "platform_requests",
    "referenced_tables",
    "replace_table",
    "requests_for",
    "sam_transform",
    "save_calls",
    "summarise_label",
    "unused_grants",
]

ACCOUNT = "123456789012"
REGION = "eu-west-2"
PARTITION = "aws"
NEEDS_FILE = Path(__file__).resolve().parent / "permissions.toml"

#: What the one allowed AWS-managed policy grants (it cannot be read offline).
MANAGED_POLICIES = {
    "AWSXRayDaemonWriteAccess": [
        {
            "Sid": "AWSXRayDaemonWriteAccess",
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": ["*"],
        }
    ]
}

#: Condition keys true of every request the functions make (TLS 1.2+ to every endpoint).
BASE_CONTEXT = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}


# ----------------------------------------------------------------------------------------- the stack


@dataclass(frozen=True)
class Statement:
    """One resolved policy statement; ``source`` says where it came from (``RoleId/policy/Sid``)."""

    source: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def matches(self, action: str, resource: str, context: Mapping[str, str]) -> bool:
        return (
            any(_glob(pattern, action, ignore_case=True) for pattern in self.actions)
            and any(_glob(pattern, resource) for pattern in self.resources)
            and _conditions_hold(self.conditions, context)
        )


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str
    role: str
    code_uri: str
    handler: str
    properties: Mapping[str, Any]

    @property
    def short(self) -> str:
        """``IngestFunction`` -> ``ingest``: the name used in tables and messages."""
        return self.logical_id.removesuffix("Function").lower()


@dataclass(frozen=True)
class Stack:
    """The resolved template: functions, each role's statements, and resource-policy denies."""

    template: Mapping[str, Any]
    functions: Mapping[str, Function]
    roles: Mapping[str, tuple[Statement, ...]]
    resource_denies: tuple[Statement, ...]
    parameters: Mapping[str, Any]

    def resource(self, logical_id: str) -> Mapping[str, Any]:
        return dict(self.template["Resources"][logical_id])

    def bucket_names(self) -> dict[str, str]:
        """Bucket name -> logical id."""
        return {
            str(r["Properties"]["BucketName"]): logical_id
            for logical_id, r in cfn.resources(self.template, "AWS::S3::Bucket")
        }

    def data_key(self) -> str:
        """ARN of the stack's one customer-managed key."""
        [(logical_id, _)] = cfn.resources(self.template, "AWS::KMS::Key")
        return f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{logical_id}"

    def env(self, function: Function) -> dict[str, str]:
        variables = function.properties.get("Environment", {}).get("Variables", {})
        return {str(k): str(v) for k, v in variables.items()}


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: ``*`` any run of characters (``/`` included), ``?`` one character."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _conditions_hold(
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]], context: Mapping[str, str]
) -> bool:
    for operator, tests in conditions.items():
        for key, values in tests.items():
            if not _condition(operator, key, values, context):
                return False
    return True


def _condition(operator: str, key: str, values: tuple[str, ...], context: Mapping[str, str]) -> bool:
    if operator == "Null":
        return (key not in context) == (values[0].lower() == "true")
    base = operator.removesuffix("IfExists")
    if key not in context:
        # A missing key fails a positive test; negated operators and ...IfExists tests match it.
        return operator.endswith("IfExists") or "Not" in base
    actual = context[key]
    if base in ("StringEquals", "ArnEquals"):
        return actual in values
    if base in ("StringNotEquals", "ArnNotEquals"):
        return actual not in values
    if base in ("StringLike", "ArnLike"):
        return any(_glob(v, actual) for v in values)
    if base in ("StringNotLike", "ArnNotLike"):
        return not any(_glob(v, actual) for v in values)
    if base == "StringEqualsIgnoreCase":
        return actual.lower() in {v.lower() for v in values}
    if base == "Bool":
        return actual.lower() in {v.lower() for v in values}
    if base.startswith("Numeric"):
        number = float(actual)
        compare = {
            "NumericEquals": number.__eq__,
            "NumericNotEquals": number.__ne__,
            "NumericLessThan": number.__lt__,
            "NumericLessThanEquals": number.__le__,
            "NumericGreaterThan": number.__gt__,
            "NumericGreaterThanEquals": number.__ge__,
        }[base]
        return any(compare(float(v)) for v in values)
    raise ValueError(f"condition operator {operator} is not modelled by infra/iam.py; add it")


class _Resolver:
    """Resolves the intrinsics a transformed template uses, for one account, region and parameter set."""

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, Any]) -> None:
        self.template = template
        self.values: dict[str, Any] = {
            **parameters,
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": "contactlake",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.condition(name)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def resources(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in cfn.resources(self.template):
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            yield logical_id, resource

    def ref(self, name: str) -> Any:
        if name in self.values:
            value = self.values[name]
            return value.split(",") if isinstance(value, str) and self._is_list(name) else value
        resource = self.template["Resources"].get(name)
        if resource is None:
            raise KeyError(f"Ref to unknown {name!r}")
        props = resource.get("Properties", {}) or {}
        kind = resource["Type"]
        for key in (
            "BucketName",
            "FunctionName",
            "RoleName",
            "Name",
            "QueueName",
            "LogGroupName",
            "TopicName",
        ):
            if key in props:
                if kind == "AWS::SQS::Queue":
                    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.resolve(props[key])}"
                return self.resolve(props[key])
        if kind == "AWS::Glue::Database":
            return self.resolve(props["DatabaseInput"]["Name"])
        return name

    def _is_list(self, name: str) -> bool:
        spec = self.template.get("Parameters", {}).get(name, {})
        return str(spec.get("Type", "")).startswith(("CommaDelimitedList", "List<"))

    def get_att(self, name: str, attribute: str) -> str:
        resource = self.template["Resources"][name]
        kind = resource["Type"]
        if attribute != "Arn":
            return f"{name}.{attribute}"
        ref = self.ref(name)
        return {
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{ref}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{str(ref).rsplit('/', 1)[-1]}",
            "AWS::Events::EventBus": f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:event-bus/{ref}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{ref}",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{ref}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{ref}:*",
        }.get(kind, f"arn:{PARTITION}:unresolved:::{name}")

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.template["Resources"]:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(item) for item in node if not _is_no_value(item)]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                return self.sub(text, variables)
            if key == "Fn::GetAtt":
                target, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.get_att(target, attribute)
            if key == "Fn::If":
                name, yes, no = value
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in value)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(value[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in value)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in value)
            if key == "Condition":
                return self.condition(value)
            if key == "Fn::Join":
                separator, items = value
                return separator.join(str(i) for i in self.resolve(items))
            if key == "Fn::Select":
                index, items = value
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = value
                return str(self.resolve(text)).split(separator)
        return {k: self.resolve(v) for k, v in node.items() if not _is_no_value(v)}


def _is_no_value(node: Any) -> bool:
    return isinstance(node, dict) and node == {"Ref": "AWS::NoValue"}


def _with_s3_code_locations(template: dict[str, Any]) -> dict[str, Any]:
    """SAM wants artifacts in S3 (``sam deploy`` uploads them); local folders become placeholders."""
    result = copy.deepcopy(template)
    for logical_id, resource in cfn.resources(result):
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://artifacts-bucket/{logical_id}.zip"
    return result


class _NoManagedPolicies:
    """samtranslator would ask IAM for managed policy ARNs; the template names its roles explicitly."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(template: Mapping[str, Any]) -> dict[str, Any]:
    """The SAM transform, offline (a region is needed; code locations must look like S3 URIs)."""
    from samtranslator.translator.transform import transform

    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = REGION
    try:
        result: dict[str, Any] = transform(_with_s3_code_locations(dict(template)), {}, _NoManagedPolicies())
        return result
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def load_stack(
    template: Mapping[str, Any] | None = None,
    environment: str = "dev",
    overrides: Mapping[str, Any] | None = None,
) -> Stack:
    """``template.yaml`` (or ``template``) resolved with ``infra/params/<environment>.json``."""
    raw = dict(template) if template is not None else cfn.load_template()
    values = {**load_parameters(environment), **(overrides or {})}
    expanded = cfn.expand_foreach(raw, values)
    transformed = sam_transform(expanded)
    # The transform drops resource Metadata of functions; keep the local code folders by logical id.
    local_code = {
        logical_id: str(r.get("Properties", {}).get("CodeUri", ""))
        for logical_id, r in cfn.resources(expanded, "AWS::Serverless::Function")
    }
    resolver = _Resolver(transformed, cfn.parameter_values(transformed, values))
    resolved = {"Resources": {k: resolver.resolve(v) for k, v in resolver.resources()}}
    functions: dict[str, Function] = {}
    for logical_id, resource in cfn.resources(resolved, "AWS::Lambda::Function"):
        props = resource["Properties"]
        role_arn = str(props["Role"])
        role_id = next(
            rid
            for rid, r in cfn.resources(resolved, "AWS::IAM::Role")
            if resolver.get_att(rid, "Arn") == role_arn
        )
        functions[logical_id] = Function(
            logical_id,
            str(props["FunctionName"]),
            role_id,
            local_code.get(logical_id, ""),
            str(props["Handler"]),
            props,
        )
    roles = {f.role: tuple(_role_statements(resolved, f.role)) for f in functions.values()}
    denies = tuple(_resource_denies(resolved))
    return Stack(resolved, functions, roles, denies, resolver.values)


def _statement(source: str, raw: Mapping[str, Any]) -> Statement:
    conditions = {
        operator: {key: tuple(str(v) for v in cfn.as_list(values)) for key, values in tests.items()}
        for operator, tests in (raw.get("Condition") or {}).items()
    }
    return Statement(
        source,
        str(raw["Effect"]),
        tuple(str(a) for a in cfn.as_list(raw.get("Action"))),
        tuple(str(r) for r in cfn.as_list(raw.get("Resource"))),
        conditions,
    )


def _role_statements(resolved: Mapping[str, Any], role_id: str) -> Iterator[Statement]:
    role = resolved["Resources"][role_id]["Properties"]
    for policy in cfn.as_list(role.get("Policies")):
        for index, raw in enumerate(cfn.as_list(policy["PolicyDocument"].get("Statement"))):
            yield _statement(f"{role_id}/{policy['PolicyName']}/{raw.get('Sid', index)}", raw)
    for arn in cfn.as_list(role.get("ManagedPolicyArns")):
        name = str(arn).rsplit("/", 1)[-1]
        if name not in MANAGED_POLICIES:
            raise ValueError(
                f"{role_id}: managed policy {arn} is not modelled in infra/iam.py MANAGED_POLICIES"
            )
        for raw in MANAGED_POLICIES[name]:
            yield _statement(f"{role_id}/{name}/{raw['Sid']}", raw)
    role_name = resolved["Resources"][role_id]["Properties"].get("RoleName", role_id)
    for policy_id, policy in cfn.resources(resolved, "AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
        props = policy["Properties"]
        if role_name in cfn.as_list(props.get("Roles")) + cfn.as_list(props.get("RoleName")):
            for index, raw in enumerate(cfn.as_list(props["PolicyDocument"].get("Statement"))):
                yield _statement(f"{policy_id}/{raw.get('Sid', index)}", raw)


def _resource_denies(resolved: Mapping[str, Any]) -> Iterator[Statement]:
    for policy_id, policy in cfn.resources(resolved, "AWS::S3::BucketPolicy"):
        for index, raw in enumerate(cfn.as_list(policy["Properties"]["PolicyDocument"].get("Statement"))):
            if raw.get("Effect") == "Deny":
                yield _statement(f"{policy_id}/{raw.get('Sid', index)}", raw)


# ---------------------------------------------------------------------------------- requests and calls


@dataclass(frozen=True)
class Request:
    """One IAM authorisation request, and why it is made."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    why: str = ""

    @property
    def keys(self) -> dict[str, str]:
        return {**BASE_CONTEXT, **dict(self.context)}


@dataclass(frozen=True)
class Call:
    """One recorded AWS API call (or pre-signed URL) made while a function's code ran."""

    function: str  # logical id of the function whose code made it
    service: str  # botocore service name: s3, glue, athena, sesv2, ...
    operation: str  # API operation: GetObject, BatchCreatePartition, ...
    params: Mapping[str, Any]
    status: int = 200  # HTTP status of the response (0 for a pre-signed URL)
    error: str = ""  # error code, if any
    presigned: bool = False
    managed_transfer: bool = False  # made by boto3's upload_file / download_file (s3transfer)
    result_id: str = ""  # the id a call returned that later calls refer to (Athena's QueryExecutionId)

    def label(self) -> str:
        target = self.params.get("Key") or self.params.get("Name") or self.params.get("TableName") or ""
        bucket = self.params.get("Bucket", "")
        where = f" {bucket}/{target}" if bucket else (f" {target}" if target else "")
        outcome = "presigned" if self.presigned else (self.error or str(self.status))
        return f"{self.service}:{self.operation}{where} ({outcome})"


_S3_OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "DeleteObject": "s3:DeleteObject",
    "GetObjectTagging": "s3:GetObjectTagging",
}
_MISSING = {"NoSuchKey", "404", "NotFound"}


def _s3_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def _kms_key_of_bucket(stack: Stack, bucket: str) -> str | None:
    logical_id = stack.bucket_names().get(bucket)
    if not logical_id:
        return None
    rules = (
        stack.resource(logical_id)["Properties"]
        .get("BucketEncryption", {})
        .get("ServerSideEncryptionConfiguration", [])
    )
    for rule in rules:
        default = rule.get("ServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "aws:kms":
            return str(default.get("KMSMasterKeyID"))
    return None


def _via(service: str) -> tuple[tuple[str, str], ...]:
    return (("kms:ViaService", f"{service}.{REGION}.amazonaws.com"),)


def _s3_object_requests(
    stack: Stack, action: str, bucket: str, key: str, why: str, headers: Mapping[str, str] | None = None
) -> list[Request]:
    context = tuple(sorted((headers or {}).items()))
    found = [Request(action, _s3_arn(bucket, key), context, why)]
    key_arn = _kms_key_of_bucket(stack, bucket)
    if key_arn and action in ("s3:GetObject", "s3:PutObject"):
        kms_action = "kms:Decrypt" if action == "s3:GetObject" else "kms:GenerateDataKey"
        found.append(Request(kms_action, key_arn, _via("s3"), f"{why}: SSE-KMS through S3"))
    return found


def _sse_headers(params: Mapping[str, Any]) -> dict[str, str]:
    headers = {}
    if params.get("ServerSideEncryption"):
        headers["s3:x-amz-server-side-encryption"] = str(params["ServerSideEncryption"])
    if params.get("SSEKMSKeyId"):
        headers["s3:x-amz-server-side-encryption-aws-kms-key-id"] = str(params["SSEKMSKeyId"])
    return headers


def _s3_requests(stack: Stack, call: Call) -> list[Request]:
    p, op, why = call.params, call.operation, call.label()
    bucket = str(p.get("Bucket", ""))
    if op in ("ListObjectsV2", "ListObjects"):
        context = (("s3:prefix", str(p["Prefix"])),) if p.get("Prefix") is not None else ()
        return [Request("s3:ListBucket", _s3_arn(bucket), context, why)]
    if op == "DeleteObjects":
        return [
            Request("s3:DeleteObject", _s3_arn(bucket, str(item["Key"])), (), why)
            for item in p.get("Delete", {}).get("Objects", [])
        ]
    if op == "GetBucketLocation":
        return [Request("s3:GetBucketLocation", _s3_arn(bucket), (), why)]
    if op == "CopyObject":
        source = p["CopySource"]
        src_bucket, src_key = (
            (source["Bucket"], source["Key"]) if isinstance(source, dict) else str(source).split("/", 1)
        )
        return _s3_object_requests(stack, "s3:GetObject", src_bucket, src_key, why) + _s3_object_requests(
            stack, "s3:PutObject", bucket, str(p["Key"]), why, _sse_headers(p)
        )
    if op not in _S3_OBJECT_ACTIONS:
        raise ValueError(f"S3 operation {op} is not mapped to an IAM action in infra/iam.py; add it")
    action, key = _S3_OBJECT_ACTIONS[op], str(p["Key"])
    if action == "s3:GetObject" and p.get("VersionId"):
        action = "s3:GetObjectVersion"
    found = _s3_object_requests(
        stack, action, bucket, key, why, _sse_headers(p) if action == "s3:PutObject" else None
    )
    if call.error in _MISSING:
        # S3 answers 404 for a missing key only to a caller allowed s3:ListBucket on the bucket (no
        # s3:prefix in this request); anyone else gets 403 AccessDenied for it.
        found.append(Request("s3:ListBucket", _s3_arn(bucket), (), f"{why}: 404, not 403, for a missing key"))
    if call.managed_transfer and action == "s3:PutObject":
        # boto3's upload_file switches to a multipart upload above 8 MiB and aborts it on failure.
        found.append(Request("s3:AbortMultipartUpload", _s3_arn(bucket, key), (), f"{why}: managed transfer"))
    return found


def _glue_arns(database: str, table: str | None = None) -> list[str]:
    base = f"arn:{PARTITION}:glue:{REGION}:{ACCOUNT}"
    arns = [f"{base}:catalog", f"{base}:database/{database}"]
    return arns + ([f"{base}:table/{database}/{table}"] if table else [])


def _glue_requests(call: Call) -> list[Request]:
    p, why = call.params, call.label()
    database = str(p.get("DatabaseName", ""))
    table = p.get("TableName") or (p.get("Name") if call.operation == "GetTable" else None)
    return [
        Request(f"glue:{call.operation}", arn, (), why) for arn in _glue_arns(database, table and str(table))
    ]


def _workgroup_arn(name: str) -> str:
    return f"arn:{PARTITION}:athena:{REGION}:{ACCOUNT}:workgroup/{name}"


def _glue_tables(stack: Stack) -> dict[str, Mapping[str, Any]]:
    return {
        str(r["Properties"]["TableInput"]["Name"]): r["Properties"]["TableInput"]
        for _, r in cfn.resources(stack.template, "AWS::Glue::Table")
    }


def referenced_tables(sql: str) -> set[str]:
    """Table names a Trino statement reads (names of its CTEs excluded)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="trino")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


def _athena_requests(stack: Stack, call: Call, workgroups: Mapping[str, str]) -> list[Request]:
    p, why = call.params, call.label()
    if call.operation != "StartQueryExecution":
        # GetWorkGroup names its workgroup; the other calls name an execution started earlier.
        workgroup = str(p.get("WorkGroup") or workgroups.get(str(p.get("QueryExecutionId", "")), ""))
        return [Request(f"athena:{call.operation}", _workgroup_arn(workgroup), (), why)]
    workgroup = str(p.get("WorkGroup", "primary"))
    database = str(p.get("QueryExecutionContext", {}).get("Database", "default"))
    found = [Request("athena:StartQueryExecution", _workgroup_arn(workgroup), (), why)]
    tables = _glue_tables(stack)
    unload = _UNLOAD.match(str(p["QueryString"]))
    select = unload["select"] if unload else str(p["QueryString"])
    for table in sorted(referenced_tables(select)):
        if table not in tables:
            raise ValueError(f"the query reads {table!r}, which is not a Glue table of template.yaml")
        reads = f"Athena reads {table}"
        found += [Request("glue:GetDatabase", arn, (), reads) for arn in _glue_arns(database)]
        found += [Request("glue:GetTable", arn, (), reads) for arn in _glue_arns(database, table)]
        if tables[table].get("PartitionKeys"):
            found += [Request("glue:GetPartitions", arn, (), reads) for arn in _glue_arns(database, table)]
        location = str(tables[table]["StorageDescriptor"]["Location"]).removeprefix("s3://")
        bucket, _, prefix = location.partition("/")
        found.append(Request("s3:GetBucketLocation", _s3_arn(bucket), (), reads))
        found.append(Request("s3:ListBucket", _s3_arn(bucket), (("s3:prefix", prefix),), reads))
        found += _s3_object_requests(stack, "s3:GetObject", bucket, f"{prefix}part-0.parquet", reads)
    found += _athena_results_requests(stack, workgroup, why)
    if unload:
        # UNLOAD writes its files with the caller's permissions too, after checking the folder is empty.
        bucket, _, prefix = unload["location"].removeprefix("s3://").partition("/")
        found += _athena_writes(stack, bucket, prefix, f"{prefix}query-id_part", f"{why}: UNLOAD location")
    return found


#: An UNLOAD statement (``AthenaEngine.unload``): the SELECT it wraps and where its files go.
_UNLOAD = re.compile(r"UNLOAD \((?P<select>.*)\) TO '(?P<location>s3://[^']+)'", re.DOTALL)


def _athena_results_requests(stack: Stack, workgroup: str, why: str) -> list[Request]:
    """What Athena does in the results location with the caller's permissions (Athena user guide,
    "Access to Amazon S3"): it writes the result (multipart for large ones) and reads it back."""
    for _, resource in cfn.resources(stack.template, "AWS::Athena::WorkGroup"):
        props = resource["Properties"]
        if props["Name"] != workgroup:
            continue
        output = str(props["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"])
        bucket, _, prefix = output.removeprefix("s3://").partition("/")
        key = f"{prefix}query-id.csv"
        results = f"{why}: results location"
        found = _athena_writes(stack, bucket, prefix, key, results)
        found += _s3_object_requests(stack, "s3:GetObject", bucket, key, results)
        return found
    raise ValueError(f"workgroup {workgroup!r} is not declared in template.yaml")


def _athena_writes(stack: Stack, bucket: str, prefix: str, key: str, why: str) -> list[Request]:
    """Athena writing ``key`` under ``prefix`` for the caller: the bucket looked up and listed, the object
    put (multipart when large, aborted on failure)."""
    found = [
        Request("s3:GetBucketLocation", _s3_arn(bucket), (), why),
        Request("s3:ListBucket", _s3_arn(bucket), (("s3:prefix", prefix),), why),
        Request("s3:ListBucketMultipartUploads", _s3_arn(bucket), (), why),
        Request("s3:ListMultipartUploadParts", _s3_arn(bucket, key), (), why),
        Request("s3:AbortMultipartUpload", _s3_arn(bucket, key), (), why),
    ]
    return found + _s3_object_requests(stack, "s3:PutObject", bucket, key, why)


def _ses_requests(stack: Stack, call: Call) -> list[Request]:
    p, why = call.params, call.label()
    sender = str(p.get("FromEmailAddress", ""))
    identity = str(stack.parameters.get("MailIdentity", ""))
    name = sender if identity == sender else sender.rpartition("@")[2]
    base = f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}"
    action = "ses:SendRawEmail" if "Raw" in p.get("Content", {}) else "ses:SendEmail"
    found = [Request(action, f"{base}:identity/{name}", (), why)]
    if p.get("ConfigurationSetName"):
        found.append(Request(action, f"{base}:configuration-set/{p['ConfigurationSetName']}", (), why))
    return found


def requests_for(stack: Stack, calls: Sequence[Call]) -> list[tuple[Call, Request]]:
    """Every IAM request behind the calls, each paired with the call that needs it."""
    workgroups = {}
    found: list[tuple[Call, Request]] = []
    for call in calls:
        if call.service == "athena" and call.operation == "StartQueryExecution" and call.result_id:
            workgroups[call.result_id] = str(call.params.get("WorkGroup", "primary"))
    for call in calls:
        why = call.label()
        if call.service == "s3":
            requests = _s3_requests(stack, call)
        elif call.service == "glue":
            requests = _glue_requests(call)
        elif call.service == "athena":
            requests = _athena_requests(stack, call, workgroups)
        elif call.service == "sesv2" and call.operation == "SendEmail":
            requests = _ses_requests(stack, call)
        elif call.service == "events" and call.operation == "PutEvents":
            buses = {str(e.get("EventBusName", "default")) for e in call.params.get("Entries", [])}
            requests = [
                Request(
                    "events:PutEvents",
                    b if b.startswith("arn:") else f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:event-bus/{b}",
                    (),
                    why,
                )
                for b in sorted(buses)
            ]
        elif call.service == "ssm" and call.operation in ("GetParameter", "GetParameters"):
            names = cfn.as_list(call.params.get("Name")) + cfn.as_list(call.params.get("Names"))
            requests = []
            for name in names:
                requests.append(
                    Request(
                        "ssm:GetParameter",
                        f"arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter/{str(name).lstrip('/')}",
                        (),
                        why,
                    )
                )
                if call.params.get("WithDecryption"):
                    # The SecureString is created with the stack's key (infra/README.md, first deploy).
                    requests.append(
                        Request("kms:Decrypt", stack.data_key(), _via("ssm"), f"{why}: SecureString")
                    )
        else:
            raise ValueError(
                f"{call.service}:{call.operation} is not mapped to IAM requests in infra/iam.py; add it"
            )
        found += [(call, request) for request in requests]
    return found


def platform_requests(stack: Stack, function: Function) -> list[Request]:
    """What Lambda itself does with the function's role, read from the function's properties."""
    props = function.properties
    found: list[Request] = []
    log_group = props.get("LoggingConfig", {}).get("LogGroup")
    if log_group:
        stream = (
            f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{log_group}:log-stream:2026/11/09/[$LATEST]x"
        )
        why = f"Lambda writes the function's logs to {log_group}"
        found += [
            Request("logs:CreateLogStream", stream, (), why),
            Request("logs:PutLogEvents", stream, (), why),
        ]
    if props.get("TracingConfig", {}).get("Mode") == "Active":
        why = (
            "Lambda active tracing sends the invocation's segments (X-Ray has no resource-level permissions)"
        )
        found += [
            Request("xray:PutTraceSegments", "*", (), why),
            Request("xray:PutTelemetryRecords", "*", (), why),
        ]
    if props.get("KmsKeyArn"):
        why = "Lambda decrypts the environment variables, encrypted with the stack's key"
        found.append(Request("kms:Decrypt", str(props["KmsKeyArn"]), _via("lambda"), why))
    for _, config in cfn.resources(stack.template, "AWS::Lambda::EventInvokeConfig"):
        cp = config["Properties"]
        if cp.get("FunctionName") != function.name:
            continue
        destination = cp.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            why = f"Lambda sends failed events to {destination.rsplit(':', 1)[-1]}"
            found.append(Request("sqs:SendMessage", str(destination), (), why))
            if destination.startswith(f"arn:{PARTITION}:sqs:"):
                found += [
                    Request("kms:GenerateDataKey", stack.data_key(), _via("sqs"), f"{why} (SSE-KMS queue)"),
                    Request("kms:Decrypt", stack.data_key(), _via("sqs"), f"{why} (SSE-KMS queue)"),
                ]
    return found


@dataclass(frozen=True)
class Need:
    """A documented need from infra/permissions.toml: a request no test can make, and why."""

    function: str
    request: Request


def load_needs(stack: Stack, path: Path = NEEDS_FILE) -> list[Need]:
    """``[[need]]`` entries: function (logical id), action, resource (``${Region}``-style placeholders),
    optional ``prefix`` (an ``s3:prefix`` value), and a ``reason`` (required)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    values = {
        "Partition": PARTITION,
        "Region": REGION,
        "AccountId": ACCOUNT,
        **{k: str(v) for k, v in stack.parameters.items() if not k.startswith("AWS::")},
        "DataKey": stack.data_key(),
    }
    needs = []
    for entry in data.get("need", []):
        reason = str(entry.get("reason", "")).strip()
        if not reason:
            raise ValueError(f"{path.name}: every need has a reason: {entry}")
        if entry["function"] not in stack.functions:
            raise ValueError(f"{path.name}: unknown function {entry['function']!r}")
        resource = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], str(entry["resource"]))
        context: tuple[tuple[str, str], ...] = (
            (("s3:prefix", str(entry["prefix"])),) if "prefix" in entry else ()
        )
        if entry.get("via"):
            context = _via(str(entry["via"]))
        needs.append(Need(str(entry["function"]), Request(str(entry["action"]), resource, context, reason)))
    return needs


# -------------------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Decision:
    function: str
    request: Request
    allowed: bool
    statement: str | None  # the allowing (or denying) statement
    calls: tuple[str, ...] = ()  # labels of the calls that need it

    def explain(self) -> str:
        verdict = (
            "allowed by " + str(self.statement)
            if self.allowed
            else (
                f"explicitly denied by {self.statement}"
                if self.statement
                else "implicitly denied (no statement allows it)"
            )
        )
        context = "".join(f" [{k}={v}]" for k, v in self.request.context)
        request = self.request
        what = f"{request.action} on {request.resource}{context}"
        return f"{self.function}: {what} - {verdict} - for {request.why}"


def decide(stack: Stack, function: Function, request: Request) -> tuple[bool, Statement | None]:
    context = request.keys
    for statement in (*stack.resource_denies, *stack.roles[function.role]):
        if statement.effect == "Deny" and statement.matches(request.action, request.resource, context):
            return False, statement
    for statement in stack.roles[function.role]:
        if statement.effect == "Allow" and statement.matches(request.action, request.resource, context):
            return True, statement
    return False, None


@dataclass
class Evaluation:
    """Every request of every function, answered; built by :func:`evaluate`."""

    stack: Stack
    decisions: list[Decision]
    calls: dict[str, list[Call]]

    def refused(self) -> list[Decision]:
        return [d for d in self.decisions if not d.allowed]

    def for_function(self, logical_id: str) -> list[Decision]:
        return [d for d in self.decisions if d.function == logical_id]


def evaluate(stack: Stack, calls: Iterable[Call], needs: Sequence[Need] | None = None) -> Evaluation:
    """Answer every request: recorded calls, Lambda's own use of each role, and documented needs."""
    by_function: dict[str, list[Call]] = {logical_id: [] for logical_id in stack.functions}
    for call in calls:
        by_function.setdefault(call.function, []).append(call)
    decisions: list[Decision] = []
    for logical_id, function in stack.functions.items():
        grouped: dict[Request, list[str]] = {}
        for _, request in requests_for(stack, by_function[logical_id]):
            grouped.setdefault(_unexplained(request), []).append(request.why)
        for request in platform_requests(stack, function):
            grouped.setdefault(_unexplained(request), []).append(request.why)
        for need in needs if needs is not None else load_needs(stack):
            if need.function == logical_id:
                grouped.setdefault(_unexplained(need.request), []).append(need.request.why)
        for request, labels in grouped.items():
            reasons = sorted(set(labels))
            explained = Request(
                request.action,
                request.resource,
                request.context,
                "; ".join(reasons[:3]) + (f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else ""),
            )
            allowed, statement = decide(stack, function, explained)
            decisions.append(
                Decision(
                    logical_id, explained, allowed, statement.source if statement else None, tuple(reasons)
                )
            )
    return Evaluation(stack, decisions, by_function)


def _unexplained(request: Request) -> Request:
    return Request(request.action, request.resource, request.context)


@dataclass(frozen=True)
class Grant:
    """An action, or a resource pattern, of an Allow statement that no request needed through it."""

    statement: str
    kind: str  # "action" or "resource"
    value: str


def unused_grants(evaluation: Evaluation) -> list[Grant]:
    """Actions and resource patterns of the functions' roles that no allowed request used.

    Each statement is judged on its own: an action is used when some request for it was allowed by this
    statement, a resource pattern when some allowed request's resource matched it. (A statement that
    grants two actions on two resources where only some pairs are needed is not split further.)
    """
    stack = evaluation.stack
    used: set[tuple[str, str, str]] = set()
    for decision in evaluation.decisions:
        if not decision.allowed:
            continue
        request = decision.request
        for statement in stack.roles[stack.functions[decision.function].role]:
            if statement.effect != "Allow" or not statement.matches(
                request.action, request.resource, request.keys
            ):
                continue
            used.update(
                (statement.source, "action", a)
                for a in statement.actions
                if _glob(a, request.action, ignore_case=True)
            )
            used.update(
                (statement.source, "resource", r) for r in statement.resources if _glob(r, request.resource)
            )
    unused = []
    for role in sorted({f.role for f in stack.functions.values()}):
        for statement in stack.roles[role]:
            if statement.effect != "Allow":
                continue
            for kind, values in (("action", statement.actions), ("resource", statement.resources)):
                unused += [
                    Grant(statement.source, kind, v)
                    for v in values
                    if (statement.source, kind, v) not in used
                ]
    return unused


# ----------------------------------------------------------------------------------------------- README

TABLE_BEGIN = "<!-- BEGIN GENERATED PERMISSIONS: python -m tests.functional.aws.permissions --write -->"
TABLE_END = "<!-- END GENERATED PERMISSIONS -->"


def _short_arn(arn: str, stack: Stack) -> str:
    text = (
        arn.replace(f"arn:{PARTITION}:", "")
        .replace(f":{REGION}:{ACCOUNT}:", ":")
        .replace(f"::{ACCOUNT}:", "::")
    )
    env = str(stack.parameters.get("Environment", ""))
    return text.replace(f"-{ACCOUNT}-{REGION}", "").replace(f"contactlake-{env}-", "")


def permission_table(evaluation: Evaluation) -> str:
    """Markdown: per function, each granted action and resource pattern with the needs that use it."""
    stack = evaluation.stack
    lines = [
        TABLE_BEGIN,
        "",
        "Generated from the permissions evaluation: every grant below was needed by a call the tests",
        "recorded, by Lambda itself, or by a documented need in `infra/permissions.toml`. Bucket names are",
        "shortened (`lake` is `contactlake-<env>-lake-<account>-<region>`); `key/DataKey` is the stack key.",
    ]
    for logical_id, function in sorted(stack.functions.items()):
        rows: dict[tuple[str, str], set[str]] = {}
        for decision in evaluation.for_function(logical_id):
            if not decision.allowed:
                continue
            for statement in stack.roles[function.role]:
                if statement.effect != "Allow" or not statement.matches(
                    decision.request.action, decision.request.resource, decision.request.keys
                ):
                    continue
                resource = next(r for r in statement.resources if _glob(r, decision.request.resource))
                if statement.conditions:
                    resource += " if " + "; ".join(
                        f"{k} {op} {','.join(v)}"
                        for op, tests in statement.conditions.items()
                        for k, v in tests.items()
                    )
                rows.setdefault((decision.request.action, _short_arn(resource, stack)), set()).update(
                    summarise_label(c) for c in decision.calls
                )
                break
        lines += [
            "",
            f"### {function.short} (`{logical_id}`, role `{function.role}`)",
            "",
            "| action | resource | needed for |",
            "|---|---|---|",
        ]
        for (action, resource), needs in sorted(rows.items()):
            shown = sorted(needs)
            text = "; ".join(shown[:4]) + (f"; +{len(shown) - 4} more" if len(shown) > 4 else "")
            lines.append(f"| `{action}` | `{resource}` | {text.replace('|', '/')} |")
    lines += ["", TABLE_END]
    return "\n".join(lines)


def summarise_label(label: str) -> str:
    """A call label with bucket names shortened and object keys cut after their first folder
    (``s3:GetObject lake/manifests/… (NoSuchKey)``), so calls of one kind read as one line."""
    label = re.sub(r"contactlake-\w+-(\w+)-\d{12}-[a-z0-9-]+", r"\1", label)
    label = re.sub(r"(\S+?/[^/\s]+/)\S*", r"\1…", label)
    return label


def replace_table(readme: str, table: str) -> str:
    if TABLE_BEGIN not in readme:
        raise ValueError("infra/README.md has no generated permissions block")
    head, rest = readme.split(TABLE_BEGIN, 1)
    _, tail = rest.split(TABLE_END, 1)
    return head + table + tail


def save_calls(calls: Iterable[Call], path: Path) -> None:
    path.write_text(json.dumps([c.__dict__ for c in calls], default=str, indent=1), encoding="utf-8")
