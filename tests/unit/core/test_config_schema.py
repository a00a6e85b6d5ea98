"""The configuration file is checked against a schema: a mistake is an error naming file, table and key."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from contactlake.config import ConfigError, effective_config, load_app_config, parse_app_config
from contactlake.config.schema import json_schema

REPO = Path(__file__).resolve().parents[3]
SCHEMA_FILE = REPO / "docs" / "contactlake.schema.json"

SOUTH = """
[centres.south]
name = "South (Bristol)"
timezone = "Europe/London"
cost_per_agent_hour = 22.5

[centres.south.service_level]
threshold_seconds = 30
{service_level}
"""


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "contactlake.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_app_config(_write(tmp_path, text))
    return str(raised.value)


def test_misspelt_key_is_refused_with_the_nearest_name(tmp_path: Path) -> None:
    path = _write(tmp_path, SOUTH.format(service_level="targt = 0.75"))
    with pytest.raises(ConfigError) as raised:
        load_app_config(path)
    assert str(raised.value) == (
        f"{Path(path).resolve()}: [centres.south.service_level] unknown key `targt`: did you mean `target`?"
    )


def test_number_in_quotes_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, SOUTH.format(service_level="target = 0.75").replace("22.5", '"24"'))
    assert 'contactlake.toml: [centres.south] `cost_per_agent_hour` = "24" should be a number' in message
    assert "without quotes (24)" in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "target = 1.5",
            "[centres.south.service_level] `target` = 1.5: input should be less than or equal to 1",
        ),
        ("target = 0", "`target` = 0: input should be greater than 0"),
        ("threshold_seconds = 20.5", "`threshold_seconds` = 20.5 should be a whole number"),
        ('variant = "abandons_ignord"', "did you mean `abandons_ignored`?"),
    ],
)
def test_types_and_ranges_are_checked(tmp_path: Path, line: str, expected: str) -> None:
    text = SOUTH.format(service_level=line).replace("threshold_seconds = 30\n", "", line.startswith("thr"))
    assert expected in _error(tmp_path, text)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = SOUTH.format(service_level="targt = 0.75") + "\n[centres.south.plan]\ncolour = 1\n[centre]\n"
    message = _error(tmp_path, text.replace("Europe/London", "Europe/Lundon"))
    lines = message.splitlines()
    assert lines[0] == "4 problems in the configuration:"
    assert any('[centres.south] `timezone` = "Europe/Lundon"' in line for line in lines)
    assert any(
        "[centres.south.plan] unknown key `colour`: the keys allowed here are" in line for line in lines
    )
    assert any("(top level) unknown key `centre`: did you mean `centres`?" in line for line in lines)


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    message = _error(tmp_path, '[centres.north]\ntimezone = "UTC"\nname =\n')
    assert message.startswith(
        f"{(tmp_path / 'contactlake.toml').resolve()}, line 3, column 7: not valid TOML"
    )


def test_cross_references_suggest_the_nearest_centre() -> None:
    raw = {
        "centres": {"north": {}},
        "stakeholders": {"board": {"audience": "executive", "centres": ["nort"]}},
    }
    with pytest.raises(ConfigError) as raised:
        parse_app_config(raw, source_path="c.toml")
    assert str(raised.value) == (
        "c.toml: [stakeholders.board] centres: unknown centre 'nort'; did you mean 'north'? (configured: north)"
    )


def test_bad_centre_id_and_api_key_are_explained() -> None:
    raw: dict[str, Any] = {
        "centres": {"North": {}},
        "api": {"callers": {"a": {"centres": ["*"], "api_key_sha256": "the-key-itself"}}},
    }
    with pytest.raises(ConfigError) as raised:
        parse_app_config(raw, source_path="c.toml")
    message = str(raised.value)
    assert '[centres] table name "North" is not valid: a centre id has 2-32 characters' in message
    assert '[api.callers.a] `api_key_sha256` = "the-key-itself" is not valid' in message


def test_a_single_string_is_a_list_of_one() -> None:
    config = parse_app_config(
        {"centres": {"north": {}}, "stakeholders": {"ops": {"audience": "operations", "periods": "daily"}}}
    )
    assert config.stakeholders[0].periods == ("daily",)
    assert config.stakeholders[0].centres == ("north",)
    assert config.stakeholders[0].formats == ("html",)


def test_effective_configuration_reads_back_as_the_same_configuration() -> None:
    shipped = load_app_config()
    effective = effective_config(shipped)
    south = effective["centres"]["south"]
    assert south["fcr_window_hours"] == 72  # a default: the file does not set it for South
    assert south["service_level"] == {
        "threshold_seconds": 30,
        "target": 0.75,
        "variant": "short_abandons_positive",
    }
    again = parse_app_config(json.loads(json.dumps(effective)), source_path=shipped.source_path)
    assert again == shipped


def test_committed_json_schema_is_current() -> None:
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == json_schema(), (
        "regenerate it: contactlake config schema > docs/contactlake.schema.json"
    )


def test_json_schema_accepts_the_shipped_file_and_refuses_a_misspelling() -> None:
    packaged = resources.files("contactlake") / "sample_data" / "contactlake.toml"
    document = tomllib.loads(packaged.read_text(encoding="utf-8"))
    jsonschema.validate(document, json_schema())
    document["centres"]["south"]["service_level"]["targt"] = 0.75
    with pytest.raises(jsonschema.ValidationError, match="targt"):
        jsonschema.validate(document, json_schema())


def test_centre_lookup_suggests_the_nearest_id() -> None:
    config = replace(load_app_config(), source_path="c.toml")
    with pytest.raises(ConfigError, match=r"unknown centre 'nort'; did you mean 'north'\?"):
        config.centre("nort")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("05:30", "05:30:00"), (time(7, 15), "07:15:00"), (6, 'should be a time such as "06:00"')],
)
def test_upload_deadline_is_a_time_of_day_not_seconds(value: object, expected: str) -> None:
    raw = {"centres": {"north": {"upload_deadline_local": value}}}
    try:
        got = str(parse_app_config(raw, source_path="c.toml").centre("north").upload_deadline_local)
    except ConfigError as error:
        got = str(error)
    assert expected in got


def test_reject_flags_name_flag_rules_and_read_back() -> None:
    raw: dict[str, Any] = {"centres": {"north": {"reject_flags": "time.duration_mismatch"}}}
    config = parse_app_config(raw)
    assert config.centres["north"].reject_flags == frozenset({"time.duration_mismatch"})
    assert parse_app_config(json.loads(json.dumps(effective_config(config)))) == config
    raw["centres"]["north"]["reject_flags"] = ["time.too_old"]  # a rejection already, not a flag
    with pytest.raises(ConfigError) as raised:
        parse_app_config(raw, source_path="c.toml")
    assert "reject_flags" in str(raised.value)
    assert "time.duration_mismatch" in str(raised.value)


def test_a_locale_outside_the_shipped_report_languages_is_refused_with_where_to_add_it() -> None:
    with pytest.raises(ConfigError, match="REPORT_LANGUAGES"):
        parse_app_config({"centres": {"north": {"timezone": "Europe/London", "locale": "uk_UA"}}})
    centre = parse_app_config({"centres": {"north": {"timezone": "Europe/Berlin", "locale": "de_DE"}}})
    assert centre.centre("north").locale == "de_DE"
