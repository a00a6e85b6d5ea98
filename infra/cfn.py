"""Small helpers for working with ``template.yaml`` offline: load it, expand ``Fn::ForEach``, walk it.

``AWS::LanguageExtensions`` is applied by CloudFormation (and by ``sam deploy``) before the SAM transform.
Tools that see the template on their own - ``samtranslator`` in tests, checkov, the policy checks - do
not expand ``Fn::ForEach``, so :func:`expand_foreach` does the part of it this template uses:
``Fn::ForEach::<Name>: [Identifier, Collection, {OutputKey: Body}]`` under ``Resources``, ``Conditions`` and
``Outputs``, with the collection a literal list or a ``Ref`` to a ``CommaDelimitedList`` parameter, and
``${Identifier}`` / ``&{Identifier}`` in keys, ``${Identifier}`` in ``Fn::Sub`` strings and
``{"Ref": Identifier}`` in bodies.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"

FOREACH = "Fn::ForEach::"
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")


def load_template(path: Path | str = TEMPLATE) -> dict[str, Any]:
    """Parse a CloudFormation YAML template (short-form tags become ``{"Fn::…": …}``) into plain dicts."""
    from cfnlint.decode import cfn_yaml

    parsed = cfn_yaml.load(str(path))
    # cfn-lint returns str/dict subclasses that carry line numbers; plain types copy and compare cleanly.
    plain: dict[str, Any] = json.loads(json.dumps(parsed))
    return plain


def parameter_values(
    template: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Parameter values as CloudFormation would see them: overrides, else defaults."""
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        if overrides and name in overrides:
            values[name] = overrides[name]
        elif "Default" in spec:
            values[name] = spec["Default"]
    return values


def _collection(
    template: Mapping[str, Any], raw: Any, params: Mapping[str, Any], placeholder: str | None
) -> list[str]:
    if isinstance(raw, list):
        return [str(item) for item in raw]
    if isinstance(raw, dict) and set(raw) == {"Ref"}:
        name = raw["Ref"]
        if name in params:
            value = params[name]
            items = value if isinstance(value, list) else str(value).split(",")
            return [str(item).strip() for item in items if str(item).strip()]
        if placeholder is not None:
            return [placeholder]
        raise ValueError(f"Fn::ForEach over parameter {name!r}, which has no value or default")
    raise ValueError(f"unsupported Fn::ForEach collection {raw!r}")


def _substitute(node: Any, identifier: str, value: str) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] == identifier:
            return value
        out: dict[str, Any] = {}
        for key, child in node.items():
            if key == "Fn::Sub":
                if isinstance(child, str):
                    out[key] = child.replace("${" + identifier + "}", value)
                else:
                    text, variables = child
                    out[key] = [
                        text.replace("${" + identifier + "}", value),
                        _substitute(variables, identifier, value),
                    ]
            else:
                out[key] = _substitute(child, identifier, value)
        return out
    if isinstance(node, list):
        return [_substitute(child, identifier, value) for child in node]
    return node


def _expand_section(
    template: Mapping[str, Any],
    section: Mapping[str, Any],
    params: Mapping[str, Any],
    placeholder: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, body in section.items():
        if not key.startswith(FOREACH):
            out[key] = body
            continue
        identifier, raw_collection, outputs = body
        for value in _collection(template, raw_collection, params, placeholder):
            for key_template, item in outputs.items():
                name = key_template.replace("${" + identifier + "}", value).replace(
                    "&{" + identifier + "}", _NON_ALNUM.sub("", value)
                )
                if name in out:
                    raise ValueError(f"Fn::ForEach produced a duplicate logical id {name!r}")
                out[name] = _substitute(copy.deepcopy(item), identifier, value)
    return out


def expand_foreach(
    template: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    """A copy with every ``Fn::ForEach`` expanded and ``AWS::LanguageExtensions`` dropped from Transform.

    ``placeholder`` stands in for a collection whose parameter has no value (useful for checks that only
    care about the shape of what is generated).
    """
    result = copy.deepcopy(dict(template))
    params = parameter_values(template, overrides)
    for section in ("Conditions", "Resources", "Outputs"):
        if section in result:
            result[section] = _expand_section(template, result[section], params, placeholder)
    transform = result.get("Transform")
    if isinstance(transform, list):
        remaining = [t for t in transform if t != "AWS::LanguageExtensions"]
        result["Transform"] = remaining[0] if len(remaining) == 1 else remaining
    elif transform == "AWS::LanguageExtensions":
        del result["Transform"]
    return result


def resources(template: Mapping[str, Any], *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, resource) pairs, optionally only of the given types; skips unexpanded ForEach."""
    for logical_id, resource in template.get("Resources", {}).items():
        if not isinstance(resource, dict):
            continue
        if not types or resource.get("Type") in types:
            yield logical_id, resource


def sub_text(value: Any) -> str | None:
    """The literal text of a plain string or an ``Fn::Sub`` (first form or list form); else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return None


def referenced_id(value: Any) -> str | None:
    """Logical id behind ``Ref X``, ``Fn::GetAtt [X, …]``, ``X.Arn`` or ``${X.Arn}…`` in a Sub; else None."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return str(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else target.split(".")[0])
    text = sub_text(value)
    if text:
        match = re.match(r"^\$\{([A-Za-z0-9]+)(\.[A-Za-z]+)?\}", text)
        if match:
            return match.group(1)
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
