"""A report over centres with different currencies (issue 16): each centre's money in its own currency,
never summed or shown in another's; the CSV carries the currency per row, the XLSX a format per currency."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import openpyxl
import pandas as pd
import pytest

from contactlake.report.build import _render, build_document
from contactlake.report.model import Measured, format_value
from tests.functional.report.lake import SmallLake

pytestmark = pytest.mark.slow


def _executive(lake: SmallLake, south_currency: str) -> object:
    config = lake.config
    south = replace(config.centres["south"], currency=south_currency)
    config = replace(config, centres={**config.centres, "south": south})
    return build_document(
        lake.ports(), config, audience="executive", centre_ids=["north", "south"], period="monthly",
        as_of=date(2026, 11, 9), queues=[],
    )  # fmt: skip


def test_each_centre_keeps_its_currency_and_nothing_is_added_across(small_lake: SmallLake) -> None:
    report = _executive(small_lake, "EUR")
    assert report.style.currency == ""  # no one report currency
    tables = {t.name: t for t in report.data_tables}
    plan, cost = tables["plan"], tables["cost"]
    money = [
        (row[0], cell)
        for row in plan.rows
        for cell in row
        if isinstance(cell, Measured) and cell.fmt == "money"
    ]
    assert money, "the sample has cost figures for both centres"
    names = {c.centre_id: c.name for c in small_lake.config.centres.values()}
    for centre, cell in money:
        expected = "EUR" if centre == names["south"] else "GBP"
        assert cell.currency == expected, (centre, cell)
        if cell.value is not None:
            assert ("€" if expected == "EUR" else "£") in format_value(cell, "money", report.style)
    units = {(row[0], row[4]) for row in plan.rows if row[4] in ("EUR", "GBP")}
    assert units == {(names["north"], "GBP"), (names["south"], "EUR")}
    # The cost table says each row's currency; its money columns carry no one unit in their names.
    assert [c.key for c in cost.columns][:2] == ["centre", "currency"]
    assert {(row[0], row[1]) for row in cost.rows} == {(names["north"], "GBP"), (names["south"], "EUR")}
    # No total row sums money over the centres: one row per centre and month.
    assert len({row[0] for row in cost.rows}) == len(cost.rows)

    frame = pd.read_csv(
        io.BytesIO(_render(replace(report, primary_table="cost"), "csv")), encoding="utf-8-sig"
    )
    assert "staff_cost" in frame.columns
    assert not any(c.endswith("_gbp") for c in frame.columns)
    assert set(frame["currency"]) == {"GBP", "EUR"}

    sheet = openpyxl.load_workbook(io.BytesIO(_render(report, "xlsx")))["cost"]
    header = [c.value for c in sheet[1]]
    staff = header.index("Staff cost")
    formats = {row[1].value: row[staff].number_format for row in sheet.iter_rows(min_row=2)}
    assert "€" in formats["EUR"]
    assert "£" not in formats["EUR"]
    assert "£" in formats["GBP"]

    html = _render(report, "html").decode()
    assert "€" in html
    assert "£" in html


def test_one_currency_keeps_the_report_currency(small_lake: SmallLake) -> None:
    report = _executive(small_lake, "GBP")
    assert report.style.currency == "GBP"
    cost = next(t for t in report.data_tables if t.name == "cost")
    assert "currency" not in [c.key for c in cost.columns]
    frame = pd.read_csv(
        io.BytesIO(_render(replace(report, primary_table="cost"), "csv")), encoding="utf-8-sig"
    )
    assert "staff_cost_gbp" in frame.columns
