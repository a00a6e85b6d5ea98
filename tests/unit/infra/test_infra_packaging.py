"""Parameter files, packaging rules and the Lambda dependency budget (no network, no pip)."""

from __future__ import annotations

import ast
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import package, params
from infra.cfn import referenced_id, resources

ENVIRONMENTS = ("dev", "prod")

#: Third-party modules the Lambda code may import, and what provides each on Lambda.
PROVIDED = {
    "pyarrow": "deps",
    "aws_lambda_powertools": "deps",
    "sqlglot": "deps",
    "jinja2": "deps",
    "markupsafe": "deps",
    "pytz": "deps",
    "tzdata": "deps",
    "matplotlib": "reporting",
    "numpy": "deps",
    "pydantic": "deps",
    "pydantic_core": "deps",
    "PIL": "reporting",
    "fpdf": "reporting",
    "xlsxwriter": "reporting",
    "babel": "reporting",
    "awswrangler": "athena",
    "chalice": "code",  # the runtime part of Chalice is copied into the report code folder
    "boto3": "runtime",
    "botocore": "runtime",
}
#: Modules that only the local side (CLI, DuckDB adapter) imports, and the only files allowed to.
LOCAL_ONLY = {"duckdb": {"adapters/local/engine.py"}, "tqdm": {"cli.py"}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_parameter_files_fit_the_template(template: dict[str, Any], env: str) -> None:
    values = params.load(env)
    assert params.check(template, env, values) == []
    assert values["Environment"] == env


def test_strict_check_refuses_example_values(template: dict[str, Any]) -> None:
    values = {**params.load("prod"), "MailSender": "reports@example.com"}
    assert any("example value" in p for p in params.check(template, "prod", values, strict=True))


def test_parameter_check_catches_bad_values(template: dict[str, Any]) -> None:
    values = {**params.load("dev"), "Environment": "qa", "AthenaResultsRetentionDays": "90", "Bogus": "1"}
    problems = "\n".join(params.check(template, "dev", values))
    assert "Environment='qa' is not one of" in problems
    assert "AthenaResultsRetentionDays=90 is above 30" in problems
    assert "Bogus is not a parameter" in problems


def test_sam_arguments_quote_values_with_spaces() -> None:
    args = params.sam_arguments({"NightlySchedule": "cron(30 6 * * ? *)", "X": 'a"b'})
    assert args == ["--parameter-overrides", 'NightlySchedule="cron(30 6 * * ? *)"', 'X="a\\"b"']


def test_samconfig_has_each_environment_and_no_parameters(repo: Path) -> None:
    import tomllib

    config = tomllib.loads((repo / "infra" / "samconfig.toml").read_text(encoding="utf-8"))
    for env in ENVIRONMENTS:
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["stack_name"] == f"contactlake-{env}"
        assert "CAPABILITY_AUTO_EXPAND" in deploy["capabilities"]
        assert "parameter_overrides" not in deploy, "parameters live in infra/params/<env>.json only"


def test_deploy_template_points_at_zips(repo: Path) -> None:
    text = package.deploy_template((repo / "template.yaml").read_text(encoding="utf-8"))
    assert "CodeUri: functions/ingest.zip" in text
    assert "CodeUri: functions/report.zip" in text
    assert "ContentUri: layers/deps.zip" in text
    assert "ContentUri: layers/reporting.zip" in text
    with pytest.raises(package.PackageError):
        package.deploy_template("      CodeUri: somewhere/else/\n      ContentUri: build/layers/deps/\n")


def test_packaging_layout_matches_template(template: dict[str, Any]) -> None:
    """infra/package.py's FUNCTION_LAYERS must give each code folder exactly the layers template.yaml does."""
    global_layers = [referenced_id(x) for x in template["Globals"]["Function"]["Layers"]]
    layer_names = {
        logical_id: r["Properties"]["ContentUri"].rstrip("/").rsplit("/", 1)[-1]
        for logical_id, r in resources(template, "AWS::Serverless::LayerVersion")
    }
    for logical_id, function in resources(template, "AWS::Serverless::Function"):
        props = function["Properties"]
        folder = props["CodeUri"].rstrip("/").rsplit("/", 1)[-1]
        refs = [*global_layers, *(referenced_id(x) for x in props.get("Layers", []))]
        layers = tuple(layer_names[str(i)] for i in refs)
        assert package.FUNCTION_LAYERS[folder] == layers, logical_id
    assert set(layer_names.values()) == set(package.LAYERS)


def test_layer_lists_leave_out_what_lambda_must_not_carry(repo: Path) -> None:
    for layer in package.LAYERS:
        names = set(package.read_names(repo / "infra" / "layers" / f"{layer}.txt"))
        assert not names & set(package.FORBIDDEN), layer


def _third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):  # imports under `if TYPE_CHECKING:` never run
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(child) for child in ast.walk(node)}
    modules = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in ("contactlake", "chalicelib")}


def test_lambda_code_imports_only_what_the_layers_provide(repo: Path) -> None:
    """A new third-party import must be added to a layer (and fit the 250 MB budget) or stay local-only."""
    shared = repo / "shared" / "contactlake"
    problems = []
    for path in sorted(shared.rglob("*.py")):
        relative = path.relative_to(shared).as_posix()
        for module in _third_party_imports(path):
            if module in PROVIDED or relative in LOCAL_ONLY.get(module, set()):
                continue
            problems.append(f"shared/contactlake/{relative} imports {module}")
    for name, layers in package.FUNCTION_LAYERS.items():
        for path in sorted((repo / "functions" / name).rglob("*.py")):
            if "vendor" in path.parts:
                continue
            for module in _third_party_imports(path):
                if PROVIDED.get(module) not in (*layers, "runtime", "code"):
                    problems.append(
                        f"{path.relative_to(repo)} imports {module}, which its layers {layers} lack"
                    )
    assert problems == []


def test_trim_helpers_on_a_fake_layer(tmp_path: Path) -> None:
    site = tmp_path / "python"
    files = {
        "pyarrow/lib.so": 10,
        "pyarrow/tests/test_x.py": 5,
        "pyarrow/libarrow_flight.so.2500": 7,
        "fontTools/misc/bezierTools.py": 3,
        "fontTools/misc/bezierTools.cpython-312-aarch64-linux-gnu.so": 9,
        "fontTools/misc/onlycompiled.cpython-312-aarch64-linux-gnu.so": 4,
        "pkg/module.c": 2,
        "pkg/__pycache__/module.cpython-311.pyc": 1,
    }
    for rel, size in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(b"x" * size)
    removed = package.trim(site) + package.drop_compiled_twins(site)
    left = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert left == [
        "fontTools/misc/bezierTools.py",
        "fontTools/misc/onlycompiled.cpython-312-aarch64-linux-gnu.so",
        "pyarrow/lib.so",
    ]
    assert removed == 5 + 7 + 9 + 2 + 1


def test_babel_keeps_the_report_languages_only(tmp_path: Path) -> None:
    data = tmp_path / "python" / "babel" / "locale-data"
    data.mkdir(parents=True)
    for name in ("root.dat", "en.dat", "en_GB.dat", "de_CH.dat", "uk.dat", "ff_Adlm.dat", "enx.dat"):
        (data / name).write_bytes(b"x" * 3)
    removed = package.trim_babel_locales(tmp_path / "python", {"en", "de"})
    assert sorted(p.name for p in data.iterdir()) == ["de_CH.dat", "en.dat", "en_GB.dat", "root.dat"]
    assert removed == 9


def test_the_shipped_babel_data_covers_every_report_language(tmp_path: Path) -> None:
    import babel

    from contactlake.config.model import REPORT_LANGUAGES

    site = tmp_path / "python"
    shutil.copytree(Path(babel.__file__).parent / "locale-data", site / "babel" / "locale-data")
    package.trim_babel_locales(site)
    left = {p.name.split(".")[0].split("_")[0] for p in (site / "babel" / "locale-data").glob("*.dat")}
    assert left == {"root", *REPORT_LANGUAGES}


def test_size_report_flags_functions_over_the_limit(tmp_path: Path) -> None:
    (tmp_path / "functions" / "small").mkdir(parents=True)
    (tmp_path / "functions" / "small" / "app.py").write_bytes(b"x" * 1000)
    (tmp_path / "layers" / "deps").mkdir(parents=True)
    (tmp_path / "layers" / "deps" / "big.so").write_bytes(b"")
    rows = package.size_rows(tmp_path, {"small": ("deps",)})
    assert rows[0].total == 1000
    assert rows[0].headroom == package.LAMBDA_UNZIPPED_LIMIT - 1000
    over = package.SizeRow("big", code=package.LAMBDA_UNZIPPED_LIMIT, layers=1)
    assert over.headroom < 0
    report = list(package.size_report([*rows, over], {"small": 10}))
    assert report[0].split()[:2] == ["function", "code"]
    assert "250.0" in report[1]


def test_read_names_ignores_comments_pins_and_paths(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# c\nAWS_Lambda.Powertools>=3 ; python_version>'3'\n../shared\n-r other.txt\nfpdf2\n"
    )
    assert package.read_names(requirements) == ["aws-lambda-powertools", "fpdf2"]


def test_sample_events_are_valid_json(repo: Path) -> None:
    for path in sorted((repo / "infra" / "events").glob("*.json")):
        json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("script", ["package.sh", "deploy.sh"])
def test_shell_scripts_parse(repo: Path, script: str) -> None:
    import subprocess

    path = repo / "infra" / script
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True, check=False).returncode == 0
    text = path.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    if script == "deploy.sh":
        # Without it, SAM CLI cannot package a template that uses Fn::ForEach.
        assert "export SAM_CLI_ENABLE_LANGUAGE_EXTENSIONS=1" in text
