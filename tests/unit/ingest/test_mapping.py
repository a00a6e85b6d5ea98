"""Mapping files: validation of their content, a digest of what they say, and reload after a fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contactlake.config import ConfigError
from contactlake.ingest.mapping import load_mapping, mapping_digest, parse_mapping

BASE = {"columns": {"contact_id": "id", "initiated": "start", "outcome": "result"}}


def test_required_fields_unknown_fields_and_codes() -> None:
    with pytest.raises(ConfigError, match=r"required fields \['outcome'\]"):
        parse_mapping({"columns": {"contact_id": "id", "initiated": "start"}})
    with pytest.raises(ConfigError, match=r"unknown fields \['colour'\]"):
        parse_mapping({"columns": {**BASE["columns"], "colour": "c"}})
    with pytest.raises(ConfigError, match="maps to \\['won'\\]"):
        parse_mapping({**BASE, "values": {"outcome": {"W": "won"}}})
    with pytest.raises(ConfigError, match="one character"):
        parse_mapping({**BASE, "csv": {"delimiter": ";;"}})
    assert parse_mapping({**BASE, "csv": {"delimiter": "\\t"}}).delimiter == "\t"


def test_digest_follows_content_not_name() -> None:
    one = parse_mapping(BASE, name="a.toml")
    assert mapping_digest(one) == mapping_digest(parse_mapping(BASE, name="b.toml"))
    changed = parse_mapping({**BASE, "values": {"outcome": {"A": "answered"}}})
    assert mapping_digest(changed) != mapping_digest(one)


def test_a_fixed_file_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[columns]\ncontact_id = "id"\ninitiated = "start"\noutcome = "result"\n')
    first = load_mapping("m.toml", str(tmp_path))
    path.write_text(
        '[columns]\ncontact_id = "id"\ninitiated = "start"\noutcome = "result"\n[values.outcome]\nA = "answered"\n'
    )
    os.utime(path, ns=(os.stat(path).st_mtime_ns + 10**9,) * 2)
    second = load_mapping("m.toml", str(tmp_path))
    assert first.values == {}
    assert second.values == {"outcome": {"A": "answered"}}
    assert load_mapping("acd_calls.toml").columns["contact_id"] == "call_id"  # packaged fallback
    with pytest.raises(ConfigError, match="not found"):
        load_mapping("missing.toml", str(tmp_path))
