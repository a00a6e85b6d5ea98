"""Rendering a :class:`Report` to HTML (e-mail body and stored page), plain text, CSV and XLSX.

Jinja2 autoescapes everything (queue names and agent ids come from uploads). Spreadsheet cells that
begin with ``= + - @`` or a tab / carriage return are prefixed with ``'`` so no spreadsheet evaluates
them as formulas (OWASP "CSV injection"); numbers stay numbers.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import textwrap
from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING

from contactlake.report.model import Cell, Chart, Measured, Report, Table

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = [
    "AUDIENCE_LABELS",
    "render_csv",
    "render_html",
    "render_text",
    "render_xlsx",
    "safe_cell",
]

AUDIENCE_LABELS = {
    "executive": "Executive",
    "operations": "Operations",
    "workforce": "Workforce planning",
    "team_leader": "Team leader",
    "data_quality": "Data quality",
    "vendor": "Vendor service",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("contactlake.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
    )


def _data_uri(chart: Chart) -> str:
    return "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")


def _cid_uri(chart: Chart) -> str:
    return f"cid:{chart.cid}"


def render_html(report: Report, *, for_email: bool, attachments: Sequence[str] = ()) -> str:
    """The e-mail body (images as ``cid:`` parts) or a self-contained page (images as data URIs)."""
    img_src: Callable[[Chart], str] = _cid_uri if for_email else _data_uri
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        img_src=img_src,
        audience_label=AUDIENCE_LABELS.get(report.audience, report.audience),
        attachments=list(attachments),
    )


def render_text(report: Report) -> str:
    """The plain-text alternative: what a text-only client or a screen reader gets first."""
    lines = [report.title, f"{report.scope.label} · {report.window.label}", "", report.summary, ""]
    for banner in report.banners:
        lines += [*textwrap.wrap(f"[{banner.level.upper()}] {banner.text}", 78), ""]
    for section in report.sections:
        lines += [section.title, "-" * len(section.title)]
        if section.intro:
            lines += [*textwrap.wrap(section.intro, 78), ""]
        lines += [
            f"  {tile.label}: {tile.value}" + (f" ({tile.note})" if tile.note else "")
            for tile in section.tiles
        ]
        lines += [f"  {n}. {line}" for n, bullet in enumerate(section.bullets, 1) for line in [bullet]]
        for chart in section.charts:
            lines += textwrap.wrap(f"[Chart] {chart.title}: {chart.alt}", 78)
        for table in section.tables:
            if table.attachment_only:
                lines += ["", f"{table.title}: all {len(table.rows)} rows are in the XLSX export."]
            else:
                lines += ["", table.title, *_text_table(table)]
        lines.append("")
    if report.internal_only:
        lines.append("Internal only: agent-level figures; do not forward outside the organisation.")
    return "\n".join(lines) + "\n"


def _text_table(table: Table, max_rows: int = 25) -> list[str]:
    header = [c.label for c in table.columns]
    rows = table.formatted()[:max_rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    out = ["  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out += ["  " + "  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    if len(table.rows) > max_rows:
        out.append(f"  … {len(table.rows) - max_rows} more rows in the attachments")
    return out


def safe_cell(value: Cell) -> str | int | float | None:
    """A value fit for a spreadsheet: text that a spreadsheet would evaluate is neutralised with ``'``."""
    if isinstance(value, Measured):
        value = value.value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = (
        value.isoformat(sep=" ")
        if isinstance(value, datetime)
        else (value.isoformat() if isinstance(value, date) else str(value))
    )
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(table: Table) -> bytes:
    """One table as UTF-8 CSV (with BOM, so spreadsheet programs detect the encoding)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow(["" if (v := safe_cell(cell)) is None else v for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:28] or "data"
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base[:26]}_{n}"
    used.add(candidate.lower())
    return candidate


def render_xlsx(report: Report) -> bytes:
    """Every table of the report as its own sheet, numbers typed, plus a cover sheet saying what it is."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    workbook.set_properties({"title": report.title, "author": "contactlake", "created": report.generated_at})
    bold = workbook.add_format({"bold": True})
    formats = {
        "pct": workbook.add_format({"num_format": "0.0%"}),
        "signed_pct": workbook.add_format({"num_format": "+0.0%;-0.0%"}),
        "pp": workbook.add_format({"num_format": "+0.0%;-0.0%"}),
        "int": workbook.add_format({"num_format": "#,##0"}),
        "seconds": workbook.add_format({"num_format": "#,##0.0"}),
        "money": workbook.add_format({"num_format": "#,##0.00"}),
        "decimal": workbook.add_format({"num_format": "#,##0.00"}),
    }
    used: set[str] = set()
    cover = workbook.add_worksheet(_sheet_name("about", used))
    cover.write_string(0, 0, str(safe_cell(report.title)), bold)
    cover.write_string(1, 0, str(safe_cell(f"{report.scope.label} · {report.window.label}")))
    cover.write_string(2, 0, str(safe_cell(f"Period {report.window.start} to {report.window.end}")))
    cover.write_string(3, 0, str(safe_cell(report.summary)))
    for offset, banner in enumerate(report.banners):
        cover.write_string(5 + offset, 0, str(safe_cell(f"{banner.level.upper()}: {banner.text}")))
    cover.set_column(0, 0, 100)
    for table in report.tables:
        sheet = workbook.add_worksheet(_sheet_name(table.name, used))
        for col, column in enumerate(table.columns):
            sheet.write_string(0, col, str(safe_cell(column.label)), bold)
            sheet.set_column(col, col, max(10, min(40, len(column.label) + 2)))
        for r, row in enumerate(table.rows, start=1):
            for col, (cell, column) in enumerate(zip(row, table.columns, strict=True)):
                value = safe_cell(cell)
                if value is None:
                    sheet.write_blank(r, col, None)
                elif isinstance(value, int | float):
                    fmt = cell.fmt if isinstance(cell, Measured) else column.fmt
                    sheet.write_number(r, col, value, formats.get(fmt))
                else:
                    sheet.write_string(r, col, value)
        sheet.freeze_panes(1, 0)
        if table.rows:
            sheet.autofilter(0, 0, len(table.rows), len(table.columns) - 1)
    workbook.close()
    return buffer.getvalue()
