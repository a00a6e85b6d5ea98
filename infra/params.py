"""Per-environment stack parameters: ``infra/params/<env>.json`` is the single source of them.

    python infra/params.py check dev            # validate against template.yaml's Parameters
    python infra/params.py check prod --strict  # also refuse example values (deploy.sh does this)
    python infra/params.py sam-args prod        # NUL-separated --parameter-overrides arguments

The files are flat JSON objects ``{"ParameterName": "value"}``. ``samconfig.toml`` holds the per-env
deploy settings (stack name, capabilities, tags) but no parameters, so nothing is written twice.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PARAMS_DIR = HERE / "params"

#: Values that are fine in a shipped example but must be replaced before a real (strict) deploy.
EXAMPLE_MARKERS = ("example.com", "example.org", "example.net")


def load(env: str) -> dict[str, str]:
    path = PARAMS_DIR / f"{env}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PARAMS_DIR.glob("*.json")))
        raise SystemExit(f"no parameter file {path} (known environments: {known})")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: expected a JSON object of ParameterName -> value")
    return {str(k): str(v) for k, v in data.items()}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def check(
    template: Mapping[str, Any], env: str, values: Mapping[str, str], strict: bool = False
) -> list[str]:
    """Problems with ``values`` as parameters of ``template`` (empty list when they are fine)."""
    problems = []
    declared = template.get("Parameters", {})
    for name in values:
        if name not in declared:
            problems.append(f"{env}: {name} is not a parameter of template.yaml")
    for name, spec in declared.items():
        if name not in values:
            if "Default" not in spec:
                problems.append(f"{env}: {name} has no default and must be set")
            continue
        value = values[name]
        items = value.split(",") if spec.get("Type") == "CommaDelimitedList" else [value]
        for item in items:
            allowed = spec.get("AllowedValues")
            if allowed is not None and item not in [str(a) for a in allowed]:
                problems.append(f"{env}: {name}={item!r} is not one of {allowed}")
            pattern = spec.get("AllowedPattern")
            if pattern and not re.fullmatch(pattern, item):
                problems.append(f"{env}: {name}={item!r} does not match {pattern}")
            if spec.get("Type") == "Number":
                number = _number(item)
                if number is None:
                    problems.append(f"{env}: {name}={item!r} is not a number")
                    continue
                if "MinValue" in spec and number < float(spec["MinValue"]):
                    problems.append(f"{env}: {name}={item} is below {spec['MinValue']}")
                if "MaxValue" in spec and number > float(spec["MaxValue"]):
                    problems.append(f"{env}: {name}={item} is above {spec['MaxValue']}")
        if strict and any(marker in value for marker in EXAMPLE_MARKERS):
            problems.append(
                f"{env}: {name}={value!r} is an example value; set your own in infra/params/{env}.json"
            )
    if values.get("Environment", env) != env:
        problems.append(f"{env}: Environment is {values.get('Environment')!r}, expected {env!r}")
    return problems


def sam_arguments(values: Mapping[str, str]) -> list[str]:
    """``--parameter-overrides Key="value"`` pairs as SAM CLI parses them (values may hold spaces)."""
    args = ["--parameter-overrides"]
    for name, value in values.items():
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        args.append(f'{name}="{escaped}"')
    return args


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("check", "sam-args"):
        print(__doc__, file=sys.stderr)
        return 2
    command, env = argv[0], argv[1]
    values = load(env)
    if command == "sam-args":
        sys.stdout.write("\0".join(sam_arguments(values)) + "\0")
        return 0
    sys.path.insert(0, str(HERE.parent))
    from infra.cfn import load_template

    problems = check(load_template(), env, values, strict="--strict" in argv)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"infra/params/{env}.json: OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
