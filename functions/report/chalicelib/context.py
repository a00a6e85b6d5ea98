"""Per-container state of the API and the glue between Chalice requests and :mod:`contactlake.report.api`.

The runtime (settings, configuration, ports — local or AWS by ``CONTACTLAKE_MODE``) is built once per
container, on the first request, not at import: ``chalice package`` imports app.py without any of it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from chalice.app import IAMAuthorizer, Response

from contactlake.config import ApiCaller
from contactlake.report.api import ApiError, AuthMode, resolve_caller
from contactlake.report.figures import AnalysisUnavailable
from contactlake.runtime import Runtime, runtime

__all__ = ["ROUTE_AUTH", "auth_mode", "caller", "handle_errors", "json_response", "page_secret", "state"]

logger = logging.getLogger("contactlake.api")


def _route_auth() -> dict[str, Any]:
    """Route options fixed at import (they become API Gateway settings): IAM unless API keys are chosen."""
    if os.environ.get("CONTACTLAKE_API_AUTH") == "api_key":
        return {"api_key_required": True}
    return {"authorizer": IAMAuthorizer()}


ROUTE_AUTH = _route_auth()
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def state() -> Runtime:
    return runtime()


def auth_mode() -> AuthMode:
    """``CONTACTLAKE_API_AUTH``, else IAM on AWS and API keys locally (``contactlake serve``)."""
    configured = os.environ.get("CONTACTLAKE_API_AUTH")
    if configured in ("iam", "api_key"):
        return configured  # type: ignore[return-value]
    return "iam" if state().settings.mode == "aws" else "api_key"


def caller(request: Any) -> ApiCaller:
    identity = (request.context or {}).get("identity") or {}
    return resolve_caller(state().config, auth_mode(), identity, dict(request.headers or {}))


def page_secret() -> bytes:
    """Pagination tokens are signed with a key derived from the deployment's secret."""
    return hmac.new(state().settings.pii_key, b"contactlake-api-pagination", hashlib.sha256).digest()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": "application/json", **_HEADERS, **(headers or {})},
    )


def handle_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Every failure becomes a JSON error; unexpected ones are logged and answered without internals."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ApiError as error:
            return json_response(error.body(), error.status)
        except AnalysisUnavailable as error:
            return json_response(ApiError(501, "not_implemented", str(error)).body(), 501)
        except Exception:
            logger.exception("unhandled error in %s", view.__name__)
            body = ApiError(
                500, "internal_error", "the request failed on the server; it has been logged"
            ).body()
            return json_response(body, 500)

    return wrapper
