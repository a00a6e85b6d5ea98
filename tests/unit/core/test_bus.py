"""The local event routes are template.yaml's EventBridge rules: same patterns, same functions."""

from __future__ import annotations

from typing import Any

from contactlake.bus import ROUTES, matches
from infra import cfn


def _rules() -> dict[str, list[dict[str, Any]]]:
    template = cfn.load_template()
    rules: dict[str, list[dict[str, Any]]] = {}
    for logical_id, function in cfn.resources(template, "AWS::Serverless::Function"):
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "EventBridgeRule":
                rules.setdefault(logical_id, []).append(event["Properties"]["Pattern"])
    return rules


def test_each_local_route_is_a_rule_of_the_template_and_each_rule_a_route() -> None:
    local = sorted((r.function, repr(dict(r.pattern))) for r in ROUTES)
    deployed = sorted((f, repr(p)) for f, patterns in _rules().items() for p in patterns)
    assert local == deployed


def test_patterns_match_as_eventbridge_matches() -> None:
    correction = {"source": "contactlake", "detail-type": "AnalysisFinished", "detail": {"replaced": True}}
    restate = next(r for r in ROUTES if r.function == "ReportFunction")
    assert matches(restate.pattern, correction)
    assert not matches(restate.pattern, {**correction, "detail": {"replaced": False}})
    assert not matches(restate.pattern, {**correction, "detail": {}})
    assert not matches(restate.pattern, {**correction, "detail-type": "UploadValidated"})
