"""The API's OpenAPI 3.0 document, generated from the app's route table (served at ``/openapi.json``).

Each route declares its operation where it is registered (:func:`contactlake.api.routes.route` stores it
on the view); :func:`document` walks Chalice's route table, so a route cannot exist undocumented and the
document cannot list a route the app does not have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contactlake.analyse.common import DIMENSIONS, GRAINS
from contactlake.config import AUDIENCES, PERIODS

__all__ = [
    "CENTRE",
    "DIMENSION",
    "GRAIN",
    "OPERATION_ATTRIBUTE",
    "PAGE",
    "RANGE",
    "REPORT_REQUEST",
    "UPLOAD_REQUEST",
    "document",
    "operation",
    "path_param",
    "query_param",
]

#: Attribute of a view function that holds its OpenAPI operation.
OPERATION_ATTRIBUTE = "openapi_operation"


def _parameter(where: str, name: str, description: str, required: bool, schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def query_param(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
    return _parameter("query", name, description, required, schema)


def path_param(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return _parameter("path", name, description, True, schema)


CENTRE = path_param("centre_id", "A centre id from GET /centres.", pattern="^[a-z][a-z0-9_-]{1,31}$")
RANGE = (
    query_param("from", "First local day, ISO date.", True, format="date"),
    query_param("to", "Last local day, ISO date (default: from).", format="date"),
)
PAGE = (
    query_param("limit", "Items per page, 1-1000 (default 100).", pattern="^[0-9]+$"),
    query_param("next_token", "The next_token of the previous page."),
)
GRAIN = query_param("grain", "Time grain (default day).", enum=list(GRAINS))
DIMENSION = query_param("dimension", "Split by (default none).", enum=list(DIMENSIONS))
REPORT_REQUEST = {
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
UPLOAD_REQUEST = {
    "type": "object",
    "required": ["source", "filename"],
    "properties": {
        "source": {"type": "string"},
        "filename": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"},
    },
}

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
    )
}


def operation(
    summary: str,
    parameters: Sequence[dict[str, Any]],
    ok: str,
    *,
    secured: bool = True,
    status: int = 200,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One operation: its summary, parameters, success response and (if secured) the error responses."""
    result: dict[str, Any] = {
        "summary": summary,
        "parameters": list(parameters),
        "responses": {
            str(status): {
                "description": ok,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **(_ERRORS if secured else {}),
        },
    }
    if body is not None:
        result["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if not secured:
        result["security"] = []
    return result


def document(version: str, routes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The document for a Chalice route table (``app.routes``: path -> method -> RouteEntry).

    Security is SigV4 (IAM) by default, an x-api-key header in API-key mode.
    """
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in routes.items():
        for method, entry in methods.items():
            found = getattr(entry.view_function, OPERATION_ATTRIBUTE, None)
            if found is None:
                raise LookupError(f"{method} {path} declares no OpenAPI operation; register it with route()")
            paths.setdefault(path, {})[method.lower()] = found
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
        "paths": paths,
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
