"""Pagination: ``limit`` (1-1000) and an opaque ``next_token`` that is HMAC-signed and bound to the query
it came from, so it cannot be forged or replayed against another centre or range."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from contactlake.api.errors import ApiError
from contactlake.api.params import int_param

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "page_secret", "paginate", "query_id"]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


@dataclasses.dataclass(frozen=True)
class Page:
    items: list[Any]
    next_token: str | None

    def body(self, **extra: Any) -> dict[str, Any]:
        return {**extra, "items": self.items, "count": len(self.items), "next_token": self.next_token}


def page_secret(deployment_secret: bytes) -> bytes:
    """Tokens are signed with a key derived from the API's own secret (``CONTACTLAKE_API_TOKEN_KEY``)."""
    return hmac.new(deployment_secret, b"contactlake-api-pagination", hashlib.sha256).digest()


def query_id(centre_id: str, route: str, params: Mapping[str, str]) -> str:
    """What a token is bound to: the centre, the route and every parameter but the paging ones."""
    stable = {k: v for k, v in sorted(params.items()) if k not in ("next_token", "limit")}
    return json.dumps([centre_id, route, stable], sort_keys=True)


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
