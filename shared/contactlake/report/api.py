"""What the REST API does, independent of Chalice: who is calling, what they may read, input checks,
pagination and JSON shapes. The Chalice routes (functions/report/chalicelib) only translate HTTP to these.

Security rules, each enforced here once:

* **Who**: IAM mode (default) matches the caller's IAM ARN (API Gateway puts it in the request context
  after checking the SigV4 signature) against ``[api.callers.*].principal``; an assumed-role session
  matches its role. API-key mode matches the SHA-256 of ``x-api-key`` against ``api_key_sha256``.
* **What**: every centre id is checked against the configuration (404 if unknown) and then against the
  caller's centres (403). Reports covering several centres need every one of them.
* **Input**: grains and dimensions only from the analysis allow-lists; dates as ISO dates in a bounded
  range; report paths and upload file names by strict patterns (so ``..`` and ``/`` never get through);
  values reach SQL only as bound parameters, inside :mod:`contactlake.analyse.queries`.
* **Pagination**: ``limit`` (1-1000) and an opaque ``next_token`` that is HMAC-signed and bound to the
  query it came from, so it cannot be forged or replayed against another centre.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa

from contactlake.config import AUDIENCES, PERIODS, ApiCaller, AppConfig, ConfigError, validate_centre_id

__all__ = [
    "FORMATS_ON_DEMAND",
    "ApiError",
    "AuthMode",
    "Page",
    "check_centre",
    "check_report_path",
    "check_upload_name",
    "choice",
    "date_range",
    "int_param",
    "jsonable",
    "paginate",
    "parse_date",
    "readable_scopes",
    "resolve_caller",
    "scope_centres",
]

AuthMode = Literal["iam", "api_key"]
FORMATS_ON_DEMAND = ("html", "pdf", "csv", "xlsx")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_RANGE_DAYS = 366

_REPORT_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:_[a-z0-9-]{1,40})*\.(?:html|pdf|csv|xlsx|held\.json)$")
_UPLOAD_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ASSUMED_ROLE = re.compile(r"^arn:aws[a-z-]*:sts::(\d{12}):assumed-role/([^/]+)/[^/]+$")
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$")


class ApiError(Exception):
    """An error with its HTTP status, a stable code and a message saying what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


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


def check_centre(config: AppConfig, caller: ApiCaller, centre_id: str) -> str:
    """404 for a malformed or unknown centre, 403 for one the caller may not read."""
    try:
        validate_centre_id(centre_id)
        config.centre(centre_id)
    except ConfigError:
        raise ApiError(
            404, "unknown_centre", f"no centre {centre_id[:40]!r}; GET /centres lists yours"
        ) from None
    if not caller.may_read(centre_id):
        raise ApiError(403, "forbidden", f"caller {caller.name!r} may not read centre {centre_id!r}")
    return centre_id


def readable_scopes(config: AppConfig, caller: ApiCaller) -> list[str]:
    """Report scopes (first key segment) the caller may read: its centres, and "all" if it may read all."""
    mine = [c for c in sorted(config.centres) if caller.may_read(c)]
    return [*mine, *(["all"] if len(mine) == len(config.centres) else [])]


def scope_centres(config: AppConfig, scope: str) -> list[str]:
    """The centres a report scope covers ("north", "all", "north+south"); 404 for anything else."""
    if scope == "all":
        return sorted(config.centres)
    parts = scope.split("+")
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
    choice(audience, AUDIENCES, "audience")
    choice(period, PERIODS, "period")
    if not _REPORT_FILE.fullmatch(filename):
        raise ApiError(
            400,
            "bad_filename",
            "report file names look like 2026-11-15.pdf (date, optional queue "
            "suffix, one of .html .pdf .csv .xlsx .held.json)",
        )
    return f"{scope}/{audience}/{period}/{filename}"


def check_upload_name(filename: str) -> str:
    """An export's file name: letters, digits, '.', '_' and '-', no path, no '..'."""
    if not _UPLOAD_FILE.fullmatch(filename) or ".." in filename:
        raise ApiError(
            400,
            "bad_filename",
            "use a plain file name of up to 128 letters, digits, '.', '_' or '-', "
            "e.g. calls-2026-11-16.csv.gz (no folders, no '..')",
        )
    return filename


def choice(value: str | None, allowed: Sequence[str], name: str, default: str | None = None) -> str:
    if value is None or value == "":
        if default is None:
            raise ApiError(400, "missing_parameter", f"{name} is required: one of {', '.join(allowed)}")
        return default
    if value not in allowed:
        raise ApiError(
            400, "bad_parameter", f"{name} must be one of {', '.join(allowed)} (got {value[:40]!r})"
        )
    return value


def parse_date(value: str | None, name: str) -> date:
    if not value:
        raise ApiError(400, "missing_parameter", f"{name} is required, as an ISO date like 2026-11-15")
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "bad_date", f"{name}={value[:40]!r} is not an ISO date like 2026-11-15") from None


def date_range(params: Mapping[str, str], max_days: int = MAX_RANGE_DAYS) -> tuple[date, date]:
    """``from`` (required) and ``to`` (default: ``from``), inclusive local dates, at most ``max_days``."""
    start = parse_date(params.get("from"), "from")
    end = parse_date(params.get("to"), "to") if params.get("to") else start
    if end < start:
        raise ApiError(400, "bad_range", f"to ({end}) is before from ({start})")
    if (end - start).days + 1 > max_days:
        raise ApiError(
            400, "bad_range", f"ask for at most {max_days} days at a time (got {(end - start).days + 1})"
        )
    return start, end


def int_param(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise ApiError(400, "bad_parameter", f"{name} must be a whole number from {low} to {high}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class Page:
    items: list[Any]
    next_token: str | None

    def body(self, **extra: Any) -> dict[str, Any]:
        return {**extra, "items": self.items, "count": len(self.items), "next_token": self.next_token}


def _signature(secret: bytes, query: str, offset: int) -> str:
    mac = hmac.new(secret, f"contactlake-page|{query}|{offset}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:12]).decode().rstrip("=")


def paginate(items: Sequence[Any], params: Mapping[str, str], query: str, secret: bytes) -> Page:
    """Slice ``items`` by ``limit`` and ``next_token``; ``query`` names the request the token belongs to."""
    limit = int_param(params.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = 0
    token = params.get("next_token")
    if token:
        try:
            padded = token + "=" * (-len(token) % 4)
            raw = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
            offset = int(raw["o"])
            valid = hmac.compare_digest(str(raw["s"]), _signature(secret, query, offset)) and offset >= 0
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise ApiError(
                400, "bad_token", "next_token is not valid for this request; start again without it"
            )
    page = list(items[offset : offset + limit])
    following = offset + limit
    next_token = None
    if following < len(items):
        payload = json.dumps(
            {"o": following, "s": _signature(secret, query, following)}, separators=(",", ":")
        )
        next_token = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return Page(page, next_token)


def jsonable(value: Any) -> Any:
    """Arrow tables, dataclasses, dates and NaN turned into plain JSON values."""
    if isinstance(value, pa.Table):
        return [jsonable(row) for row in value.to_pylist()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, str | bytes):
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if isinstance(value, Iterable):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item") and callable(value.item):
        return jsonable(value.item())
    return value
