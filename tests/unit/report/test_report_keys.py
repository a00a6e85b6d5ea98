"""The reports-area key (<scope>/<audience>/<period>/<file>): built by the report builder, read by the API."""

from __future__ import annotations

from datetime import date

import pytest

from contactlake.report.keys import (
    REPORT_FILE,
    ReportKey,
    parse_report_key,
    report_key,
    scope_centre_ids,
    scope_key,
)
from contactlake.report.model import Scope


@pytest.mark.parametrize(
    ("scope", "queues", "ext", "expected"),
    [
        ("north", (), "pdf", "north/operations/weekly/2026-11-02.pdf"),
        ("all", (), "held.json", "all/operations/weekly/2026-11-02.held.json"),
        (
            "north+south",
            ("Sales", "Billing & Co"),
            "csv",
            "north+south/operations/weekly/2026-11-02_sales_billing-co.csv",
        ),
    ],
)
def test_built_keys_parse_back_and_are_downloadable(
    scope: str, queues: tuple[str, ...], ext: str, expected: str
) -> None:
    key = report_key(scope, "operations", "weekly", date(2026, 11, 2), ext, queues)
    assert key == expected
    parsed = parse_report_key(key)
    assert parsed == ReportKey(scope, "operations", "weekly", expected.rsplit("/", 1)[1])
    assert str(parsed) == key
    assert (parsed.date, parsed.format) == ("2026-11-02", ext)
    assert REPORT_FILE.fullmatch(parsed.file)


def test_anything_but_four_segments_is_not_a_report_key() -> None:
    assert parse_report_key("north/operations/weekly") is None
    assert parse_report_key("north/operations/weekly/2026-11-02.pdf/extra") is None
    assert not REPORT_FILE.fullmatch("../../etc/passwd")
    assert not REPORT_FILE.fullmatch("2026-11-02.exe")


def test_scope_segment_round_trip() -> None:
    configured = ["south", "north", "east"]
    assert scope_key(["north"], all_centres=False) == "north"
    assert scope_key(["east", "north", "south"], all_centres=True) == "all"
    assert scope_key(["north", "south"], all_centres=False) == "north+south"
    assert scope_centre_ids("all", configured) == ["east", "north", "south"]
    assert scope_centre_ids("north+south", configured) == ["north", "south"]
    assert Scope(("north", "south"), ("North", "South")).key == "north+south"
