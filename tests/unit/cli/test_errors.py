"""No traceback reaches a user: each failure is a short message with what to do, and its exit code."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from contactlake import __version__, cli
from contactlake.cli import EXIT_CODES, build_parser, main

REPO = Path(__file__).resolve().parents[3]

MISSPELT = """
[centres.south]
timezone = "Europe/London"

[centres.south.service_level]
targt = 0.75
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "syntax.toml").write_text('[centres.north]\ntimezone = "UTC"\nname =\n', encoding="utf-8")
    (tmp_path / "misspelt.toml").write_text(MISSPELT, encoding="utf-8")
    (tmp_path / "header-only.csv").write_text("call_id\n1\n", encoding="utf-8")
    return {"home": str(tmp_path / "lake"), "dir": str(tmp_path)}


CASES = [
    # (arguments, exit code, words the message must contain)
    (["sql", "SELEC * FROM kpi_daily"], 2, "the SQL does not parse at line 1, column 12"),
    (["sql", "SELECT * FROM kpi_daily WHERE centre_id = :c"], 2, "add --param c=VALUE"),
    (["sql", "SELECT * FROM no_such_table"], 2, "there is no table or view 'no_such_table'"),
    (["sql", "SELECT nothing FROM kpi_daily"], 2, "check the SQL (Athena/Trino dialect)"),
    (["sql", "@{dir}/missing.sql"], 2, "missing.sql is not a file"),
    (["sql", "SELECT 1", "--param", "oops"], 2, "use name=value"),
    (["analyse", "--from", "2026-11-20", "--to", "2026-11-10"], 2, "--from 2026-11-20 is after --to"),
    (["report", "--period", "weekly"], 2, "the lake has no contacts yet"),
    (["ingest", "{dir}/nope.csv", "--centre", "north"], 2, "is not a file"),
    (["ingest", "{dir}/header-only.csv", "--centre", "nort"], 2, "did you mean 'north'?"),
    (
        ["ingest", "{dir}/header-only.csv", "--centre", "north", "--source", "agent"],
        2,
        "did you mean 'agents'?",
    ),
    (["ingest", "{dir}/header-only.csv", "--centre", "north"], 4, "fits none of centre north's sources"),
    (
        ["--config", "{dir}/syntax.toml", "sql", "SELECT 1"],
        3,
        "syntax.toml, line 3, column 7: not valid TOML",
    ),
    (["--config", "{dir}/misspelt.toml", "config", "check"], 3, "did you mean `target`?"),
    (["--config", "{dir}/absent.toml", "demo"], 3, "absent.toml not found"),
    (["sample", "--out", "{dir}/header-only.csv/exports", "--days", "1"], 5, "header-only.csv"),
]


@pytest.mark.parametrize(("arguments", "code", "words"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_arguments_give_a_message_and_an_exit_code(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], arguments: list[str], code: int, words: str
) -> None:
    assert main(["--home", files["home"], *(a.format(**files) for a in arguments)]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("contactlake: ")
    assert words in err


@pytest.mark.parametrize(
    "arguments",
    [
        ["analyse", "--from", "02/11/2026"],
        ["sample", "--out", "x", "--days", "0"],
        ["sql", "SELECT 1", "--limit", "-3"],
        ["report", "--period", "yearly"],
        ["serve", "--port", "http"],
        ["config", "explain"],
        ["frobnicate"],
    ],
)
def test_argument_errors_are_usage_errors(capsys: pytest.CaptureFixture[str], arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(environ: object = None) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "load_settings", broken)
    arguments = ["--home", str(tmp_path), "sql", "SELECT 1"]
    assert main(arguments) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "unexpected error (RuntimeError: boom)" in err
    assert "run the command again with --debug" in err
    assert main([*arguments, "--debug"]) == 1  # after the command, too
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().splitlines()[-2].startswith("contactlake: unexpected error")


def test_bad_environment_variable_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTACTLAKE_SMTP_PORT", "twenty-five")
    assert main(["--home", str(tmp_path), "sql", "SELECT 1"]) == 3
    assert "CONTACTLAKE_SMTP_PORT='twenty-five': use a port number" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("message", "code", "words"),
    [
        ("stored; e-mail failed: connection refused", 5, "check the mail settings"),
        ("not stored: the report has no table to export as CSV", 1, "this is a bug"),
    ],
)
def test_failed_reports_exit_by_cause(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    message: str,
    code: int,
    words: str,
) -> None:
    import contactlake.report

    failed = SimpleNamespace(
        audience="operations", centre_id="north", period="daily", status="failed", keys=(), message=message
    )
    monkeypatch.setattr(contactlake.report, "build_reports", lambda *args, **kwargs: [failed])
    arguments = ["--home", str(tmp_path), "report", "--period", "daily", "--as-of", "2026-11-02"]
    assert main(arguments) == code
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (
            ModuleNotFoundError("No module named 'chalice'", name="chalice"),
            5,
            "pip install 'contactlake[api]'",
        ),
        (PermissionError(13, "Permission denied", "/lake/x"), 5, "Permission denied (/lake/x)"),
        (cli.CommitBusy("lease held"), 5, "run the command again when it has finished"),
        (cli.QueryError("Athena throttled"), 5, "Athena workgroup"),
        (cli.ConfigError("bad"), 3, "bad"),
        (cli.InputDataError("refused"), 4, "refused"),
    ],
)
def test_each_failure_class_has_its_exit_code(error: Exception, code: int, words: str) -> None:
    got, message = cli._explain(error)
    assert got == code
    assert words in message


def test_json_output_has_numbers_as_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = (
        "SELECT sum(x) AS total, count_if(ok) AS ok, avg(x) AS mean, CAST(1.25 AS DECIMAL(5, 2)) AS price, "
        "DATE '2026-11-02' AS day FROM (VALUES (1, true), (2, false)) AS t(x, ok)"
    )
    assert main(["--home", str(tmp_path), "sql", sql, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"total": 3, "ok": 1, "mean": 1.5, "price": 1.25, "day": "2026-11-02"}
    ]


@pytest.mark.slow
def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`contactlake sql … --format json | head`: the reader leaves early; no BrokenPipeError trace."""
    command = [sys.executable, "-m", "contactlake.cli", "--home", str(tmp_path), "sql"]
    command += ["SELECT * FROM range(300000)", "--format", "json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == b"["
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert err.decode() == ""
    assert process.returncode == 141


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"contactlake {__version__}"


def _parsers(
    parser: argparse.ArgumentParser, name: str = "contactlake"
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(name, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                found += _parsers(sub, f"{name} {sub_name}")
    return found


def test_every_option_has_help() -> None:
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, parser in _parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def test_exit_codes_are_documented_in_help_and_docs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    docs = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for code, meaning in EXIT_CODES:
        assert f"{code:>3}  {meaning}" in help_text
        assert f"| {code} | {meaning} |" in docs


def test_config_check_prints_every_centre_with_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "valid — 3 centre(s), 7 stakeholder(s), 3 API caller(s), 2 mapping file(s)" in out
    effective = tomllib.loads(out)["centres"]
    assert sorted(effective) == ["anonbank", "north", "south"]
    assert effective["south"]["fcr_window_hours"] == 72  # not in the file: the default is shown
    assert effective["south"]["service_level"]["target"] == 0.75
    assert effective["anonbank"]["sources"]["calls"] == {
        "adapter": "anonymous_bank",
        "allow_empty": False,
        "schedule": "daily",
        "replaces": "nothing",
        "carry_horizon_hours": 24,
    }


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        (None, "mapping file 'mappings/calls.toml' not found"),
        ("[columns\n", "calls.toml, line 1, column 9: not valid TOML"),
    ],
)
def test_config_check_reads_the_mapping_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mapping: str | None, words: str
) -> None:
    config = tmp_path / "contactlake.toml"
    config.write_text(
        '[centres.north]\n[centres.north.sources.acd]\nadapter = "generic_csv"\nmapping = "mappings/calls.toml"\n'
    )
    if mapping is not None:
        (tmp_path / "mappings").mkdir()
        (tmp_path / "mappings" / "calls.toml").write_text(mapping)
    assert main(["--config", str(config), "config", "check"]) == 3
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err


def test_config_check_one_centre_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "--centre", "north", "--format", "json"]) == 0
    out = capsys.readouterr().out
    document = json.loads(out[out.index("\n") + 1 :])
    assert list(document["centres"]) == ["north"]
    assert document["centres"]["north"]["upload_deadline_local"] == "06:00"


@pytest.mark.slow
def test_make_demo_says_it_is_installing_and_shows_progress(tmp_path: Path) -> None:
    """A first `make demo` installs for minutes: it says so first, and pip's progress is not hidden."""
    env = {**os.environ, "MAKEFLAGS": ""}
    result = subprocess.run(
        ["make", "-n", "demo", f"VENV={tmp_path / 'venv'}"],
        cwd=REPO, capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    install = next(i for i, line in enumerate(lines) if "pip install" in line and "-e" in line)
    assert any("installing" in line and "echo" in line for line in lines[:install])
    assert "--quiet" not in lines[install]
