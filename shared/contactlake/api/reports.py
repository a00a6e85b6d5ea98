"""What the report routes accept and list: an on-demand report request, and the stored reports a caller
may read. Report keys are read through :mod:`contactlake.report.keys`, never split here."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from contactlake.api.access import check_audience, check_centre, may_see_audience, readable_scopes
from contactlake.api.errors import ApiError
from contactlake.api.params import QUEUE_NAME, choice, parse_date, text_field
from contactlake.config import AUDIENCES, PERIODS, ApiCaller, AppConfig
from contactlake.ports import ObjectStore
from contactlake.report.keys import parse_report_key, scope_centre_ids, scope_key

__all__ = ["ReportRequest", "report_request", "stored_reports"]

_MAX_QUEUES = 20


@dataclass(frozen=True)
class ReportRequest:
    audience: str
    period: str
    as_of: date
    centre_ids: list[str]
    queues: list[str]


def report_request(
    config: AppConfig, caller: ApiCaller, body: Mapping[str, Any], combined_audiences: Collection[str]
) -> ReportRequest:
    """A ``POST /reports`` body checked: audience, period, as_of, the centres (each readable by the caller;
    one unless the audience is combined, default every readable centre) and up to 20 queue names."""
    audience = check_audience(caller, choice(text_field(body, "audience"), AUDIENCES, "audience"))
    period = choice(text_field(body, "period"), PERIODS, "period")
    as_of = parse_date(text_field(body, "as_of"), "as_of")
    requested = body.get("centres", [body["centre"]] if "centre" in body else None)
    if requested is None:
        if audience not in combined_audiences:
            raise ApiError(400, "missing_parameter", f"centre is required for a {audience} report")
        requested = [c for c in sorted(config.centres) if caller.may_read(c)]
    if not isinstance(requested, list) or not all(isinstance(c, str) for c in requested) or not requested:
        raise ApiError(400, "bad_parameter", "centres must be a non-empty list of centre ids")
    for centre_id in requested:
        check_centre(config, caller, centre_id)
    if audience not in combined_audiences and len(requested) != 1:
        raise ApiError(400, "bad_parameter", f"a {audience} report covers one centre; give one centre")
    queues = body.get("queues", [])
    if (
        not isinstance(queues, list)
        or len(queues) > _MAX_QUEUES
        or not all(isinstance(q, str) and QUEUE_NAME.fullmatch(q) for q in queues)
    ):
        raise ApiError(400, "bad_parameter", f"queues must be a list of up to {_MAX_QUEUES} queue names")
    return ReportRequest(audience, period, as_of, sorted(requested), queues)


def _combined_scopes(config: AppConfig) -> list[str]:
    """Scopes of multi-centre reports that are neither one centre nor all of them ("north+south")."""
    scopes = set()
    for stakeholder in config.stakeholders:
        if len(stakeholder.centres) > 1 and set(stakeholder.centres) != set(config.centres):
            scopes.add(scope_key(stakeholder.centres, all_centres=False))
    return sorted(scopes)


def stored_reports(
    store: ObjectStore,
    config: AppConfig,
    caller: ApiCaller,
    audience: str | None,
    period: str | None,
    wanted: str | None,
) -> list[dict[str, Any]]:
    """Stored report files the caller may read (only scope ``wanted``, ``audience``, ``period`` if given),
    newest first."""
    configured = list(config.centres)
    scopes = readable_scopes(config, caller)
    scopes += [
        s
        for s in _combined_scopes(config)
        if all(caller.may_read(c) for c in scope_centre_ids(s, configured))
    ]
    if wanted:
        if wanted not in scopes:
            check_centre(config, caller, wanted)
        scopes = [wanted]
    items = []
    for scope in scopes:
        for info in store.list("reports", f"{scope}/"):
            key = parse_report_key(info.key)
            if key is None or (audience and key.audience != audience) or (period and key.period != period):
                continue
            if not may_see_audience(caller, key.audience):
                continue
            items.append(
                {
                    "key": info.key,
                    "centre": key.scope,
                    "audience": key.audience,
                    "period": key.period,
                    "date": key.date,
                    "format": key.format,
                    "size": info.size,
                    "download": f"/reports/{info.key}",
                }
            )
    items.sort(key=lambda item: (item["date"], item["key"]), reverse=True)
    return items
