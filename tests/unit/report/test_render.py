"""Renderers: HTML escapes everything, spreadsheets neutralise formulas, numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime

import pytest

from contactlake.report.model import Measured, Report, format_value
from contactlake.report.render import render_csv, render_html, render_text, render_xlsx, safe_cell
from tests.unit.report.conftest import HOSTILE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 7700 900999", "'+44 7700 900999"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("billing", "billing"),
        (-2.5, -2.5),
        (1227, 1227),
        (None, None),
        (float("nan"), None),
        (date(2026, 11, 9), "2026-11-09"),
        (datetime(2026, 11, 9, 8, 15), "2026-11-09 08:15:00"),
        (Measured(4.2, "money"), 4.2),
        (True, "true"),
    ],
)
def test_safe_cell(value: object, expected: object) -> None:
    assert safe_cell(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (0.9405, "pct", "94.0%"),
        (0.031, "signed_pct", "+3.1%"),
        (-0.05, "pp", "-5.0 pts"),
        (12.4, "seconds", "12 s"),
        (750.0, "seconds", "12.5 min"),
        (-45816.0, "money", "−£45,816.00"),
        (7.09e-05, "decimal", "7.09E-5"),
        (0.4567, "decimal", "0.46"),
        (1227.4, "int", "1,227"),
        (None, "pct", "–"),
        (float("nan"), "int", "–"),
        (Measured(0.912, "pct"), "text", "91.2%"),
    ],
)
def test_format_value(value: object, fmt: str, text: str) -> None:
    assert format_value(value, fmt) == text  # type: ignore[arg-type]


def test_csv_is_the_primary_table_with_formulas_neutralised(report: Report) -> None:
    data = render_csv(report.tables[0])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["queue", "offered", "service_level_pct", "asa_seconds"],
        ["billing", "1227", "94.0", "2.8"],
        ['\'=HYPERLINK("http://evil.example","x")', "3", "", "-4.0"],
        [HOSTILE, "0", "50.0", "700.0"],
        ["'+44 sales", "12", "100.0", "0.0"],
    ]


def test_xlsx_has_a_sheet_per_table_typed_numbers_and_no_formulas(report: Report) -> None:
    with zipfile.ZipFile(io.BytesIO(render_xlsx(report))) as book:
        names = book.namelist()
        sheets = sorted(n for n in names if n.startswith("xl/worksheets/sheet"))
        assert len(sheets) == 4  # about + queues + plan + the attachment-only detail
        xml = "".join(book.read(n).decode() for n in sheets)
        strings = book.read("xl/sharedStrings.xml").decode()
        workbook = book.read("xl/workbook.xml").decode()
    assert re.findall(r'<sheet name="([^"]+)"', workbook) == ["about", "queues", "plan", "detail"]
    assert "<f>" not in xml
    assert "&apos;=HYPERLINK" in strings or "'=HYPERLINK" in strings
    assert "'@SUM(A1)" in strings
    assert "'-1+2" in strings
    assert "<v>1227</v>" in xml
    assert "<v>-4.629629629629629E-05</v>" in xml  # -4 s as an Excel duration (days), shown as m:ss
    assert "<v>4.2</v>" in xml


def test_html_escapes_uploaded_text_and_has_no_script(report: Report) -> None:
    page = render_html(report, for_email=True, attachments=["report.pdf"], exports=["pdf", "xlsx"])
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert 'src="cid:sl_heatmap@contactlake"' in page
    assert 'alt="Lowest service level: 61% at 08:00."' in page
    assert "1,227" in page
    assert "94.0%" in page
    assert "£4.20" in page
    assert "91.2%" in page
    assert "Incomplete data" in page
    assert "agents export for 2026-11-09" in page
    assert "All checks: all 2 rows are in the XLSX export." in page
    assert "@SUM(A1)" not in page  # attachment-only rows are not in the e-mail
    assert "Attached: report.pdf." in page


def test_stored_html_embeds_images(report: Report) -> None:
    page = render_html(report, for_email=False)
    assert 'src="data:image/png;base64,iVBORw0KGgo' in page
    assert "cid:" not in page


def test_text_alternative_reads_without_html(report: Report) -> None:
    text = render_text(report)
    assert text.startswith("Operations daily report\nNorth (Leeds) · Monday 9 November 2026\n")
    assert "[ERROR] 1 expected upload(s) missing" in text
    assert "  Service level: 94.1% (target 80% in 20 s)" in text
    assert "  1. North missed its abandon rate target: 6.1% against 5.0%." in text
    assert "[Chart] Service level by hour: Lowest service level: 61% at 08:00." in text
    assert re.search(r"billing\s+1,227\s+94\.0%\s+3 s", text)
