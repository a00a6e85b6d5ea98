"""Who is calling and what they may read; each rule enforced here once.

* **Who**: IAM mode (default) matches the caller's IAM ARN (API Gateway puts it in the request context
  after checking the SigV4 signature) against ``[api.callers.*].principal``; an assumed-role session
  matches its role. API-key mode matches the SHA-256 of ``x-api-key`` against ``api_key_sha256``.
* **What**: every centre id is checked against the caller's centres first (403 for any centre outside
  them, whether it exists or not, so the answer never tells which ids exist), then against the
  configuration (404 only for a caller that may read every centre). Reports covering several centres
  need every one of them.
* **Which action**: each route needs one of the caller's ``actions`` (read, upload, admin; 403
  otherwise), so a read-only caller cannot mint upload URLs (which can replace a day).
* **Which audience**: internal-only reports (agent-level figures) only for ``role = "internal"`` callers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any, Literal

from contactlake.api.errors import ApiError
from contactlake.api.params import choice
from contactlake.config import (
    AUDIENCES,
    INTERNAL_AUDIENCES,
    PERIODS,
    ApiCaller,
    AppConfig,
    ConfigError,
    validate_centre_id,
)
from contactlake.report.keys import ALL_CENTRES, REPORT_FILE, ReportKey, scope_centre_ids

__all__ = [
    "AuthMode",
    "auth_mode",
    "check_action",
    "check_audience",
    "check_centre",
    "check_report_path",
    "may_see_audience",
    "readable_scopes",
    "resolve_caller",
    "scope_centres",
]

AuthMode = Literal["iam", "api_key"]

_ASSUMED_ROLE = re.compile(r"^arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([^/]+)/[^/]+$")
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$")


def auth_mode(configured: str | None, mode: str) -> AuthMode:
    """``CONTACTLAKE_API_AUTH`` (``configured``) if set, else IAM on AWS and API keys locally."""
    if configured in ("iam", "api_key"):
        return configured  # type: ignore[return-value]
    return "iam" if mode == "aws" else "api_key"


def _principal_matches(configured: str, caller_arn: str) -> bool:
    if hmac.compare_digest(configured, caller_arn):
        return True
    session, role = _ASSUMED_ROLE.match(caller_arn), _ROLE.match(configured)
    return bool(session and role and session.groups() == role.groups())


def resolve_caller(
    config: AppConfig, mode: AuthMode, identity: Mapping[str, Any] | None, headers: Mapping[str, str]
) -> ApiCaller:
    """The configured caller making this request, or 401/403."""
    if mode == "iam":
        arn = str((identity or {}).get("userArn") or (identity or {}).get("caller") or "")
        if not arn:
            raise ApiError(401, "unauthenticated", "sign the request with AWS SigV4 (IAM authorisation)")
        for caller in config.api_callers:
            if caller.principal and _principal_matches(caller.principal, arn):
                return caller
        raise ApiError(
            403,
            "forbidden",
            "this IAM principal is not an API caller; add it to [api.callers] in the configuration",
        )
    key = next((v for k, v in headers.items() if k.lower() == "x-api-key"), "")
    if not key:
        raise ApiError(401, "unauthenticated", "send your API key in the x-api-key header")
    digest = hashlib.sha256(key.encode()).hexdigest()
    for caller in config.api_callers:
        if caller.api_key_sha256 and hmac.compare_digest(caller.api_key_sha256, digest):
            return caller
    raise ApiError(403, "forbidden", "this API key is not recognised")


def check_action(caller: ApiCaller, action: str) -> ApiCaller:
    """403 unless the caller's configured actions include ``action`` (read, upload or admin)."""
    if not caller.may(action):
        raise ApiError(
            403,
            "forbidden",
            f"caller {caller.name!r} may not {action} (its actions: {', '.join(caller.actions) or 'none'}); "
            f'add "{action}" to [api.callers.{caller.name}] actions',
        )
    return caller


def may_see_audience(caller: ApiCaller, audience: str) -> bool:
    return audience not in INTERNAL_AUDIENCES or caller.role == "internal"


def check_audience(caller: ApiCaller, audience: str) -> str:
    """403 for an internal-only audience unless the caller is internal."""
    if not may_see_audience(caller, audience):
        raise ApiError(
            403, "forbidden", f"{audience} reports are internal only; caller {caller.name!r} is not internal"
        )
    return audience


def check_centre(config: AppConfig, caller: ApiCaller, centre_id: str) -> str:
    """403 for a centre outside the caller's scope (known or not), 404 for one nobody has configured."""
    if not caller.may_read(centre_id):
        raise ApiError(
            403,
            "forbidden",
            f"caller {caller.name!r} may not read centre {centre_id[:40]!r}; GET /centres lists yours",
        )
    try:
        validate_centre_id(centre_id)
        config.centre(centre_id)
    except ConfigError:
        raise ApiError(
            404, "unknown_centre", f"no centre {centre_id[:40]!r}; GET /centres lists the centres"
        ) from None
    return centre_id


def readable_scopes(config: AppConfig, caller: ApiCaller) -> list[str]:
    """Report scopes (first key segment) the caller may read: its centres, and "all" if it may read all."""
    mine = [c for c in sorted(config.centres) if caller.may_read(c)]
    return [*mine, *([ALL_CENTRES] if len(mine) == len(config.centres) else [])]


def scope_centres(config: AppConfig, scope: str) -> list[str]:
    """The centres a report scope covers ("north", "all", "north+south"); 404 for anything else."""
    parts = scope_centre_ids(scope, list(config.centres))
    for part in parts:
        if part not in config.centres:
            raise ApiError(404, "unknown_centre", f"no report scope {scope[:60]!r}")
    return parts


def check_report_path(
    config: AppConfig, caller: ApiCaller, scope: str, audience: str, period: str, filename: str
) -> str:
    """The reports-area key for a download, after checking every segment against its allow-list."""
    centres = scope_centres(config, scope)
    for centre_id in centres:
        if not caller.may_read(centre_id):
            raise ApiError(403, "forbidden", f"caller {caller.name!r} may not read centre {centre_id!r}")
    check_audience(caller, choice(audience, AUDIENCES, "audience"))
    choice(period, PERIODS, "period")
    if not REPORT_FILE.fullmatch(filename):
        raise ApiError(
            400,
            "bad_filename",
            "report file names look like 2026-11-15.pdf (date, optional queue "
            "suffix, one of .html .pdf .csv .xlsx .held.json)",
        )
    return str(ReportKey(scope, audience, period, filename))
