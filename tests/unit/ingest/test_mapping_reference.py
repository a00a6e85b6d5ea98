"""docs/sources.md's canonical-field reference is generated from the code, and stays so."""

from __future__ import annotations

from pathlib import Path

from contactlake.ingest.mapping import ACTIVITY_FIELDS, CONTACT_FIELDS, field_reference

SOURCES = Path(__file__).resolve().parents[3] / "docs" / "sources.md"
BEGIN = "<!-- BEGIN GENERATED MAPPING FIELDS (contactlake.ingest.mapping.field_reference; a test keeps it current) -->"
END = "<!-- END GENERATED MAPPING FIELDS -->"


def test_the_reference_in_sources_md_is_current() -> None:
    block = SOURCES.read_text(encoding="utf-8").split(BEGIN, 1)[1].split(END, 1)[0]
    assert block.strip("\n") == field_reference().strip("\n"), (
        "regenerate: python -c 'from contactlake.ingest.mapping import field_reference; "
        "print(field_reference())' and paste it between the markers in docs/sources.md"
    )


def test_every_field_is_listed_with_a_meaning() -> None:
    rows = [line.split(" | ") for line in field_reference().splitlines()[2:]]
    assert len(rows) == len(CONTACT_FIELDS) + len(ACTIVITY_FIELDS)
    assert all(row[-1].strip(" |") for row in rows)
