"""IAM authorisation (the default on AWS), exercised with API Gateway proxy events as Lambda receives them,
and one real HTTP conversation with the locally served API."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import warnings
from typing import Any

import pytest

from contactlake.api.serve import make_server
from infra.cfn import load_template
from tests.functional.report.lake import SmallLake, load_report_app, use_lake

pytestmark = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")

ROLE_SESSION = "arn:aws:sts::123456789012:assumed-role/contactlake-north-ops/dashboard"


def gateway_event(
    path: str, resource: str, params: dict[str, str], query: dict[str, str], identity: dict[str, str]
) -> dict[str, Any]:
    """The REST API proxy event API Gateway sends after checking the caller's SigV4 signature."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "GET",
        "headers": {"Host": "abc.execute-api.eu-west-2.amazonaws.com"},
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "GET",
            "path": f"/api{path}",
            "stage": "api",
            "identity": {"sourceIp": "10.0.0.1", **identity},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def call(event: dict[str, Any]) -> tuple[int, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        response = load_report_app().app(event, None)
    return response["statusCode"], json.loads(response["body"])


def test_iam_principals_are_scoped_to_their_centres(
    small_lake: SmallLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_lake(monkeypatch, small_lake.home, CONTACTLAKE_API_AUTH="iam")
    kpis = "/centres/{centre_id}/kpis"
    query = {"from": "2026-11-02", "grain": "day"}
    status, body = call(
        gateway_event(
            "/centres/north/kpis",
            kpis,
            {"centre_id": "north"},
            query,
            {"userArn": ROLE_SESSION, "caller": "AROAEXAMPLE:dashboard"},
        )
    )
    assert status == 200
    assert body["items"][0]["period_start"] == "2026-11-02"
    status, body = call(
        gateway_event("/centres/south/kpis", kpis, {"centre_id": "south"}, query, {"userArn": ROLE_SESSION})
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = call(
        gateway_event("/centres", "/centres", {}, {}, {"userArn": "arn:aws:iam::123456789012:user/intruder"})
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    # In IAM mode an API key is no credential at all.
    event = gateway_event("/centres", "/centres", {}, {}, {})
    event["headers"]["x-api-key"] = "demo-key-admin"
    assert call(event)[0] == 401


def test_api_gateway_has_one_method_per_app_route() -> None:
    """template.yaml gives API Gateway exactly the app's routes, so every event names its route template
    (the resourcePath Chalice dispatches on) and nothing else reaches the function."""
    app = load_report_app().app
    resources = load_template()["Resources"]
    events = [
        e["Properties"]
        for e in resources["ApiFunction"]["Properties"]["Events"].values()
        if e["Type"] == "Api"
    ]
    declared = [(e["Path"], e["Method"]) for e in events]
    assert len(declared) == len(set(declared))
    assert set(declared) == {(path, method) for path, methods in app.routes.items() for method in methods}
    assert all(e["RestApiId"] == {"Ref": "Api"} for e in events)


def test_routes_require_iam_by_default() -> None:
    app = load_report_app().app
    secured = {
        (path, method): entry.authorizer
        for path, methods in app.routes.items()
        for method, entry in methods.items()
    }
    public = {key for key, authorizer in secured.items() if authorizer is None}
    assert public == {("/health", "GET"), ("/openapi.json", "GET")}
    assert {type(a).__name__ for a in secured.values() if a is not None} == {"IAMAuthorizer"}


def test_real_http_against_the_served_api(small_lake: SmallLake, monkeypatch: pytest.MonkeyPatch) -> None:
    use_lake(monkeypatch, small_lake.home, CONTACTLAKE_API_AUTH="api_key")
    server = make_server("127.0.0.1", 0)
    port = server.server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=10) as response:
            assert (response.status, json.load(response)) == (200, {"status": "ok", "version": "0.1.0"})
        request = urllib.request.Request(
            f"{base}/centres/north/kpis?grain=day&from=2026-11-02&to=2026-11-03",
            headers={"x-api-key": "demo-key-north"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
            assert response.headers["Content-Type"] == "application/json"
            assert response.headers["Cache-Control"] == "no-store"
        assert [i["period_start"] for i in body["items"]] == ["2026-11-02", "2026-11-03"]
        forbidden = urllib.request.Request(
            f"{base}/centres/south/kpis?from=2026-11-02", headers={"x-api-key": "demo-key-north"}
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(forbidden, timeout=10)
        assert raised.value.code == 403
        assert json.load(raised.value)["error"]["code"] == "forbidden"
    finally:
        server.shutdown()
        server.server.server_close()
        thread.join(timeout=10)
    assert not thread.is_alive()
