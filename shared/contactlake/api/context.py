"""What a route needs from the request and the container: the runtime, the caller, JSON responses, errors.

The runtime (settings, configuration, ports — local or AWS by ``CONTACTLAKE_MODE``) is built once per
container, on the first request, not at import: importing the app (tests, ``contactlake serve``) needs
none of it. Route options are fixed at import because they describe the deployed API.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from chalice.app import IAMAuthorizer, Request, Response

from contactlake.api import access, pages
from contactlake.api.errors import ApiError, code_for_status
from contactlake.config import ApiCaller
from contactlake.runtime import Runtime, for_run, runtime

__all__ = [
    "ROUTE_AUTH",
    "caller",
    "handle_errors",
    "json_response",
    "page_secret",
    "state",
    "uniform_errors",
]

logger = logging.getLogger("contactlake.api")


def _route_auth() -> dict[str, Any]:
    """IAM unless API keys are chosen (``CONTACTLAKE_API_AUTH=api_key`` when the app is imported)."""
    if os.environ.get("CONTACTLAKE_API_AUTH") == "api_key":
        return {"api_key_required": True}
    return {"authorizer": IAMAuthorizer()}


ROUTE_AUTH = _route_auth()
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


#: The runtime of the request being answered, scoped on first use (:func:`state`); set per view call.
_request_runtime: ContextVar[dict[str, Runtime] | None] = ContextVar("request_runtime", default=None)


def state() -> Runtime:
    """The container's runtime with its query engine scoped to the current request
    (:func:`contactlake.runtime.for_run`): the Athena scan budget is one request's, and the engine's
    record of bytes scanned does not grow across warm requests. Outside a view: the container's own."""
    scoped = _request_runtime.get()
    if scoped is None:
        return runtime()
    if "rt" not in scoped:
        scoped["rt"] = for_run(runtime(), uuid.uuid4().hex)
    return scoped["rt"]


def caller(request: Request, action: str = "read") -> ApiCaller:
    """The configured caller of this request, allowed ``action`` (read, upload or admin); 401/403
    otherwise, by the deployment's auth mode."""
    rt = state()
    mode = access.auth_mode(os.environ.get("CONTACTLAKE_API_AUTH"), rt.settings.mode)
    identity = (request.context or {}).get("identity") or {}
    who = access.resolve_caller(rt.config, mode, identity, dict(request.headers or {}))
    return access.check_action(who, action)


@functools.cache
def _process_token_key() -> bytes:
    """Locally, without ``CONTACTLAKE_API_TOKEN_KEY``: a key of this process (tokens end with it)."""
    return os.urandom(32)


def page_secret() -> bytes:
    """The API's own page-token key: never the pseudonymisation key (the API does not hash callers)."""
    settings = state().settings
    if settings.api_token_key:
        return pages.page_secret(settings.api_token_key)
    if settings.mode == "aws":
        raise ApiError(
            500, "misconfigured", "the API has no page-token key; set CONTACTLAKE_API_TOKEN_KEY_PARAM"
        )
    return pages.page_secret(_process_token_key())


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": "application/json", **_HEADERS, **(headers or {})},
    )


def handle_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Every failure becomes a JSON error; unexpected ones are logged and answered without internals.

    Each call is one request: :func:`state` scopes the runtime's query engine to it.

    A view wrapper, not Chalice middleware: Chalice turns any exception but ``ChaliceUnhandledError`` into
    its own 500 body before middleware sees it, and the API promises one error shape (docs/api.md).
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request_scope = _request_runtime.set({})
        try:
            return view(*args, **kwargs)
        except ApiError as error:
            return json_response(error.body(), error.status)
        except Exception:
            logger.exception("unhandled error in %s", view.__name__)
            body = ApiError(
                500, "internal_error", "the request failed on the server; it has been logged"
            ).body()
            return json_response(body, 500)
        finally:
            _request_runtime.reset(request_scope)

    return wrapper


def uniform_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware: Chalice's own error answers (405 for a wrong method, 415, a 500 outside a
    view), whose body is ``{"Code", "Message"}``, rewritten into the API's one error shape."""
    response = get_response(event)
    body = response.body
    if response.status_code < 400 or not (isinstance(body, dict) and {"Code", "Message"} <= set(body)):
        return response
    status = response.status_code
    headers = {
        k: v if isinstance(v, str) else ", ".join(v)
        for k, v in (response.headers or {}).items()
        if k.lower() != "content-type"
    }
    if status == 405:
        allowed = headers.get("Allow", "")
        message = f"{event.method} is not allowed on {event.path}; use {allowed or 'another method'}"
    elif status >= 500:
        message = "the request failed on the server; it has been logged"
        logger.error("Chalice answered %s: %s", status, body)
    else:
        message = str(body["Message"])
    return json_response(ApiError(status, code_for_status(status), message).body(), status, headers)
