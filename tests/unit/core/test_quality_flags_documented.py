"""Each flag rule's handling is written once in ``schema.QUALITY_FLAGS`` and stated the same in the docs."""

from __future__ import annotations

import re
from pathlib import Path

from contactlake import schema

VALIDATION = Path(__file__).resolve().parents[3] / "docs" / "validation.md"


def test_the_flags_table_in_validation_md_is_schema_quality_flags() -> None:
    text = VALIDATION.read_text(encoding="utf-8")
    section = text.split("## Flags", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_.]+)` \| .+ \| (.+) \|$", section, flags=re.MULTILINE)
    assert dict(rows) == schema.QUALITY_FLAGS
    assert list(dict(rows)) == list(schema.QUALITY_FLAGS)  # the order quality_flags lists them in
