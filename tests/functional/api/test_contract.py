"""The API as its users meet it over HTTP (`contactlake serve` on a free loopback port): one error shape
for every status, every answer valid against its OpenAPI schema, and the client example of docs/api.md
run as written. On AWS, API Gateway's own answers get the same shape from template.yaml (checked here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from contactlake.api import errors
from contactlake.api.serve import make_server
from infra.cfn import load_template
from tests.functional.report.lake import SmallLake, use_lake

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")
NORTH = {"x-api-key": "demo-key-north"}
ADMIN = {"x-api-key": "demo-key-admin"}


@pytest.fixture(scope="module")
def base(small_lake: SmallLake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The served API over a copy of the small lake, on a free port; stopped after the module."""
    lake = small_lake.copy(tmp_path_factory.mktemp("served") / "lake")
    with pytest.MonkeyPatch.context() as patch:
        use_lake(patch, lake.home, CONTACTLAKE_API_AUTH="api_key")
        server = make_server("127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server.server_address[1]}"
        finally:
            server.shutdown()
            server.server.server_close()
            thread.join(timeout=10)
    from contactlake.runtime import runtime

    runtime.cache_clear()


def call(
    base: str,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(f"{base}{path}", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as failure:
        return failure.code, dict(failure.headers), json.load(failure)


def validator(document: dict[str, Any], schema: str) -> Draft202012Validator:
    """A JSON Schema validator for one named schema of the OpenAPI 3.1 document (its refs resolved)."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:contactlake-api", DRAFT202012.create_resource(document)
    )
    return Draft202012Validator(
        {"$ref": f"urn:contactlake-api#/components/schemas/{schema}"}, registry=registry
    )


def test_every_status_answers_in_the_one_error_shape(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    document = call(base, "/openapi.json")[2]
    shape = validator(document, "Error")
    cases = [
        ("GET", "/no/such/route", NORTH, 404, "no_route"),
        ("GET", "/centres/north/kpis/extra?from=2026-11-02", NORTH, 404, "no_route"),
        ("DELETE", "/centres", NORTH, 405, "method_not_allowed"),
        ("POST", "/centres/north/kpis", NORTH, 405, "method_not_allowed"),
        ("GET", "/centres", {}, 401, "unauthenticated"),
        ("GET", "/centres", {"x-api-key": "not-a-key"}, 403, "forbidden"),
        ("GET", "/centres/south/kpis?from=2026-11-02", NORTH, 403, "forbidden"),
        ("GET", "/centres/atlantis/kpis?from=2026-11-02", NORTH, 403, "forbidden"),
        ("GET", "/centres/atlantis/kpis?from=2026-11-02", ADMIN, 404, "unknown_centre"),
        ("GET", "/centres/north/kpis?from=2026-11-02&grain=hour", NORTH, 400, "bad_parameter"),
    ]
    for method, path, headers, status, code in cases:
        got, answer_headers, body = call(base, path, method, headers)
        assert (got, body["error"]["code"], body["error"]["status"]) == (status, code, status), (method, path)
        assert answer_headers["Content-Type"] == "application/json", (method, path)
        assert not list(shape.iter_errors(body)), (method, path, body)
    assert call(base, "/centres", "DELETE", NORTH)[1]["Allow"] == "GET"
    # A failure inside a route: 500 in the same shape, without internals.
    from contactlake.api import routes

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(routes, "kpi_table", broken)
    got, _, body = call(base, "/centres/north/kpis?from=2026-11-02", headers=NORTH)
    assert (got, body["error"]["code"]) == (500, "internal_error")
    assert "secret" not in json.dumps(body)
    assert not list(shape.iter_errors(body))


def test_chalices_own_error_answers_are_rewritten_into_the_shape() -> None:
    """415 and a 500 raised outside a view come from Chalice with {"Code", "Message"}; the middleware
    rewrites them (405 is exercised over HTTP above)."""
    from chalice.app import Request, error_response

    from contactlake.api.context import uniform_errors

    event = Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": {},
            "pathParameters": None,
            "requestContext": {"httpMethod": "POST", "resourcePath": "/reports"},
            "body": None,
            "stageVariables": None,
            "isBase64Encoded": False,
        }
    )
    for status, code in ((415, "unsupported_media_type"), (500, "internal_error")):
        response = uniform_errors(
            event, lambda _, status=status: error_response("Boom", "ChaliceError", status)
        )
        body = json.loads(response.body)
        assert (response.status_code, body["error"]["code"], body["error"]["status"]) == (
            status,
            code,
            status,
        )
        assert set(body) == {"error"}


ROUTE_CALLS = [
    ("/health", "Health"),
    ("/centres", "Centres"),
    ("/centres/north/kpis?grain=day&from=2026-11-02&to=2026-11-04", "Kpis"),
    ("/centres/north/kpis?grain=15min&dimension=queue&from=2026-11-02&to=2026-11-02", "Kpis"),
    ("/centres/north/kpis?grain=day&dimension=agent&from=2026-11-02&to=2026-11-02", "Kpis"),
    ("/centres/north/trends?from=2026-11-02&to=2026-11-09", "Trends"),
    ("/centres/north/pathways?from=2026-11-02&to=2026-11-09", "Pathways"),
    ("/centres/north/staffing?from=2026-11-02&to=2026-11-02", "Staffing"),
    ("/centres/north/data-quality?from=2026-11-02&to=2026-11-09", "DataQuality"),
    ("/centres/north/uploads?from=2026-11-02&to=2026-11-09", "Uploads"),
    ("/reports", "Reports"),
]


@pytest.mark.parametrize(("path", "schema"), ROUTE_CALLS)
def test_every_answer_is_valid_against_its_openapi_schema(base: str, path: str, schema: str) -> None:
    document = call(base, "/openapi.json")[2]
    route = path.split("?")[0].replace("/north/", "/{centre_id}/")
    declared = document["paths"][route]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert declared == {"$ref": f"#/components/schemas/{schema}"}
    status, _, body = call(base, path, headers=NORTH)
    assert status == 200
    problems = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(document, schema).iter_errors(body)
    ]
    assert not problems, problems[:5]


def test_rule_counts_are_json_objects_not_json_in_strings(base: str) -> None:
    for route in ("data-quality", "uploads"):
        items = call(base, f"/centres/north/{route}?from=2026-11-02&to=2026-11-02", headers=NORTH)[2]["items"]
        acd = next(i for i in items if i["source"] == "acd")
        assert isinstance(acd["quarantined_by_rule"], dict), route
        assert sum(acd["quarantined_by_rule"].values()) == acd["rows_quarantined"] > 0, route


def test_the_client_example_in_the_docs_runs_against_the_served_api(base: str) -> None:
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- client-example[^>]*-->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "docs/api.md has no client example block"
    done = subprocess.run(
        [sys.executable, "-c", found.group(1)],
        env={"CONTACTLAKE_API": base, "CONTACTLAKE_API_KEY": "demo-key-north", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [["north", f"2026-11-0{d}"] for d in range(2, 9)]
    assert lines[-1].startswith("403 forbidden: caller 'north_ops' may not read centre 'south'")


def test_api_gateways_own_answers_have_the_error_shape() -> None:
    """On AWS, API Gateway answers unknown paths, unsigned requests and throttling before the function;
    template.yaml's GatewayResponses give each the same shape, equal to errors.GATEWAY_RESPONSES."""
    api = load_template()["Resources"]["Api"]["Properties"]
    declared = api["GatewayResponses"]
    assert set(declared) == set(errors.GATEWAY_RESPONSES)
    assert {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(declared)
    for response_type, (status, code, _) in errors.GATEWAY_RESPONSES.items():
        response = declared[response_type]
        assert response["StatusCode"] == str(status), response_type
        assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/json'"
        template = response["ResponseTemplates"]["application/json"]
        assert template == errors.gateway_template(response_type), response_type
        # What API Gateway sends: $context.error.messageString is its message as a quoted JSON string.
        body = json.loads(template.replace("$context.error.messageString", '"Missing Authentication Token"'))
        assert body["error"]["code"] == code
        assert body["error"]["status"] == status
        assert body["error"]["message"]
