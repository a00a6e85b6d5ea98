"""Chalice behind API Gateway's greedy proxy route.

template.yaml fronts the function with one ``ANY /{proxy+}`` route (IAM on everything), so events arrive
with ``resourcePath = "/{proxy+}"``, which Chalice does not know. :class:`ProxyAwareChalice` maps the
request path back to the app's own route template and path parameters, then lets Chalice dispatch as
usual; events from per-route deployments (``chalice package``'s Swagger) pass through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from chalice.app import Chalice

__all__ = ["ProxyAwareChalice", "match_route"]


def match_route(routes: Iterable[str], path: str) -> tuple[str, dict[str, str]] | None:
    """The route template that matches ``path`` (literal segments win over parameters) and its parameters."""
    parts = [p for p in path.split("/") if p]
    best: tuple[int, str, dict[str, str]] | None = None
    for route in routes:
        pattern = [p for p in route.split("/") if p]
        if len(pattern) != len(parts):
            continue
        params: dict[str, str] = {}
        literal = 0
        for want, got in zip(pattern, parts, strict=True):
            if want.startswith("{") and want.endswith("}"):
                params[want[1:-1]] = got
            elif want == got:
                literal += 1
            else:
                break
        else:
            if best is None or literal > best[0]:
                best = (literal, route, params)
    return (best[1], best[2]) if best else None


class ProxyAwareChalice(Chalice):
    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        request_context = dict(event.get("requestContext") or {})
        resource = request_context.get("resourcePath")
        if resource not in self.routes and isinstance(event.get("path"), str):
            found = match_route(self.routes, event["path"])
            if found is None:
                body = {"error": {"code": "not_found", "status": 404,
                                  "message": "no such route; GET /openapi.json lists them"}}  # fmt: skip
                return {
                    "statusCode": 404,
                    "headers": {"Content-Type": "application/json"},
                    "body": json.dumps(body),
                }
            route, params = found
            request_context["resourcePath"] = route
            event = {
                **event,
                "resource": route,
                "pathParameters": params or None,
                "requestContext": request_context,
            }
        return super().__call__(event, context)
