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
    )
    def things(centre_id: str) -> Any:
        return {}

    @routes.route("/ping", "POST", "Ping.", [], "Pong.", secured=False, status=201, body={"type": "object"})
    def ping() -> Any:
        return {}

    document = openapi.document("9.9.9", _app_with(blueprint).routes)
    assert document["info"]["version"] == "9.9.9"
    assert set(document["paths"]) == {"/centres/{centre_id}/things", "/ping"}
    get = document["paths"]["/centres/{centre_id}/things"]["get"]
    assert get["summary"] == "Things of a centre."
    assert [p["name"] for p in get["parameters"]] == ["centre_id", "from", "to"]
    assert set(get["responses"]) == {"200", "400", "401", "403", "404"}
    post = document["paths"]["/ping"]["post"]
    assert (set(post["responses"]), post["security"]) == ({"201"}, [])
    assert post["requestBody"]["content"]["application/json"]["schema"] == {"type": "object"}


def test_a_route_without_an_operation_cannot_be_documented() -> None:
    blueprint = Blueprint("openapi_bare")

    @blueprint.route("/bare", methods=["GET"])
    def bare() -> Any:
        return {}

    with pytest.raises(LookupError, match="GET /bare declares no OpenAPI operation"):
        openapi.document("1", _app_with(blueprint).routes)
