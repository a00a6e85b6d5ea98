"""The OpenAPI document is generated from the app's route table, and only from it."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import Blueprint, Chalice

from contactlake.api import openapi, routes


def _app_with(blueprint: Blueprint) -> Chalice:
    app = Chalice(app_name="openapi-test")
    app.register_blueprint(blueprint)
    return app


def test_a_route_registered_with_route_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    blueprint = Blueprint("openapi_test")
    monkeypatch.setattr(routes, "api", blueprint)

    @routes.route(
        "/centres/{centre_id}/things",
        "GET",
        "Things of a centre.",
        [openapi.CENTRE, *openapi.RANGE],
        "Thing rows.",
        schema="Staffing",
    )
    def things(centre_id: str) -> Any:
        return {}

    @routes.route(
        "/ping",
        "POST",
        "Ping.",
        [],
        "Pong.",
        schema="Health",
        secured=False,
        status=201,
        body={"type": "object"},
    )
    def ping() -> Any:
        return {}

    document = openapi.document("9.9.9", _app_with(blueprint).routes)
    assert document["info"]["version"] == "9.9.9"
    assert set(document["paths"]) == {"/centres/{centre_id}/things", "/ping"}
    get = document["paths"]["/centres/{centre_id}/things"]["get"]
    assert get["summary"] == "Things of a centre."
    assert [p["name"] for p in get["parameters"]] == ["centre_id", "from", "to"]
    assert set(get["responses"]) == {"200", "400", "401", "403", "404", "405", "429", "500"}
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Staffing"
    }
    post = document["paths"]["/ping"]["post"]
    assert (set(post["responses"]), post["security"]) == ({"201", "404", "405", "429", "500"}, [])
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"type": "object"}


def test_a_route_without_an_operation_cannot_be_documented() -> None:
    blueprint = Blueprint("openapi_bare")

    @blueprint.route("/bare", methods=["GET"])
    def bare() -> Any:
        return {}

    with pytest.raises(LookupError, match="GET /bare declares no OpenAPI operation"):
        openapi.document("1", _app_with(blueprint).routes)


def test_a_route_must_name_a_declared_response_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes, "api", Blueprint("openapi_undeclared"))
    with pytest.raises(KeyError, match="no schema 'Thing'"):
        routes.route("/thing", "GET", "A thing.", [], "The thing.", schema="Thing")(lambda: {})


def test_the_apps_document_is_valid_openapi_and_types_every_response() -> None:
    from openapi_spec_validator import validate

    from contactlake import __version__
    from contactlake.api.app import app

    document = openapi.document(__version__, app.routes)
    validate(document)  # raises with the path of the first problem
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                # Every answer names a declared schema; none is the untyped {"type": "object"}.
                assert set(schema) == {"$ref"}, (method, path, status)
                name = schema["$ref"].rsplit("/", 1)[-1]
                assert name in document["components"]["schemas"], (method, path, status)
                assert (name == "Error") == (int(status) >= 400), (method, path, status)
