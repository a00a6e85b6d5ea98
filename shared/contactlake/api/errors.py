"""The API's one error shape: ``{"error": {"code", "message", "status"}}`` for every status.

Routes raise :class:`ApiError`; Chalice's own answers (wrong method, unsupported media type, an error
outside a view) are rewritten into the same shape by :func:`contactlake.api.context.uniform_errors`;
``contactlake serve`` answers unknown paths with it; on AWS, API Gateway answers the requests it refuses
before the function (unknown paths, missing or bad signatures, throttling) from the GatewayResponses of
template.yaml, which a test keeps equal to :data:`GATEWAY_RESPONSES`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GATEWAY_RESPONSES", "ApiError", "code_for_status", "gateway_template"]


class ApiError(Exception):
    """An error with its HTTP status, a stable code and a message saying what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    504: "timeout",
}


def code_for_status(status: int) -> str:
    """The error code of a status when nothing more precise is known."""
    return _CODES.get(status, "client_error" if status < 500 else "server_error")


#: API Gateway's response types (the requests it answers itself) -> (status, code, message). The
#: message comes after API Gateway's own (``$context.error.message``). An unknown path and an unsigned
#: request look the same to API Gateway (MISSING_AUTHENTICATION_TOKEN), so its message names both.
GATEWAY_RESPONSES: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "no_route_or_unsigned",
        "no such route, or the request is not signed: check the method and path against /openapi.json "
        "and sign the request with AWS SigV4",
    ),
    "ACCESS_DENIED": (403, "forbidden", "this IAM principal may not invoke the API"),
    "INVALID_SIGNATURE": (403, "bad_signature", "the SigV4 signature does not match; sign the request again"),
    "EXPIRED_TOKEN": (403, "expired_token", "the credentials have expired; refresh them and sign again"),
    "UNAUTHORIZED": (401, "unauthenticated", "sign the request with AWS SigV4 (IAM authorisation)"),
    "BAD_REQUEST_BODY": (400, "bad_json", "the body must be a JSON object"),
    "BAD_REQUEST_PARAMETERS": (400, "bad_parameter", "check the parameters against /openapi.json"),
    "REQUEST_TOO_LARGE": (413, "request_too_large", "send a smaller request"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "unsupported_media_type", "send JSON (Content-Type: application/json)"),
    "THROTTLED": (429, "too_many_requests", "slow down and retry after a short wait"),
    "QUOTA_EXCEEDED": (429, "too_many_requests", "the usage quota is used up; retry later"),
    "INTEGRATION_FAILURE": (
        502,
        "bad_gateway",
        "the API function failed; retry, and report it if it persists",
    ),
    "INTEGRATION_TIMEOUT": (504, "timeout", "the request took too long; ask for a shorter date range"),
    "DEFAULT_4XX": (400, "bad_request", ""),
    "DEFAULT_5XX": (500, "internal_error", ""),
}


def gateway_template(response_type: str) -> str:
    """The body template of one GatewayResponse: the error shape, with API Gateway's own message
    (``$context.error.messageString``, already a quoted JSON string) where ours is empty."""
    import json

    status, code, message = GATEWAY_RESPONSES[response_type]
    text = json.dumps(message) if message else "$context.error.messageString"
    return f'{{"error": {{"code": "{code}", "message": {text}, "status": {status}}}}}'
