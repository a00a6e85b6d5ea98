"""Every route through Chalice's test client, in API-key mode over a real lake: figures, scoping, input
validation (malformed dates, SQL-injection and path-traversal attempts) and pagination."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from chalice.test import Client

from contactlake.analyse import queries
from tests.functional.report.lake import SmallLake, load_report_app, use_lake

ADMIN = {"x-api-key": "demo-key-admin"}
NORTH = {"x-api-key": "demo-key-north"}
JSON = {"content-type": "application/json"}

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def api(
    small_lake: SmallLake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Client, SmallLake]]:
    lake = small_lake.copy(tmp_path_factory.mktemp("api") / "lake")
    with pytest.MonkeyPatch.context() as patch:
        use_lake(patch, lake.home, CONTACTLAKE_API_AUTH="api_key")
        with warnings.catch_warnings(), Client(load_report_app().app) as client:
            warnings.simplefilter("ignore")
            yield client, lake
    from contactlake.runtime import runtime

    runtime.cache_clear()


def get(api: tuple[Client, SmallLake], path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    response = api[0].http.get(path, headers=NORTH if headers is None else headers)
    return response.status_code, json.loads(response.body)


def post(
    api: tuple[Client, SmallLake], path: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = api[0].http.post(path, headers={**(NORTH if headers is None else headers), **JSON}, body=raw)
    return response.status_code, json.loads(response.body)


def test_health_and_openapi_describe_every_route(api: tuple[Client, SmallLake]) -> None:
    assert get(api, "/health", {}) == (200, {"status": "ok", "version": "0.1.0"})
    status, document = get(api, "/openapi.json", {})
    assert status == 200
    assert document["openapi"] == "3.1.0"
    app = load_report_app().app
    routes = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == routes


def test_credentials(api: tuple[Client, SmallLake]) -> None:
    assert get(api, "/centres", {}) == (
        401,
        {
            "error": {
                "code": "unauthenticated",
                "status": 401,
                "message": "send your API key in the x-api-key header",
            }
        },
    )
    assert get(api, "/centres", {"x-api-key": "demo-key-guess"})[0] == 403
    assert [c["centre_id"] for c in get(api, "/centres", ADMIN)[1]["items"]] == ["north", "south"]
    status, body = get(api, "/centres")
    assert status == 200
    assert body["caller"] == "north_ops"
    assert [
        (c["centre_id"], c["service_level"]["threshold_seconds"], c["plan"]["aht_seconds"])
        for c in body["items"]
    ] == [("north", 20, 300.0)]


def test_kpis_equal_the_analysis(api: tuple[Client, SmallLake]) -> None:
    _, lake = api
    expected = queries.kpis(
        lake.ports(), lake.config.centre("north"), "day", date(2026, 11, 2), date(2026, 11, 4)
    )
    status, body = get(api, "/centres/north/kpis?grain=day&from=2026-11-02&to=2026-11-04")
    assert status == 200
    assert body["count"] == 3
    assert body["next_token"] is None
    assert [(i["period_start"], i["offered"], i["service_level"]) for i in body["items"]] == [
        (str(r["period_start"]), r["offered"], r["service_level"]) for r in expected.to_pylist()
    ]
    status, body = get(
        api, "/centres/north/kpis?grain=day&dimension=queue&queue=sales&from=2026-11-02&to=2026-11-02"
    )
    assert status == 200
    assert [i["queue"] for i in body["items"]] == ["sales"]
    status, body = get(api, "/centres/north/kpis?grain=60min&from=2026-11-02")
    assert status == 200
    assert body["count"] >= 15
    assert body["items"][0]["period_start"].startswith("2026-11-02T")


def test_pagination_round_trip_and_tampering(api: tuple[Client, SmallLake]) -> None:
    first = get(api, "/centres/north/kpis?grain=day&from=2026-11-02&to=2026-11-04&limit=2")[1]
    assert [i["period_start"] for i in first["items"]] == ["2026-11-02", "2026-11-03"]
    assert first["next_token"]
    second = get(
        api,
        f"/centres/north/kpis?grain=day&from=2026-11-02&to=2026-11-04&limit=2&next_token={first['next_token']}",
    )[1]
    assert [i["period_start"] for i in second["items"]] == ["2026-11-04"]
    assert second["next_token"] is None
    # The same token on another query (another range) is refused.
    status, body = get(
        api, f"/centres/north/kpis?grain=day&from=2026-11-03&to=2026-11-05&next_token={first['next_token']}"
    )
    assert (status, body["error"]["code"]) == (400, "bad_token")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/centres/south/kpis?from=2026-11-02", 403, "forbidden"),  # another centre's id
        ("/centres/west/kpis?from=2026-11-02", 403, "forbidden"),  # an id nobody has: same answer
        ("/centres/north/kpis", 400, "missing_parameter"),
        ("/centres/north/kpis?from=2026-02-30", 400, "bad_date"),
        ("/centres/north/kpis?from=02/11/2026", 400, "bad_date"),
        ("/centres/north/kpis?from=2026-11-09&to=2026-11-02", 400, "bad_range"),
        ("/centres/north/kpis?from=2026-09-01&to=2026-11-01&grain=15min", 400, "bad_range"),
        ("/centres/north/kpis?from=2026-11-02&grain=day%27%20OR%20%271%27=%271", 400, "bad_parameter"),
        ("/centres/north/kpis?from=2026-11-02&dimension=queue;DROP%20TABLE%20contacts", 400, "bad_parameter"),
        ("/centres/north/kpis?from=2026-11-02&queue=billing%27%20OR%20%271%27=%271", 400, "bad_parameter"),
        ("/centres/north%27%20OR%20%271%27=%271/kpis?from=2026-11-02", 403, "forbidden"),
        ("/centres/north/kpis?from=2026-11-02%27%3B--", 400, "bad_date"),
        ("/centres/north/kpis?from=2026-11-02&limit=-1", 400, "bad_parameter"),
        ("/centres/north/pathways?from=2026-11-02&top=500", 400, "bad_parameter"),
    ],
)
def test_bad_input_gets_a_clear_json_error(
    api: tuple[Client, SmallLake], path: str, status: int, code: str
) -> None:
    got, body = get(api, path)
    assert (got, body["error"]["code"], body["error"]["status"]) == (status, code, status)
    assert body["error"]["message"]


def test_an_allowed_but_odd_queue_value_is_only_ever_a_bound_value(api: tuple[Client, SmallLake]) -> None:
    status, body = get(api, "/centres/north/kpis?grain=day&from=2026-11-02&queue=billing%20OR%20true")
    assert (status, body["count"]) == (200, 0)


def test_analysis_routes(api: tuple[Client, SmallLake]) -> None:
    _, lake = api
    centre = lake.config.centre("north")
    status, body = get(api, "/centres/north/trends?from=2026-11-02&to=2026-11-08")
    assert status == 200
    assert [t["measure"] for t in body["trends"]] == [
        "offered",
        "service_level",
        "abandon_rate",
        "asa_seconds",
        "aht_seconds",
    ]
    status, body = get(api, "/centres/north/pathways?from=2026-11-02&top=3")
    assert status == 200
    assert len(body["top_paths"]) == 3
    assert body["contacts"] > 0
    assert body["sankey_links"]
    assert {"source", "target"} <= set(body["sankey_links"][0])
    staffing = queries.staffing(lake.ports(), centre, date(2026, 11, 2), date(2026, 11, 2))
    status, body = get(
        api, f"/centres/north/staffing?from=2026-11-02&to=2026-11-02&limit={staffing.num_rows}"
    )
    assert status == 200
    assert body["count"] == staffing.num_rows
    assert body["next_token"] is None
    assert body["items"][0]["required_erlang_c"] == staffing.column("required_erlang_c")[0].as_py()
    status, body = get(api, "/centres/north/data-quality?from=2026-11-02&to=2026-11-02")
    assert status == 200
    assert [(i["source"], i["status"], i["rows_quarantined"]) for i in body["items"]] == [
        ("acd", "stored", 3),
        ("agents", "stored", 0),
    ]
    status, body = get(api, "/centres/north/uploads?from=2026-11-02&to=2026-11-03")
    assert status == 200
    assert [(i["business_day"], i["source"]) for i in body["items"]] == [
        ("2026-11-02", "acd"),
        ("2026-11-02", "agents"),
        ("2026-11-03", "acd"),
        ("2026-11-03", "agents"),
    ]


def test_upload_url(api: tuple[Client, SmallLake]) -> None:
    _, lake = api
    status, body = post(
        api, "/centres/north/upload-url", {"source": "acd", "filename": "calls-2026-11-16.csv.gz"}
    )
    assert status == 201
    assert body["key"] == "north/acd/calls-2026-11-16.csv.gz"
    assert body["method"] == "PUT"
    assert body["url"] == (lake.home / "raw" / "north" / "acd" / "calls-2026-11-16.csv.gz").resolve().as_uri()
    assert post(api, "/centres/north/upload-url", {"source": "crm", "filename": "x.csv"})[0] == 400
    for name in ("../../lake/manifests/x.json", "acd/x.csv", "..", ".env"):
        status, body = post(api, "/centres/north/upload-url", {"source": "acd", "filename": name})
        assert (status, body["error"]["code"]) == (400, "bad_filename"), name
    assert post(api, "/centres/south/upload-url", {"source": "acd", "filename": "x.csv"})[0] == 403
    assert post(api, "/centres/north/upload-url", b"{not json")[1]["error"]["code"] == "bad_json"
    assert post(api, "/centres/north/upload-url", {"source": 7, "filename": "x.csv"})[0] == 400


@pytest.mark.slow
def test_reports_generate_list_and_download(api: tuple[Client, SmallLake]) -> None:
    status, body = post(
        api,
        "/reports",
        {"audience": "operations", "period": "daily", "as_of": "2026-11-09", "centre": "north"},
    )
    assert status == 201
    assert body["status"] == "stored"
    assert body["stakeholder"] == "on-demand"
    assert body["keys"] == [
        f"north/operations/daily/2026-11-09.{ext}" for ext in ("html", "pdf", "csv", "xlsx")
    ]
    status, listing = get(api, "/reports?audience=operations&period=daily")
    assert status == 200
    assert [i["key"] for i in listing["items"]] == sorted(body["keys"], reverse=True)
    status, link = get(api, "/reports/north/operations/daily/2026-11-09.pdf")
    assert status == 200
    assert link["url"].endswith("/reports/north/operations/daily/2026-11-09.pdf")
    assert link["expires_in"] == 900
    assert get(api, "/reports/north/operations/daily/2026-11-10.pdf")[0] == 404
    assert get(api, "/reports/south/operations/daily/2026-11-09.pdf")[0] == 403
    assert get(api, "/reports/all/executive/monthly/2026-11-01.pdf")[0] == 403
    assert (
        get(api, "/reports/north/operations/daily/..%2F..%2F..%2Flake%2Fmanifests%2Fx.json")[1]["error"][
            "code"
        ]
        == "bad_filename"
    )
    assert get(api, "/reports/north/ceo/daily/2026-11-09.pdf")[0] == 400
    assert get(api, "/reports?centre=south")[0] == 403
    assert (
        post(
            api,
            "/reports",
            {"audience": "operations", "period": "daily", "as_of": "2026-11-09", "centre": "south"},
        )[0]
        == 403
    )
    assert (
        post(
            api,
            "/reports",
            {"audience": "operations", "period": "daily", "as_of": "9/11/2026", "centre": "north"},
        )[1]["error"]["code"]
        == "bad_date"
    )
    assert (
        post(api, "/reports", {"audience": "operations", "period": "daily", "as_of": "2026-11-09"})[0] == 400
    )
    assert post(api, "/reports", {"audience": "board", "period": "daily", "as_of": "2026-11-09"})[0] == 400


VIEWER = {"x-api-key": "demo-key-viewer"}


def test_each_route_needs_its_action(api: tuple[Client, SmallLake]) -> None:
    """Issue 15 item 14: a read-only caller could mint upload URLs (and so replace a day)."""
    assert get(api, "/centres/north/kpis?from=2026-11-02", VIEWER)[0] == 200
    status, body = post(api, "/centres/north/upload-url", {"source": "acd", "filename": "x.csv"}, VIEWER)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "may not upload" in body["error"]["message"]
    status, body = post(
        api, "/reports", {"audience": "operations", "period": "daily", "centre": "north"}, VIEWER
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")


def test_internal_only_reports_are_for_internal_callers(api: tuple[Client, SmallLake]) -> None:
    _, lake = api
    for key in ("north/team_leader/weekly/2026-11-08.html", "north/operations/daily/2026-11-02.html"):
        path = lake.home / "reports" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("<html></html>")
    listed = {item["audience"] for item in get(api, "/reports?centre=north", VIEWER)[1]["items"]}
    assert "operations" in listed
    assert "team_leader" not in listed
    assert "team_leader" in {item["audience"] for item in get(api, "/reports?centre=north")[1]["items"]}
    assert get(api, "/reports/north/team_leader/weekly/2026-11-08.html", VIEWER)[0] == 403
    assert get(api, "/reports/north/team_leader/weekly/2026-11-08.html")[0] == 200
    assert get(api, "/reports/north/operations/daily/2026-11-02.html", VIEWER)[0] == 200
    status, _ = post(
        api, "/reports", {"audience": "team_leader", "period": "weekly", "centre": "north"}, VIEWER
    )
    assert status == 403


def test_integers_are_ascii_digits_only(api: tuple[Client, SmallLake]) -> None:
    for value in ("\u0661\u0660", "\uff11\uff10", "\u00b2"):  # Arabic-Indic, full-width, superscript
        status, body = get(api, f"/centres/north/staffing?from=2026-11-02&limit={value}")
        assert (status, body["error"]["code"]) == (400, "bad_parameter"), value
        status, body = get(api, f"/centres/north/pathways?from=2026-11-02&top={value}")
        assert (status, body["error"]["code"]) == (400, "bad_parameter"), value
