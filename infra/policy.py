"""Security and reliability rules for ``template.yaml``, as code.

:func:`check_template` takes a parsed template (``infra.cfn.load_template``) and returns a list of
violations, each ``"<LogicalId>: <what is wrong>"``; an empty list means the template passes. The rules
are what a reviewer would otherwise check by eye, and the unit tests run them on deliberately broken
copies so that a rule that stops working is noticed.

Buckets
  * SSE-KMS with a customer-managed key of this template (the access-log target may use SSE-S3: S3
    server access logging documents only SSE-S3 for the target's default encryption);
  * all four public-access blocks on, ACLs disabled (BucketOwnerEnforced), versioning enabled;
  * a bucket policy that denies requests without TLS (``aws:SecureTransport`` = false);
  * server access logging (except the log target itself) and at least one enabled lifecycle rule.
IAM (role policies, ``AWS::IAM::*Policy``, SAM ``Policies``, and resource policies of buckets, queues,
topics and keys)
  * no ``Allow`` with a wildcard in an action (``*`` or ``service:Prefix*``), no ``NotAction`` or
    ``NotResource``;
  * identity policies never ``Allow`` on ``Resource: "*"``, except for actions that have no resource-level
    permissions (X-Ray's two write actions, which active tracing needs); AWS-managed policies are limited
    to an allow-list;
  * resource policies never ``Allow`` a ``*`` principal. (``Deny`` statements may use wildcards: they
    only take away.) A ``Deny`` that negates an optional request header (``s3:x-amz-…``) must also test
    that the header is present (``Null``: false): IAM treats a missing key as matching a negated operator
    or an ``…IfExists`` test, so the deny would hit every request without the header.
Functions
  * Python runtime 3.12 or newer; one role per function;
  * asynchronously invoked functions (S3, schedules, EventBridge, SNS) have bounded retries, an
    event-age limit, and an on-failure destination or DLQ, which must be an encrypted queue/topic;
  * an S3 trigger on a bucket the function can itself write to has both a prefix and a suffix filter
    (no self-triggering loops).
Other
  * KMS keys rotate; SQS queues and SNS topics use a KMS key; log groups are KMS-encrypted with a
    retention; Athena workgroups enforce their configuration, encrypt results and cap bytes scanned;
  * every ``contactlake-${Environment}-<area>-…`` bucket name used anywhere is a bucket of the template.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python infra/policy.py): make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.cfn import FOREACH, as_list, expand_foreach, referenced_id, resources, sub_text

__all__ = ["ASYNC_EVENT_TYPES", "check_iam", "check_template"]

#: SAM event types whose invocations are asynchronous (Lambda queues them and retries on its own).
ASYNC_EVENT_TYPES = frozenset(
    {"S3", "Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent", "SNS", "IoTRule"}
)

#: AWS-managed policies a role may attach: services that offer no resource-level permissions.
ALLOWED_MANAGED_POLICIES = ("iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",)

#: Actions IAM authorises only on ``Resource: "*"`` (no resource-level permissions exist for them).
RESOURCELESS_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})

MIN_PYTHON = (3, 12)

_RESOURCE_POLICY_TYPES = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
}
_IDENTITY_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")
_BUCKET_NAME = re.compile(
    r"contactlake-\$\{Environment\}-([a-z0-9-]+?)-\$\{AWS::AccountId\}-\$\{AWS::Region\}"
)
_S3_ARN_PREFIX = re.compile(r"^arn:(\$\{AWS::Partition\}|aws[a-z-]*):s3:::")


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def _principal_is_anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(value == "*" or value == ["*"] for value in principal.values())
    return False


#: Request-header condition keys: absent from requests that do not send the header.
_OPTIONAL_HEADER_KEYS = re.compile(r"^s3:x-amz-")


def _unguarded_header_negations(statement: dict[str, Any]) -> Iterator[str]:
    """A Deny on "header != X" (or an ...IfExists test) also matches requests WITHOUT the header: IAM
    evaluates negated operators and IfExists as true for a missing key. Require a Null guard."""
    conditions = statement.get("Condition", {}) or {}
    guarded = {k for k, v in (conditions.get("Null", {}) or {}).items() if str(v).lower() == "false"}
    for operator, tests in conditions.items():
        negated = "Not" in operator or operator.endswith("IfExists")
        for key in tests or {}:
            if negated and _OPTIONAL_HEADER_KEYS.match(key) and key not in guarded:
                sid = statement.get("Sid", "statement")
                yield (
                    f"{sid}: Deny with {operator} on {key} also denies requests that omit the header; "
                    f'add "Null": {{"{key}": "false"}}'
                )


def _statement_problems(statement: dict[str, Any], *, identity: bool) -> Iterator[str]:
    if statement.get("Effect") == "Deny":
        yield from _unguarded_header_negations(statement)
        return
    if statement.get("Effect") != "Allow":
        return
    label = statement.get("Sid", "statement")
    if "NotAction" in statement:
        yield f"{label}: Allow with NotAction grants everything not listed"
    if "NotResource" in statement:
        yield f"{label}: Allow with NotResource grants everything not listed"
    for action in as_list(statement.get("Action")):
        if isinstance(action, str) and "*" in action:
            yield f"{label}: wildcard action {action!r}; list the actions"
    actions = {a for a in as_list(statement.get("Action")) if isinstance(a, str)}
    if identity and "*" in as_list(statement.get("Resource")) and not actions <= RESOURCELESS_ACTIONS:
        yield f"{label}: Allow on Resource '*'; scope it to ARNs"
    if not identity and _principal_is_anyone(statement.get("Principal")):
        yield f"{label}: Allow to principal '*'"


def _role_documents(resource: dict[str, Any]) -> list[Any]:
    return [
        policy.get("PolicyDocument") for policy in as_list(resource.get("Properties", {}).get("Policies"))
    ]


def _sam_policy_documents(properties: Mapping[str, Any]) -> list[Any]:
    documents = []
    for policy in as_list(properties.get("Policies")):
        if isinstance(policy, dict) and "Statement" in policy:
            documents.append(policy)
    return documents


def check_iam(template: Mapping[str, Any]) -> list[str]:
    """The IAM rules alone; also run on the SAM-transformed template to cover generated roles."""
    problems: list[str] = []
    for logical_id, resource in resources(template):
        rtype = resource.get("Type")
        props = resource.get("Properties", {}) or {}
        documents: list[tuple[Any, bool]] = []
        if rtype == "AWS::IAM::Role":
            documents += [(doc, True) for doc in _role_documents(resource)]
            for arn in as_list(props.get("ManagedPolicyArns")):
                text = sub_text(arn) or ""
                if not text.endswith(ALLOWED_MANAGED_POLICIES):
                    problems.append(
                        f"{logical_id}: managed policy {text or arn!r} is not on the allow-list; "
                        "write an inline policy with explicit actions and resources"
                    )
        elif rtype in _IDENTITY_POLICY_TYPES:
            documents.append((props.get("PolicyDocument"), True))
        elif rtype in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            documents += [(doc, True) for doc in _sam_policy_documents(props)]
        elif rtype in _RESOURCE_POLICY_TYPES:
            documents.append((props.get(_RESOURCE_POLICY_TYPES[rtype]), False))
        for document, identity in documents:
            for statement in _statements(document):
                problems += [f"{logical_id}: {p}" for p in _statement_problems(statement, identity=identity)]
    return problems


# --------------------------------------------------------------------------------------------- buckets


def _bucket_policies(template: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_bucket: dict[str, list[dict[str, Any]]] = {}
    for _, policy in resources(template, "AWS::S3::BucketPolicy"):
        props = policy.get("Properties", {})
        bucket = referenced_id(props.get("Bucket"))
        if bucket:
            by_bucket.setdefault(bucket, []).extend(_statements(props.get("PolicyDocument")))
    return by_bucket


def _denies_insecure_transport(statements: list[dict[str, Any]]) -> bool:
    for statement in statements:
        if statement.get("Effect") != "Deny" or not _principal_is_anyone(statement.get("Principal")):
            continue
        if not {"s3:*", "*"} & set(as_list(statement.get("Action"))):
            continue
        condition = statement.get("Condition", {}).get("Bool", {})
        if str(condition.get("aws:SecureTransport", "")).lower() == "false":
            return True
    return False


def _kms_keys(template: Mapping[str, Any]) -> set[str]:
    return {logical_id for logical_id, _ in resources(template, "AWS::KMS::Key")}


def _check_buckets(template: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    buckets = dict(resources(template, "AWS::S3::Bucket"))
    keys = _kms_keys(template)
    log_targets = {
        referenced_id(b.get("Properties", {}).get("LoggingConfiguration", {}).get("DestinationBucketName"))
        for b in buckets.values()
    } - {None}
    policies = _bucket_policies(template)
    for logical_id, bucket in buckets.items():
        props = bucket.get("Properties", {}) or {}
        is_log_target = logical_id in log_targets

        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        defaults = [r.get("ServerSideEncryptionByDefault", {}) for r in rules if isinstance(r, dict)]
        if not defaults:
            problems.append(f"{logical_id}: no default encryption (BucketEncryption)")
        for default in defaults:
            algorithm = default.get("SSEAlgorithm")
            key = referenced_id(default.get("KMSMasterKeyID"))
            if is_log_target and algorithm == "AES256":
                continue
            if algorithm != "aws:kms" or key not in keys:
                problems.append(f"{logical_id}: default encryption must be SSE-KMS with the template's CMK")

        block = props.get("PublicAccessBlockConfiguration", {}) or {}
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if not _truthy(block.get(flag)):
                problems.append(f"{logical_id}: PublicAccessBlockConfiguration.{flag} must be true")

        ownership = [r.get("ObjectOwnership") for r in props.get("OwnershipControls", {}).get("Rules", [])]
        if "BucketOwnerEnforced" not in ownership:
            problems.append(f"{logical_id}: ACLs must be disabled (OwnershipControls BucketOwnerEnforced)")

        if props.get("VersioningConfiguration", {}).get("Status") != "Enabled":
            problems.append(f"{logical_id}: versioning must be Enabled")

        if not _denies_insecure_transport(policies.get(logical_id, [])):
            problems.append(f"{logical_id}: needs a bucket policy denying aws:SecureTransport=false")

        logging = props.get("LoggingConfiguration")
        if is_log_target:
            if logging and referenced_id(logging.get("DestinationBucketName")) == logical_id:
                problems.append(f"{logical_id}: the access-log bucket must not log into itself")
        elif not logging or not logging.get("DestinationBucketName"):
            problems.append(f"{logical_id}: server access logging (LoggingConfiguration) is required")

        lifecycle = props.get("LifecycleConfiguration", {}).get("Rules", [])
        if not any(rule.get("Status") == "Enabled" for rule in lifecycle):
            problems.append(f"{logical_id}: needs at least one enabled lifecycle rule")
    return problems


def _bucket_names(template: Mapping[str, Any]) -> dict[str, str]:
    """BucketName text (a Sub template) -> logical id."""
    names = {}
    for logical_id, bucket in resources(template, "AWS::S3::Bucket"):
        text = sub_text(bucket.get("Properties", {}).get("BucketName"))
        if text:
            names[text] = logical_id
    return names


def _walk_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, child in node.items():
            yield from _walk_strings(key)
            yield from _walk_strings(child)
    elif isinstance(node, list):
        for child in node:
            yield from _walk_strings(child)


def _check_bucket_name_references(template: Mapping[str, Any]) -> list[str]:
    declared = {m.group(0) for text in _bucket_names(template) for m in _BUCKET_NAME.finditer(text)}
    problems = []
    seen: set[str] = set()
    for text in _walk_strings({k: v for k, v in template.items() if k != "Parameters"}):
        for match in _BUCKET_NAME.finditer(text):
            name = match.group(0)
            if name not in declared and name not in seen:
                seen.add(name)
                problems.append(
                    f"template: bucket name {name!r} is used but no bucket of the template has it"
                )
    return problems


# ------------------------------------------------------------------------------------------- functions


def _merged_function_properties(template: Mapping[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    props = dict(template.get("Globals", {}).get("Function", {}) or {})
    if resource.get("Type") == "AWS::Serverless::Function":
        props.update(resource.get("Properties", {}) or {})
        return props
    return dict(resource.get("Properties", {}) or {})


def _python_version(runtime: Any) -> tuple[int, int] | None:
    match = re.fullmatch(r"python(\d+)\.(\d+)", str(runtime))
    return (int(match.group(1)), int(match.group(2))) if match else None


def _role_statements(template: Mapping[str, Any], role_id: str) -> list[dict[str, Any]]:
    role = template.get("Resources", {}).get(role_id, {})
    statements = [s for doc in _role_documents(role) for s in _statements(doc)]
    for _, policy in resources(template, "AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
        props = policy.get("Properties", {})
        roles = as_list(props.get("Roles")) + as_list(props.get("RoleName"))
        if any(referenced_id(r) == role_id for r in roles):
            statements += _statements(props.get("PolicyDocument"))
    return statements


def _writable_buckets(template: Mapping[str, Any], role_id: str) -> set[str]:
    """Logical ids of the template's buckets that the role may s3:PutObject into."""
    names = _bucket_names(template)
    writable = set()
    for statement in _role_statements(template, role_id):
        if statement.get("Effect") != "Allow" or "s3:PutObject" not in as_list(statement.get("Action")):
            continue
        for resource in as_list(statement.get("Resource")):
            target = referenced_id(resource)
            if target:
                writable.add(target)
                continue
            text = sub_text(resource) or ""
            bucket_part = _S3_ARN_PREFIX.sub("", text).split("/", 1)[0]
            if bucket_part in names:
                writable.add(names[bucket_part])
    return writable


def _queue_or_topic_encrypted(template: Mapping[str, Any], destination: Any) -> bool:
    target = referenced_id(destination)
    resource = template.get("Resources", {}).get(target or "", {})
    props = resource.get("Properties", {}) or {}
    if resource.get("Type") in ("AWS::SQS::Queue", "AWS::SNS::Topic"):
        return bool(props.get("KmsMasterKeyId"))
    return False


def _check_functions(template: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    roles_seen: dict[str, str] = {}
    for logical_id, resource in resources(template, "AWS::Serverless::Function", "AWS::Lambda::Function"):
        props = _merged_function_properties(template, resource)

        version = _python_version(props.get("Runtime"))
        if version is None or version < MIN_PYTHON:
            problems.append(f"{logical_id}: runtime {props.get('Runtime')!r}; use python3.12 or newer")

        role_id = referenced_id(props.get("Role"))
        if not role_id:
            problems.append(f"{logical_id}: needs its own explicit Role")
        elif role_id in roles_seen:
            problems.append(
                f"{logical_id}: shares role {role_id} with {roles_seen[role_id]}; one role per function"
            )
        else:
            roles_seen[role_id] = logical_id

        events = props.get("Events", {}) or {}
        if any(e.get("Type") in ASYNC_EVENT_TYPES for e in events.values() if isinstance(e, dict)):
            problems += [f"{logical_id}: {p}" for p in _async_problems(template, props)]

        writable = _writable_buckets(template, role_id) if role_id else set()
        for name, event in events.items():
            if not isinstance(event, dict) or event.get("Type") != "S3":
                continue
            bucket = referenced_id(event.get("Properties", {}).get("Bucket"))
            if bucket not in writable:
                continue
            rules = event.get("Properties", {}).get("Filter", {}).get("S3Key", {}).get("Rules", [])
            kinds = {str(r.get("Name", "")).lower(): r.get("Value") for r in rules}
            if not (kinds.get("prefix") and kinds.get("suffix")):
                problems.append(
                    f"{logical_id}: S3 event {name} on {bucket}, which the function writes to, needs both a "
                    "prefix and a suffix filter (or it can trigger itself)"
                )
    return problems


def _async_problems(template: Mapping[str, Any], props: Mapping[str, Any]) -> Iterator[str]:
    config = props.get("EventInvokeConfig") or {}
    if "MaximumRetryAttempts" not in config:
        yield "asynchronous function without EventInvokeConfig.MaximumRetryAttempts"
    if "MaximumEventAgeInSeconds" not in config:
        yield "asynchronous function without EventInvokeConfig.MaximumEventAgeInSeconds"
    on_failure = (config.get("DestinationConfig") or {}).get("OnFailure") or {}
    dlq = props.get("DeadLetterQueue") or {}
    destination = on_failure.get("Destination") or dlq.get("TargetArn")
    if not destination:
        yield "asynchronous function without an on-failure destination or dead-letter queue"
    elif not _queue_or_topic_encrypted(template, destination):
        yield "its failure destination must be a KMS-encrypted SQS queue or SNS topic of this template"


# ------------------------------------------------------------------------------------------------ other


def _check_other(template: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for logical_id, key in resources(template, "AWS::KMS::Key"):
        if not _truthy(key.get("Properties", {}).get("EnableKeyRotation")):
            problems.append(f"{logical_id}: EnableKeyRotation must be true")
    for logical_id, queue in resources(template, "AWS::SQS::Queue"):
        if not queue.get("Properties", {}).get("KmsMasterKeyId"):
            problems.append(f"{logical_id}: queue must be encrypted with KmsMasterKeyId")
    for logical_id, topic in resources(template, "AWS::SNS::Topic"):
        if not topic.get("Properties", {}).get("KmsMasterKeyId"):
            problems.append(f"{logical_id}: topic must be encrypted with KmsMasterKeyId")
    for logical_id, group in resources(template, "AWS::Logs::LogGroup"):
        props = group.get("Properties", {})
        if not props.get("KmsKeyId"):
            problems.append(f"{logical_id}: log group must be encrypted with KmsKeyId")
        if not props.get("RetentionInDays"):
            problems.append(f"{logical_id}: log group needs RetentionInDays")
    for logical_id, workgroup in resources(template, "AWS::Athena::WorkGroup"):
        config = workgroup.get("Properties", {}).get("WorkGroupConfiguration", {}) or {}
        if not _truthy(config.get("EnforceWorkGroupConfiguration")):
            problems.append(f"{logical_id}: EnforceWorkGroupConfiguration must be true")
        if not config.get("BytesScannedCutoffPerQuery"):
            problems.append(f"{logical_id}: BytesScannedCutoffPerQuery must be set (cost guard)")
        encryption = config.get("ResultConfiguration", {}).get("EncryptionConfiguration", {})
        if encryption.get("EncryptionOption") not in ("SSE_KMS", "CSE_KMS"):
            problems.append(f"{logical_id}: query results must be KMS-encrypted")
    return problems


def check_template(template: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> list[str]:
    """All violations of the rules above; ``[]`` when the template passes.

    ``Fn::ForEach`` blocks are expanded first (with ``parameters``, the parameter defaults, or a
    placeholder value), so generated resources are checked like any other.
    """
    if any(key.startswith(FOREACH) for key in template.get("Resources", {})):
        template = expand_foreach(template, parameters, placeholder="example")
    return (
        _check_buckets(template)
        + check_iam(template)
        + _check_functions(template)
        + _check_other(template)
        + _check_bucket_name_references(template)
    )


if __name__ == "__main__":  # pragma: no cover - convenience: python infra/policy.py [template.yaml]
    from infra.cfn import TEMPLATE, load_template

    found = check_template(load_template(sys.argv[1] if len(sys.argv) > 1 else TEMPLATE))
    print("\n".join(found) or "template.yaml: no policy violations")
    sys.exit(1 if found else 0)
