"""Request parameters: each checked against an allow-list or a strict pattern before anything uses it.

Grains and dimensions come only from the analysis allow-lists; dates are ISO dates in a bounded range;
upload file names and queue names match strict patterns (so ``..`` and ``/`` never get through); values
reach SQL only as bound parameters, inside :mod:`contactlake.analyse.queries`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from contactlake.api.errors import ApiError

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_RANGE_DAYS",
    "check_queue",
    "check_upload_name",
    "choice",
    "date_range",
    "int_param",
    "json_body",
    "parse_date",
    "text_field",
]

MAX_RANGE_DAYS = 366
MAX_BODY_BYTES = 4096
#: Queue and channel names as filters and report scopes.
QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
_UPLOAD_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


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


def date_range(params: Mapping[str, str], today: date, max_days: int = MAX_RANGE_DAYS) -> tuple[date, date]:
    """``from`` (required) and ``to``, inclusive local dates, at most ``max_days``.

    ``to`` defaults to ``today`` (the centre's local date), or to the last day of the longest range
    allowed (``max_days`` from ``from``) if that comes first: ``from`` alone asks for "since then".
    """
    start = parse_date(params.get("from"), "from")
    if params.get("to"):
        end = parse_date(params.get("to"), "to")
    else:
        end = min(today, start + timedelta(days=max_days - 1))
        if end < start:
            raise ApiError(
                400, "bad_range", f"from ({start}) is after today ({today}); give an earlier from, or a to"
            )
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
    # ASCII digits only: str.isdigit() (and int()) accept other scripts' digits, such as "١٠".
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise ApiError(400, "bad_parameter", f"{name} must be a whole number from {low} to {high}")
    return int(value)


def check_queue(value: str, name: str) -> str:
    """A queue or channel name used as a filter."""
    if not QUEUE_NAME.fullmatch(value):
        raise ApiError(400, "bad_parameter", f"{name} may hold letters, digits, space, '.', '_' or '-'")
    return value


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


def json_body(raw: bytes | str | None) -> dict[str, Any]:
    """A request body that must be a small JSON object (an empty body is ``{}``)."""
    raw = raw or b""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(400, "body_too_large", f"the JSON body must be under {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ApiError(400, "bad_json", 'the body must be a JSON object, e.g. {"source": "acd"}') from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return body


def text_field(body: Mapping[str, Any], name: str) -> str | None:
    """An optional string member of a JSON body."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "bad_parameter", f"{name} must be a string")
    return value
