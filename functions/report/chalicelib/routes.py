"""The REST API's routes: each parses HTTP, calls the shared package, and returns JSON (docs/api.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint

from chalicelib.context import ROUTE_AUTH, caller, handle_errors, json_response, page_secret, state
from chalicelib.openapi import openapi_document
from contactlake import __version__
from contactlake.analyse.common import DIMENSIONS, GRAINS
from contactlake.config import AUDIENCES, PERIODS
from contactlake.report.api import (
    ApiError,
    check_centre,
    check_report_path,
    check_upload_name,
    choice,
    date_range,
    int_param,
    jsonable,
    paginate,
    parse_date,
    readable_scopes,
)
from contactlake.report.figures import analysis, uploads

__all__ = ["api"]

api = Blueprint(__name__)
View = Callable[..., Any]


def route(path: str, method: str, *, secured: bool = True) -> Callable[[View], View]:
    """Register a view on the blueprint with JSON errors and, unless public, the configured authorisation."""

    def register(view: View) -> View:
        wrapped = handle_errors(view)
        api.route(path, methods=[method], **(ROUTE_AUTH if secured else {}))(wrapped)
        return wrapped

    return register


_LINK_SECONDS = 900
_MAX_BODY = 4096
_QUEUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
_INTERVAL_GRAIN_MAX_DAYS = 31


def _params() -> dict[str, str]:
    return dict(api.current_request.query_params or {})


def _body() -> dict[str, Any]:
    raw = api.current_request.raw_body or b""
    if len(raw) > _MAX_BODY:
        raise ApiError(400, "body_too_large", f"the JSON body must be under {_MAX_BODY} bytes")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ApiError(400, "bad_json", 'the body must be a JSON object, e.g. {"source": "acd"}') from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return body


def _centre(centre_id: str) -> Any:
    rt = state()
    check_centre(rt.config, caller(api.current_request), centre_id)
    return rt.config.centre(centre_id)


def _paged(rows: list[Any], query: str, **extra: Any) -> Any:
    page = paginate(rows, _params(), query, page_secret())
    return json_response(page.body(**extra))


def _query_id(centre_id: str, route: str, params: dict[str, str]) -> str:
    stable = {k: v for k, v in sorted(params.items()) if k not in ("next_token", "limit")}
    return json.dumps([centre_id, route, stable], sort_keys=True)


@route("/health", "GET", secured=False)
def health() -> Any:
    return json_response({"status": "ok", "version": __version__})


@route("/openapi.json", "GET", secured=False)
def openapi() -> Any:
    return json_response(openapi_document(__version__))


@route("/centres", "GET")
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


@route("/centres/{centre_id}/kpis", "GET")
def kpis(centre_id: str) -> Any:
    centre = _centre(centre_id)
    params = _params()
    grain = choice(params.get("grain"), GRAINS, "grain", default="day")
    dimension = choice(params.get("dimension"), DIMENSIONS, "dimension", default="none")
    max_days = _INTERVAL_GRAIN_MAX_DAYS if grain.endswith("min") else 366
    start, end = date_range(params, max_days)
    filters = {}
    for name in ("queue", "channel"):
        value = params.get(name)
        if value:
            if not _QUEUE.fullmatch(value):
                raise ApiError(
                    400, "bad_parameter", f"{name} may hold letters, digits, space, '.', '_' or '-'"
                )
            filters[name] = value
    table = analysis("kpis")(state().ports, centre, grain, start, end, dimension=dimension, **filters)
    return _paged(
        jsonable(table),
        _query_id(centre_id, "kpis", params),
        centre_id=centre_id,
        grain=grain,
        dimension=dimension,
        date_from=str(start),
        date_to=str(end),
    )


@route("/centres/{centre_id}/trends", "GET")
def trends(centre_id: str) -> Any:
    centre = _centre(centre_id)
    start, end = date_range(_params(), 2 * 366)
    report = analysis("trends")(state().ports, centre, start, end)
    return json_response(
        {"centre_id": centre_id, "date_from": str(start), "date_to": str(end), **_as_dict(report)}
    )


@route("/centres/{centre_id}/pathways", "GET")
def pathways(centre_id: str) -> Any:
    centre = _centre(centre_id)
    params = _params()
    start, end = date_range(params, 92)
    top = int_param(params.get("top"), "top", 10, 1, 50)
    report = analysis("pathways")(state().ports, centre, start, end, top=top)
    return json_response(
        {"centre_id": centre_id, "date_from": str(start), "date_to": str(end), **_as_dict(report)}
    )


@route("/centres/{centre_id}/staffing", "GET")
def staffing(centre_id: str) -> Any:
    centre = _centre(centre_id)
    params = _params()
    start, end = date_range(params, _INTERVAL_GRAIN_MAX_DAYS)
    table = analysis("staffing")(state().ports, centre, start, end)
    return _paged(
        jsonable(table),
        _query_id(centre_id, "staffing", params),
        centre_id=centre_id,
        date_from=str(start),
        date_to=str(end),
    )


@route("/centres/{centre_id}/data-quality", "GET")
def data_quality(centre_id: str) -> Any:
    centre = _centre(centre_id)
    params = _params()
    start, end = date_range(params, 366)
    table = analysis("data_quality")(state().ports, centre, start, end)
    return _paged(
        jsonable(table),
        _query_id(centre_id, "data-quality", params),
        centre_id=centre_id,
        date_from=str(start),
        date_to=str(end),
    )


@route("/centres/{centre_id}/uploads", "GET")
def list_uploads(centre_id: str) -> Any:
    _centre(centre_id)
    params = _params()
    start, end = date_range(params, 366)
    table = uploads(state().ports, centre_id, start.isoformat(), end.isoformat())
    return _paged(
        jsonable(table),
        _query_id(centre_id, "uploads", params),
        centre_id=centre_id,
        date_from=str(start),
        date_to=str(end),
    )


@route("/centres/{centre_id}/upload-url", "POST")
def upload_url(centre_id: str) -> Any:
    centre = _centre(centre_id)
    body = _body()
    sources = [s.name for s in centre.sources]
    source = choice(_text(body, "source"), sources, "source")
    filename = check_upload_name(_text(body, "filename") or "")
    key = f"{centre_id}/{source}/{filename}"
    url = state().ports.store.presigned_url("raw", key, _LINK_SECONDS, "PUT")
    return json_response({"method": "PUT", "url": url, "key": key, "expires_in": _LINK_SECONDS}, 201)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "bad_parameter", f"{name} must be a string")
    return value


def _as_dict(value: Any) -> dict[str, Any]:
    data = jsonable(value)
    return data if isinstance(data, dict) else {"items": data}


def _combined_scopes() -> list[str]:
    """Scopes of multi-centre reports that are neither one centre nor all of them ("north+south")."""
    config = state().config
    scopes = set()
    for stakeholder in config.stakeholders:
        if len(stakeholder.centres) > 1 and set(stakeholder.centres) != set(config.centres):
            scopes.add("+".join(stakeholder.centres))
    return sorted(scopes)


@route("/reports", "GET")
def list_reports() -> Any:
    rt = state()
    who = caller(api.current_request)
    params = _params()
    audience = choice(params["audience"], AUDIENCES, "audience") if params.get("audience") else None
    period = choice(params["period"], PERIODS, "period") if params.get("period") else None
    wanted = params.get("centre")
    scopes = readable_scopes(rt.config, who)
    scopes += [s for s in _combined_scopes() if all(who.may_read(c) for c in s.split("+"))]
    if wanted:
        if wanted not in scopes:
            check_centre(rt.config, who, wanted)
        scopes = [wanted]
    items = []
    for scope in scopes:
        for info in rt.ports.store.list("reports", f"{scope}/"):
            parts = info.key.split("/")
            if len(parts) != 4 or (audience and parts[1] != audience) or (period and parts[2] != period):
                continue
            name = parts[3]
            items.append(
                {
                    "key": info.key,
                    "centre": parts[0],
                    "audience": parts[1],
                    "period": parts[2],
                    "date": name[:10],
                    "format": name.split(".", 1)[1] if "." in name else "",
                    "size": info.size,
                    "download": f"/reports/{info.key}",
                }
            )
    items.sort(key=lambda item: (item["date"], item["key"]), reverse=True)
    return _paged(items, json.dumps(["reports", who.name, audience, period, wanted]))


@route("/reports", "POST")
def generate() -> Any:
    from contactlake.report.audiences import COMBINED_AUDIENCES
    from contactlake.report.build import generate_report

    rt = state()
    who = caller(api.current_request)
    body = _body()
    audience = choice(_text(body, "audience"), AUDIENCES, "audience")
    period = choice(_text(body, "period"), PERIODS, "period")
    as_of = parse_date(_text(body, "as_of"), "as_of")
    requested = body.get("centres", [body["centre"]] if "centre" in body else None)
    if requested is None:
        if audience not in COMBINED_AUDIENCES:
            raise ApiError(400, "missing_parameter", f"centre is required for a {audience} report")
        requested = [c for c in sorted(rt.config.centres) if who.may_read(c)]
    if not isinstance(requested, list) or not all(isinstance(c, str) for c in requested) or not requested:
        raise ApiError(400, "bad_parameter", "centres must be a non-empty list of centre ids")
    for centre_id in requested:
        check_centre(rt.config, who, centre_id)
    if audience not in COMBINED_AUDIENCES and len(requested) != 1:
        raise ApiError(400, "bad_parameter", f"a {audience} report covers one centre; give one centre")
    queues = body.get("queues", [])
    if (
        not isinstance(queues, list)
        or len(queues) > 20
        or not all(isinstance(q, str) and _QUEUE.fullmatch(q) for q in queues)
    ):
        raise ApiError(400, "bad_parameter", "queues must be a list of up to 20 queue names")
    result = generate_report(
        rt.ports,
        rt.config,
        rt.settings,
        audience=audience,
        period=period,
        as_of=as_of,
        centre_ids=sorted(requested),
        queues=queues,
    )
    payload = jsonable(result)
    payload["downloads"] = [f"/reports/{key}" for key in result.keys]
    return json_response(payload, 201 if result.status != "failed" else 500)


@route("/reports/{scope}/{audience}/{period}/{filename}", "GET")
def download(scope: str, audience: str, period: str, filename: str) -> Any:
    rt = state()
    who = caller(api.current_request)
    key = check_report_path(rt.config, who, scope, audience, period, filename)
    if not rt.ports.store.exists("reports", key):
        raise ApiError(404, "not_found", f"no report {key}; GET /reports lists what exists")
    url = rt.ports.store.presigned_url("reports", key, _LINK_SECONDS, "GET")
    return json_response({"key": key, "url": url, "expires_in": _LINK_SECONDS})
