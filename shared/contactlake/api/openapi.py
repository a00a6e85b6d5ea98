"""The API's OpenAPI 3.1 document, generated from the app's route table (served at ``/openapi.json``).

Each route declares its operation where it is registered (:func:`contactlake.api.routes.route` stores it
on the view), with the schema of its success body; :func:`document` walks Chalice's route table, so a
route cannot exist undocumented and the document cannot list a route the app does not have. Every error
response has the one error shape (:class:`contactlake.api.errors.ApiError`). OpenAPI 3.1 schemas are JSON
Schema (2020-12), so a client can validate an answer with any JSON Schema library; the tests validate the
document with openapi-spec-validator and every route's real answers against their schemas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contactlake.analyse.common import DIMENSIONS, GRAINS
from contactlake.config import AUDIENCES, PERIODS
from contactlake.metrics import COUNTS, KPI_RATES, SL_VARIANTS

__all__ = [
    "CENTRE",
    "DIMENSION",
    "GRAIN",
    "OPERATION_ATTRIBUTE",
    "PAGE",
    "RANGE",
    "REPORT_REQUEST",
    "SCHEMAS",
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
    query_param(
        "to",
        "Last local day, ISO date (default: today in the centre's time zone, or the last day of the "
        "longest range allowed, whichever is earlier).",
        format="date",
    ),
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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: Sequence[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


def _optional(schema: dict[str, Any], **properties: Any) -> dict[str, Any]:
    """``schema`` with more properties that an answer may carry (not required)."""
    return {**schema, "properties": {**schema["properties"], **properties}}


def _list_of(item: Any) -> dict[str, Any]:
    return {"type": "array", "items": item}


_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_NUM = {"type": ["number", "null"], "description": "null when it cannot be computed (no contacts)."}
_OPT_STR, _OPT_INT = {"type": ["string", "null"]}, {"type": ["integer", "null"]}
_DATE = {"type": "string", "format": "date"}
_COUNT_MAP = {
    "type": "object",
    "additionalProperties": {"type": "integer"},
    "description": 'Rows per rule id, e.g. {"timestamp.invalid": 2}.',
}
_PAGED = {"count": _INT, "next_token": {**_OPT_STR, "description": "Pass as next_token for the next page."}}
_RANGE = {"centre_id": _STR, "date_from": _DATE, "date_to": _DATE}


def _paged(item: str, **extra: Any) -> dict[str, Any]:
    return _object(["items", "count", "next_token", *extra], **extra, items=_list_of(_ref(item)), **_PAGED)


#: The named schemas of the document (``components.schemas``): every answer's shape.
SCHEMAS: dict[str, Any] = {
    "Error": _object(
        ["error"],
        error=_object(
            ["code", "message", "status"],
            code={"type": "string", "description": "Stable, machine-readable, e.g. forbidden, bad_date."},
            message={"type": "string", "description": "What went wrong and what to do next."},
            status={"type": "integer", "description": "The HTTP status again."},
        ),
    ),
    "Health": _object(["status", "version"], status=_STR, version=_STR),
    "OpenApiDocument": {"type": "object", "required": ["openapi", "paths"]},
    "Centre": _object(
        ["centre_id", "name", "timezone", "service_level", "plan", "sources"],
        centre_id=_STR,
        name=_STR,
        timezone={"type": "string", "description": "IANA time zone of the centre's local days."},
        service_level=_object(
            ["threshold_seconds", "target", "variant"], threshold_seconds=_INT, target=_NUM, variant=_STR
        ),
        plan={"type": "object", "additionalProperties": _NUM},
        sources=_list_of(_STR),
    ),
    "Centres": _object(["caller", "items", "count"], caller=_STR, items=_list_of(_ref("Centre")), count=_INT),
    "KpiRow": _object(
        ["period_start", *(c.name for c in COUNTS if c.name in ("offered", "answered", "abandoned"))],
        period_start={"type": "string", "description": "ISO date, or date-time for minute grains."},
        queue=_STR,
        channel=_STR,
        agent_id=_STR,
        **{c.name: (_INT if c.type == "int64" else _NUM) for c in COUNTS},
        **{name: {**_NUM, "description": doc} for name, doc in KPI_RATES},
    ),
    "Kpis": _optional(
        _paged("KpiRow", **_RANGE, grain={"enum": list(GRAINS)}, dimension={"enum": list(DIMENSIONS)}),
        service_level_presets=_list_of(
            _object(
                ["queue", "variant", "label", "threshold_seconds", "numerator", "denominator"],
                queue=_STR,
                variant={"enum": list(SL_VARIANTS)},
                label=_STR,
                threshold_seconds=_INT,
                numerator={"type": "number"},
                denominator={"type": "number"},
                service_level=_NUM,
                is_centre_variant=_BOOL,
            )
        ),
    ),
    "Trends": _object(
        ["centre_id", "date_from", "date_to", "trends", "rates", "anomalies", "method"],
        **_RANGE,
        trends=_list_of(
            _object(
                ["measure", "direction", "days", "method"],
                measure=_STR,
                direction=_STR,
                p_value=_NUM,
                slope_per_week=_NUM,
                days=_INT,
                method=_STR,
            )
        ),
        week_over_week=_list_of({"type": "object"}),
        year_over_year={"type": ["object", "null"]},
        anomalies=_list_of({"type": "object"}),
        rates=_list_of(
            _object(
                ["measure", "successes", "trials", "rate", "claim_allowed"],
                measure=_STR,
                successes=_INT,
                trials=_INT,
                rate=_NUM,
                ci_low=_NUM,
                ci_high=_NUM,
                claim_allowed=_BOOL,
                method=_STR,
            )
        ),
        method=_STR,
    ),
    "Pathways": _object(
        ["centre_id", "date_from", "date_to", "contacts", "top_paths", "sankey_nodes", "sankey_links"],
        **_RANGE,
        contacts=_INT,
        top_paths=_list_of(
            _object(
                ["path", "contacts", "share"],
                path={"type": "string", "description": "Steps joined by ' > ', ending in outcome:<outcome>."},
                path_source=_STR,
                steps=_INT,
                contacts=_INT,
                share=_NUM,
                answered=_INT,
                abandoned=_INT,
                self_served=_INT,
                ivr_abandoned=_INT,
                avg_queue_seconds=_NUM,
                aht_seconds=_NUM,
                transfers=_INT,
                escalations=_INT,
            )
        ),
        drop_offs=_list_of(
            _object(["step", "reached"], step=_STR, reached=_INT, abandoned_after=_INT, drop_rate=_NUM)
        ),
        loops=_list_of({"type": "object"}),
        sankey_nodes=_list_of(_object(["id", "label"], id=_INT, label=_STR, depth=_INT)),
        sankey_links=_list_of(_object(["source", "target", "value"], source=_INT, target=_INT, value=_INT)),
        method=_STR,
    ),
    "StaffingRow": _object(
        ["interval_start", "offered", "required_erlang_c", "staffed_agents"],
        interval_start={"type": "string", "description": "Local date-time the 15-minute interval starts."},
        offered=_INT,
        answered=_INT,
        aht_seconds=_NUM,
        traffic_erlangs=_NUM,
        service_level=_NUM,
        required_erlang_c=_OPT_INT,
        erlang_c_service_level=_NUM,
        required_erlang_a=_OPT_INT,
        erlang_a_abandon_probability=_NUM,
        patience_seconds=_NUM,
        required_positions=_OPT_INT,
        staffed_agents=_NUM,
        agents_logged_in=_OPT_INT,
        gap=_NUM,
        occupancy=_NUM,
        method=_STR,
    ),
    "Staffing": _paged("StaffingRow", **_RANGE),
    "QualityRow": _object(
        ["day", "source", "status", "missing", "late"],
        day=_DATE,
        source=_STR,
        upload_id=_OPT_STR,
        status=_STR,
        rows_read=_OPT_INT,
        rows_stored=_OPT_INT,
        rows_quarantined=_OPT_INT,
        rows_excluded=_OPT_INT,
        quarantined_by_rule=_COUNT_MAP,
        excluded_by_rule=_COUNT_MAP,
        finished_local=_OPT_STR,
        arrived_local=_OPT_STR,
        deadline_local=_OPT_STR,
        late=_BOOL,
        missing=_BOOL,
        day_closed=_BOOL,
    ),
    "DataQuality": _paged("QualityRow", **_RANGE),
    "UploadRow": _object(
        ["upload_id", "source", "status", "rows_read", "rows_stored", "rows_quarantined"],
        upload_id=_STR,
        source=_STR,
        business_day=_DATE,
        source_system=_OPT_STR,
        source_key=_STR,
        status=_STR,
        rows_read=_INT,
        rows_stored=_INT,
        rows_quarantined=_INT,
        rows_excluded=_INT,
        quarantined_by_rule=_COUNT_MAP,
        started_utc=_OPT_STR,
        finished_utc=_OPT_STR,
    ),
    "Uploads": _paged("UploadRow", **_RANGE),
    "UploadUrl": _object(
        ["method", "url", "key", "expires_in"], method={"enum": ["PUT"]}, url=_STR, key=_STR, expires_in=_INT
    ),
    "ReportFile": _object(
        ["key", "centre", "audience", "period", "date", "format", "download"],
        key=_STR,
        centre=_STR,
        audience={"enum": list(AUDIENCES)},
        period={"enum": list(PERIODS)},
        date=_DATE,
        format=_STR,
        size=_INT,
        download={"type": "string", "description": "The path that returns a download URL."},
    ),
    "Reports": _paged("ReportFile"),
    "ReportResult": _object(
        ["audience", "period", "status", "keys", "downloads"],
        stakeholder=_STR,
        audience=_STR,
        centre_id=_STR,
        period=_STR,
        period_start=_DATE,
        period_end=_DATE,
        keys=_list_of(_STR),
        email=_OPT_STR,
        status=_STR,
        message=_STR,
        gaps=_list_of({}),
        downloads=_list_of(_STR),
    ),
    "Download": _object(["key", "url", "expires_in"], key=_STR, url=_STR, expires_in=_INT),
}

_ERRORS = {
    str(status): {
        "description": text,
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    for status, text in (
        (400, "Invalid input; the message says which parameter and what is allowed."),
        (401, "No credentials (no SigV4 signature / no x-api-key)."),
        (403, "Not a configured caller, or a centre outside the caller's scope (known or not)."),
        (404, "Unknown route, centre (for a caller that may read every centre) or report."),
        (405, "The route exists, but not with this method."),
        (429, "Too many requests (API Gateway's throttling)."),
        (500, "The request failed on the server; it has been logged."),
    )
}


def operation(
    summary: str,
    parameters: Sequence[dict[str, Any]],
    ok: str,
    *,
    schema: str,
    secured: bool = True,
    status: int = 200,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One operation: its summary, parameters, success response (``schema``: a name of
    :data:`SCHEMAS`) and every error response."""
    if schema not in SCHEMAS:
        raise KeyError(f"no schema {schema!r} in contactlake.api.openapi.SCHEMAS")
    errors = _ERRORS if secured else {k: v for k, v in _ERRORS.items() if k in ("404", "405", "429", "500")}
    result: dict[str, Any] = {
        "summary": summary,
        "parameters": list(parameters),
        "responses": {
            str(status): {"description": ok, "content": {"application/json": {"schema": _ref(schema)}}},
            **errors,
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
        "openapi": "3.1.0",
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
            "schemas": SCHEMAS,
        },
    }
