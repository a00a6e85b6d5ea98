"""A CSV and an XLSX from each audience open in pandas and openpyxl with typed columns (issue 16)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import openpyxl
import pandas as pd
import pytest

from contactlake.report.build import _render, build_document
from contactlake.report.render import csv_name
from tests.functional.report.lake import SmallLake
from tests.functional.report.test_browser_render import AUDIENCES

pytestmark = pytest.mark.slow
NUMERIC = ("int", "pct", "signed_pct", "pp", "seconds", "money", "decimal")


@pytest.mark.parametrize(("audience", "centres", "period", "as_of", "queues"), [a[:5] for a in AUDIENCES])
def test_csv_and_xlsx_open_as_typed_data(
    small_lake: SmallLake, audience: str, centres: tuple[str, ...], period: str, as_of: date,
    queues: tuple[str, ...],
) -> None:  # fmt: skip
    report = build_document(
        small_lake.ports(), small_lake.config, audience=audience, centre_ids=centres, period=period,
        as_of=as_of, queues=queues,
    )  # fmt: skip
    primary = next(t for t in report.data_tables if t.name == report.primary_table)
    assert any(t.rows for t in report.data_tables), f"the {audience} sample has rows to check"
    frame = pd.read_csv(io.BytesIO(_render(report, "csv")), encoding="utf-8-sig")
    assert list(frame.columns) == [csv_name(c, report.style) for c in primary.columns]
    for column in primary.columns:
        series = frame[csv_name(column, report.style)]
        if column.fmt in NUMERIC and series.notna().any():
            assert pd.api.types.is_numeric_dtype(series), (audience, column.key, series.dtype)
        if column.fmt == "date":
            assert pd.to_datetime(series, format="ISO8601").notna().all()
    book = openpyxl.load_workbook(io.BytesIO(_render(report, "xlsx")))
    for table in report.data_tables:
        sheet = book[table.name[:28]]
        assert sheet.freeze_panes == "A2"
        for row_cells, row in zip(sheet.iter_rows(min_row=2), table.rows, strict=True):
            for cell, value, column in zip(row_cells, row, table.columns, strict=True):
                if isinstance(value, date):
                    assert isinstance(cell.value, datetime), (table.name, column.key)
                elif column.fmt == "seconds" and isinstance(value, int | float):
                    # a duration: a number of days formatted as m:ss (or h:mm:ss), read as a timedelta
                    assert isinstance(cell.value, timedelta), (table.name, column.key)
                    assert abs(cell.value.total_seconds() - value) < 1e-3, (table.name, column.key)
                elif column.fmt in NUMERIC and isinstance(value, int | float):
                    assert isinstance(cell.value, int | float), (table.name, column.key)
                    assert cell.number_format != "General", (table.name, column.key)
