"""The REST API's routes (docs/api.md): each parses the request, calls one domain function and shapes the
JSON answer. The rules they apply live beside them (:mod:`~contactlake.api.access`,
:mod:`~contactlake.api.params`, :mod:`~contactlake.api.pages`); the figures come straight from
:mod:`contactlake.analyse`.

Every route is registered with :func:`route`, which adds the JSON error handling, the deployed
authorisation and the route's OpenAPI operation (the document is generated from the route table).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from chalice.app import Blueprint

from contactlake import __version__
from contactlake.analyse.common import DIMENSIONS, GRAINS
from contactlake.analyse.pathways import pathways as pathway_report
from contactlake.analyse.quality import data_quality as quality_scorecard
from contactlake.analyse.queries import kpis as kpi_table
from contactlake.analyse.queries import staffing as staffing_table
from contactlake.analyse.trends import trends as trend_report
from contactlake.api import openapi
from contactlake.api.access import check_centre, check_report_path
from contactlake.api.context import ROUTE_AUTH, caller, handle_errors, json_response, page_secret, state
from contactlake.api.errors import ApiError
from contactlake.api.openapi import CENTRE, PAGE, RANGE, path_param, query_param
from contactlake.api.pages import paginate, query_id
from contactlake.api.params import (
    check_queue,
    check_upload_name,
    choice,
    date_range,
    int_param,
    json_body,
    text_field,
)
from contactlake.api.reports import report_request, stored_reports
from contactlake.api.shapes import as_object, jsonable, rows
from contactlake.config import AUDIENCES, PERIODS, CentreConfig
from contactlake.report.figures import uploads

__all__ = ["api", "route"]

api = Blueprint(__name__)
View = Callable[..., Any]

_LINK_SECONDS = 900
_INTERVAL_GRAIN_MAX_DAYS = 31


def route(
    path: str,
    method: str,
    summary: str,
    parameters: Sequence[dict[str, Any]],
    ok: str,
    *,
    secured: bool = True,
    **response: Any,
) -> Callable[[View], View]:
    """Register a view with JSON errors, the configured authorisation (unless public) and its OpenAPI
    operation (``response``: the success ``schema``, ``status`` and request ``body`` of
    :func:`openapi.operation`)."""

    def register(view: View) -> View:
        wrapped = handle_errors(view)
        operation = openapi.operation(summary, parameters, ok, secured=secured, **response)
        setattr(wrapped, openapi.OPERATION_ATTRIBUTE, operation)
        api.route(path, methods=[method], **(ROUTE_AUTH if secured else {}))(wrapped)
        return wrapped

    return register


def _params() -> dict[str, str]:
    return dict(api.current_request.query_params or {})


def _body() -> dict[str, Any]:
    return json_body(api.current_request.raw_body)


def _centre(centre_id: str, action: str = "read") -> CentreConfig:
    rt = state()
    check_centre(rt.config, caller(api.current_request, action), centre_id)
    return rt.config.centre(centre_id)


def _range(centre: CentreConfig, max_days: int) -> tuple[date, date]:
    """The request's ``from``/``to``; ``to`` defaults to today in the centre's time zone."""
    return date_range(_params(), datetime.now(centre.zone).date(), max_days)


def _paged(rows: list[Any], query: str, **extra: Any) -> Any:
    page = paginate(rows, _params(), query, page_secret())
    return json_response(page.body(**extra))


def _centre_page(centre_id: str, name: str, table: Any, start: date, end: date, **extra: Any) -> Any:
    """One page of a centre's rows for ``from``..``to``, its token bound to route ``name`` and the query."""
    return _paged(
        rows(table),
        query_id(centre_id, name, _params()),
        centre_id=centre_id,
        **extra,
        date_from=str(start),
        date_to=str(end),
    )


@route("/health", "GET", "Liveness check.", [], "Service is up.", schema="Health", secured=False)
def health() -> Any:
    return json_response({"status": "ok", "version": __version__})


@route(
    "/openapi.json",
    "GET",
    "This document.",
    [],
    "The OpenAPI document.",
    schema="OpenApiDocument",
    secured=False,
)
def openapi_json() -> Any:
    return json_response(openapi.document(__version__, api.current_app.routes))


@route(
    "/centres",
    "GET",
    "Centres the caller may read.",
    [],
    "Centres with time zone, SL policy, plan.",
    schema="Centres",
)
def centres() -> Any:
    rt = state()
    who = caller(api.current_request)
    rows = [
        {
            "centre_id": c.centre_id,
            "name": c.name,
            "timezone": c.timezone,
            "service_level": jsonable(c.service_level),
            "plan": jsonable(c.plan),
            "sources": [s.name for s in c.sources],
        }
        for c in sorted(rt.config.centres.values(), key=lambda c: c.centre_id)
        if who.may_read(c.centre_id)
    ]
    return json_response({"caller": who.name, "items": rows, "count": len(rows)})


@route(
    "/centres/{centre_id}/kpis",
    "GET",
    "KPIs by grain, period, queue and channel.",
    [
        CENTRE,
        openapi.GRAIN,
        openapi.DIMENSION,
        query_param("queue", "Only this queue."),
        query_param("channel", "Only this channel."),
        *RANGE,
        *PAGE,
    ],
    "One row per period (and dimension value); for one day at grain=day also `service_level_presets`: "
    "the day's service level per queue under every definition (abandons ignored / as failures / as met / "
    "short abandons excluded), at each threshold the centre may be compared on (its own, 20 s and the other "
    "configured centres').",
    schema="Kpis",
)
def kpis(centre_id: str) -> Any:
    centre = _centre(centre_id)
    params = _params()
    grain = choice(params.get("grain"), GRAINS, "grain", default="day")
    dimension = choice(params.get("dimension"), DIMENSIONS, "dimension", default="none")
    max_days = _INTERVAL_GRAIN_MAX_DAYS if grain.endswith("min") else 366
    start, end = _range(centre, max_days)
    filters = {name: check_queue(params[name], name) for name in ("queue", "channel") if params.get(name)}
    table = kpi_table(state().ports, centre, grain, start, end, dimension=dimension, **filters)
    extra = {}
    if grain == "day" and start == end:  # one (queue-)day: its service level under every definition
        from contactlake.analyse.presets import comparison_thresholds, service_level_presets

        thresholds = comparison_thresholds(state().config, centre)
        presets = service_level_presets(state().ports, centre, start, end, filters.get("queue"), thresholds)
        extra["service_level_presets"] = jsonable(presets)
    return _centre_page(centre_id, "kpis", table, start, end, grain=grain, dimension=dimension, **extra)


@route(
    "/centres/{centre_id}/trends",
    "GET",
    "Trend direction, significance, change and anomalies.",
    [CENTRE, *RANGE],
    "The trend report.",
    schema="Trends",
)
def trends(centre_id: str) -> Any:
    centre = _centre(centre_id)
    start, end = _range(centre, 2 * 366)
    report = trend_report(state().ports, centre, start, end)
    return json_response(
        {"centre_id": centre_id, "date_from": str(start), "date_to": str(end), **as_object(report)}
    )


@route(
    "/centres/{centre_id}/pathways",
    "GET",
    "Top contact pathways, drop-offs and loops.",
    [CENTRE, *RANGE, query_param("top", "How many paths (1-50, default 10).", pattern="^[0-9]+$")],
    "The pathway report with Sankey nodes and links.",
    schema="Pathways",
)
def pathways(centre_id: str) -> Any:
    centre = _centre(centre_id)
    params = _params()
    start, end = _range(centre, 92)
    top = int_param(params.get("top"), "top", 10, 1, 50)
    report = pathway_report(state().ports, centre, start, end, top=top)
    return json_response(
        {"centre_id": centre_id, "date_from": str(start), "date_to": str(end), **as_object(report)}
    )


@route(
    "/centres/{centre_id}/staffing",
    "GET",
    "Erlang C/A requirement vs staffed agents per interval.",
    [CENTRE, *RANGE, *PAGE],
    "Interval rows.",
    schema="Staffing",
)
def staffing(centre_id: str) -> Any:
    centre = _centre(centre_id)
    start, end = _range(centre, _INTERVAL_GRAIN_MAX_DAYS)
    table = staffing_table(state().ports, centre, start, end)
    return _centre_page(centre_id, "staffing", table, start, end)


@route(
    "/centres/{centre_id}/data-quality",
    "GET",
    "Data-quality scorecard per day and upload.",
    [CENTRE, *RANGE, *PAGE],
    "Scorecard rows.",
    schema="DataQuality",
)
def data_quality(centre_id: str) -> Any:
    centre = _centre(centre_id)
    start, end = _range(centre, 366)
    table = quality_scorecard(state().ports, centre, start, end)
    return _centre_page(centre_id, "data-quality", table, start, end)


@route(
    "/centres/{centre_id}/uploads",
    "GET",
    "Uploads recorded for the business days.",
    [CENTRE, *RANGE, *PAGE],
    "Upload rows.",
    schema="Uploads",
)
def list_uploads(centre_id: str) -> Any:
    start, end = _range(_centre(centre_id), 366)
    table = uploads(state().ports, centre_id, start.isoformat(), end.isoformat())
    return _centre_page(centre_id, "uploads", table, start, end)


@route(
    "/centres/{centre_id}/upload-url",
    "POST",
    "A pre-signed PUT URL for a centre's export.",
    [CENTRE],
    "URL, key and expiry.",
    schema="UploadUrl",
    status=201,
    body=openapi.UPLOAD_REQUEST,
)
def upload_url(centre_id: str) -> Any:
    centre = _centre(centre_id, "upload")
    body = _body()
    sources = [s.name for s in centre.sources]
    source = choice(text_field(body, "source"), sources, "source")
    filename = check_upload_name(text_field(body, "filename") or "")
    key = f"{centre_id}/{source}/{filename}"
    url = state().ports.store.presigned_url("raw", key, _LINK_SECONDS, "PUT")
    return json_response({"method": "PUT", "url": url, "key": key, "expires_in": _LINK_SECONDS}, 201)


@route(
    "/reports",
    "GET",
    "Stored reports the caller may read, newest first.",
    [
        query_param("centre", "Only this scope (centre id or 'all')."),
        query_param("audience", "Only this audience.", enum=list(AUDIENCES)),
        query_param("period", "Only this period.", enum=list(PERIODS)),
        *PAGE,
    ],
    "Report files.",
    schema="Reports",
)
def list_reports() -> Any:
    rt = state()
    who = caller(api.current_request)
    params = _params()
    audience = choice(params["audience"], AUDIENCES, "audience") if params.get("audience") else None
    period = choice(params["period"], PERIODS, "period") if params.get("period") else None
    wanted = params.get("centre")
    items = stored_reports(rt.ports.store, rt.config, who, audience, period, wanted)
    return _paged(items, json.dumps(["reports", who.name, audience, period, wanted]))


@route(
    "/reports",
    "POST",
    "Build and store a report now (not e-mailed).",
    [],
    "The result with its keys.",
    schema="ReportResult",
    status=201,
    body=openapi.REPORT_REQUEST,
)
def generate() -> Any:
    # The report builders (charts, PDF, XLSX) load only on this route, not at every cold start.
    from contactlake.report.audiences import COMBINED_AUDIENCES
    from contactlake.report.build import generate_report

    rt = state()
    request = report_request(rt.config, caller(api.current_request, "admin"), _body(), COMBINED_AUDIENCES)
    result = generate_report(
        rt.ports,
        rt.config,
        rt.settings,
        audience=request.audience,
        period=request.period,
        as_of=request.as_of,
        centre_ids=request.centre_ids,
        queues=request.queues,
    )
    payload = jsonable(result)
    payload["downloads"] = [f"/reports/{key}" for key in result.keys]
    return json_response(payload, 201 if result.status != "failed" else 500)


@route(
    "/reports/{scope}/{audience}/{period}/{filename}",
    "GET",
    "A pre-signed download URL.",
    [
        path_param("scope", "Centre id, 'all' or 'a+b'."),
        path_param("audience", "Audience.", enum=list(AUDIENCES)),
        path_param("period", "Period.", enum=list(PERIODS)),
        path_param("filename", "e.g. 2026-11-15.pdf"),
    ],
    "URL valid for 15 minutes.",
    schema="Download",
)
def download(scope: str, audience: str, period: str, filename: str) -> Any:
    rt = state()
    who = caller(api.current_request)
    key = check_report_path(rt.config, who, scope, audience, period, filename)
    if not rt.ports.store.exists("reports", key):
        raise ApiError(404, "not_found", f"no report {key}; GET /reports lists what exists")
    url = rt.ports.store.presigned_url("reports", key, _LINK_SECONDS, "GET")
    return json_response({"key": key, "url": url, "expires_in": _LINK_SECONDS})
