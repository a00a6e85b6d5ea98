"""Per-field time formats and zones, and defaults that fill blanks, in a mapping file (issue 14)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from contactlake.config import parse_app_config
from tests.fixtures.lakes import LocalLake, centres

MAPPING = """
kind = "contacts"
[csv]
delimiter = ";"
[time]
format = "%d/%m/%Y %H:%M"
[time.formats]
source_updated = "iso8601"
[time.zones]
source_updated = "UTC"
[columns]
contact_id = "id"
initiated = "start"
source_updated = "changed"
outcome = "result"
queue = "queue"
[values.outcome]
A = "answered"
X = "abandoned"
[defaults]
queue = "general"
"""


def test_each_field_is_read_in_its_own_format_and_zone(tmp_path: Path) -> None:
    raw = centres({"calls": "calls.toml"})
    lake = LocalLake.create(tmp_path)
    lake.config = parse_app_config(raw, source_path=str(tmp_path / "config" / "contactlake.toml"))
    lake.write_mapping("calls.toml", MAPPING)
    text = "id;start;changed;result;queue\nK1;15/07/2024 09:30;2024-07-15T09:40:00;X;\nK2;15/07/2024 10:00;2024-07-15T10:05:00;X;sales\n"
    manifest = lake.ingest("north/calls/calls-2024-07-15.csv", text.encode())
    assert (manifest.rows_stored, manifest.rows_quarantined) == (2, 0)
    rows = lake.rows(lake.contacts(), "contact_id", "initiated_utc", "source_updated_utc", "queue")
    # London is on summer time (UTC+1): the start is local; the change time is UTC, as [time.zones] says.
    assert rows == [
        ("K1", datetime(2024, 7, 15, 8, 30), datetime(2024, 7, 15, 9, 40), "general"),  # blank → default
        ("K2", datetime(2024, 7, 15, 9, 0), datetime(2024, 7, 15, 10, 5), "sales"),
    ]
