"""The API's OpenAPI 3.0 document, served at ``/openapi.json`` (a test checks it matches the app's routes)."""

from __future__ import annotations

from typing import Any

from contactlake.analyse.common import DIMENSIONS, GRAINS
from contactlake.config import AUDIENCES, PERIODS

__all__ = ["openapi_document"]


def _query(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _path(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", **schema},
    }


_CENTRE = _path("centre_id", "A centre id from GET /centres.", pattern="^[a-z][a-z0-9_-]{1,31}$")
_RANGE = [
    _query("from", "First local day, ISO date.", True, format="date"),
    _query("to", "Last local day, ISO date (default: from).", format="date"),
]
_PAGE = [
    _query("limit", "Items per page, 1-1000 (default 100).", pattern="^[0-9]+$"),
    _query("next_token", "The next_token of the previous page."),
]
_ERRORS = {
    str(status): {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for status, text in (
        (400, "Invalid input; the message says which parameter and what is allowed."),
        (401, "No credentials (no SigV4 signature / no x-api-key)."),
        (403, "The caller may not read this centre (or is not a configured caller)."),
        (404, "Unknown centre or report."),
        (501, "The analysis behind this route is not available in this version."),
    )
}


def _op(
    summary: str,
    parameters: list[dict[str, Any]],
    ok: str,
    *,
    secured: bool = True,
    status: str = "200",
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": parameters,
        "responses": {
            status: {"description": ok, "content": {"application/json": {"schema": {"type": "object"}}}},
            **(_ERRORS if secured else {}),
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if not secured:
        operation["security"] = []
    return operation


def openapi_document(version: str) -> dict[str, Any]:
    """The document; security is SigV4 (IAM) by default, an x-api-key header in API-key mode."""
    report_request = {
        "type": "object",
        "required": ["audience", "period", "as_of"],
        "properties": {
            "audience": {"type": "string", "enum": list(AUDIENCES)},
            "period": {"type": "string", "enum": list(PERIODS)},
            "as_of": {"type": "string", "format": "date", "description": "Last local day covered."},
            "centre": {"type": "string"},
            "centres": {"type": "array", "items": {"type": "string"}},
            "queues": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
        },
    }
    upload_request = {
        "type": "object",
        "required": ["source", "filename"],
        "properties": {
            "source": {"type": "string"},
            "filename": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "contactlake API",
            "version": version,
            "description": "Contact-centre KPIs, trends, pathways, staffing, data quality and stakeholder "
            "reports. "
            "Every caller reads only its own centres. See docs/api.md.",
        },
        "security": [{"sigv4": []}, {"apiKey": []}],
        "paths": {
            "/health": {"get": _op("Liveness check.", [], "Service is up.", secured=False)},
            "/openapi.json": {"get": _op("This document.", [], "The OpenAPI document.", secured=False)},
            "/centres": {
                "get": _op("Centres the caller may read.", [], "Centres with time zone, SL policy, plan.")
            },
            "/centres/{centre_id}/kpis": {
                "get": _op(
                    "KPIs by grain, period, queue and channel.",
                    [
                        _CENTRE,
                        _query("grain", "Time grain (default day).", enum=list(GRAINS)),
                        _query("dimension", "Split by (default none).", enum=list(DIMENSIONS)),
                        _query("queue", "Only this queue."),
                        _query("channel", "Only this channel."),
                        *_RANGE,
                        *_PAGE,
                    ],
                    "One row per period (and dimension value).",
                )
            },
            "/centres/{centre_id}/trends": {
                "get": _op(
                    "Trend direction, significance, change and anomalies.",
                    [_CENTRE, *_RANGE],
                    "The trend report.",
                )
            },
            "/centres/{centre_id}/pathways": {
                "get": _op(
                    "Top contact pathways, drop-offs and loops.",
                    [
                        _CENTRE,
                        *_RANGE,
                        _query("top", "How many paths (1-50, default 10).", pattern="^[0-9]+$"),
                    ],
                    "The pathway report with Sankey nodes and links.",
                )
            },
            "/centres/{centre_id}/staffing": {
                "get": _op(
                    "Erlang C/A requirement vs staffed agents per interval.",
                    [_CENTRE, *_RANGE, *_PAGE],
                    "Interval rows.",
                )
            },
            "/centres/{centre_id}/data-quality": {
                "get": _op(
                    "Data-quality scorecard per day and upload.",
                    [_CENTRE, *_RANGE, *_PAGE],
                    "Scorecard rows.",
                )
            },
            "/centres/{centre_id}/uploads": {
                "get": _op(
                    "Uploads recorded for the business days.", [_CENTRE, *_RANGE, *_PAGE], "Upload rows."
                )
            },
            "/centres/{centre_id}/upload-url": {
                "post": _op(
                    "A pre-signed PUT URL for a centre's export.",
                    [_CENTRE],
                    "URL, key and expiry.",
                    status="201",
                    body=upload_request,
                )
            },
            "/reports": {
                "get": _op(
                    "Stored reports the caller may read, newest first.",
                    [
                        _query("centre", "Only this scope (centre id or 'all')."),
                        _query("audience", "Only this audience.", enum=list(AUDIENCES)),
                        _query("period", "Only this period.", enum=list(PERIODS)),
                        *_PAGE,
                    ],
                    "Report files.",
                ),
                "post": _op(
                    "Build and store a report now (not e-mailed).",
                    [],
                    "The result with its keys.",
                    status="201",
                    body=report_request,
                ),
            },
            "/reports/{scope}/{audience}/{period}/{filename}": {
                "get": _op(
                    "A pre-signed download URL.",
                    [
                        _path("scope", "Centre id, 'all' or 'a+b'."),
                        _path("audience", "Audience.", enum=list(AUDIENCES)),
                        _path("period", "Period.", enum=list(PERIODS)),
                        _path("filename", "e.g. 2026-11-15.pdf"),
                    ],
                    "URL valid for 15 minutes.",
                )
            },
        },
        "components": {
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "AWS Signature Version 4 (IAM authorisation, the default).",
                },
                "apiKey": {
                    "type": "apiKey",
                    "name": "x-api-key",
                    "in": "header",
                    "description": "API-key mode (CONTACTLAKE_API_AUTH=api_key; `contactlake serve`).",
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "status": {"type": "integer"},
                            },
                        }
                    },
                }
            },
        },
    }
