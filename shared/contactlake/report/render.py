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
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from contactlake.report.model import Cell, Chart, Column, Format, Measured, NumberStyle, Report, Table

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = [
    "AUDIENCE_LABELS",
    "csv_name",
    "detail_note",
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


def detail_note(table: Table, exports: Sequence[str]) -> str:
    """Where a detail table kept out of the e-mail and PDF is: said by what this recipient actually gets."""
    rows = f"{len(table.rows):,} row{'s' if len(table.rows) != 1 else ''}"
    if "xlsx" in exports:
        return f"{table.title}: all {rows} are in the XLSX export."
    return (
        f"{table.title}: {rows}, not shown here. They are delivered in the XLSX export, which this "
        'report is not sent with (add "xlsx" to the stakeholder\'s formats to receive it).'
    )


def render_html(
    report: Report, *, for_email: bool, attachments: Sequence[str] = (), exports: Sequence[str] = ()
) -> str:
    """The e-mail body (images as ``cid:`` parts) or a self-contained page (images as data URIs).

    ``exports`` are the formats delivered with it (what the detail tables' notes point to).
    """
    img_src: Callable[[Chart], str] = _cid_uri if for_email else _data_uri
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        img_src=img_src,
        audience_label=AUDIENCE_LABELS.get(report.audience, report.audience),
        attachments=list(attachments),
        detail_note=lambda table: detail_note(table, exports),
    )


def render_text(report: Report, exports: Sequence[str] = ()) -> str:
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
            # The alt text may already start with the chart's title: never say it twice.
            said = chart.alt if chart.alt.startswith(chart.title) else f"{chart.title}: {chart.alt}"
            lines += textwrap.wrap(f"[Chart] {said}", 78)
        for table in section.tables:
            if table.attachment_only:
                lines += ["", *textwrap.wrap(detail_note(table, exports), 78)]
            else:
                lines += ["", table.title, *_text_table(table, report.style)]
        lines.append("")
    if report.internal_only:
        lines.append("Internal only: agent-level figures; do not forward outside the organisation.")
    return "\n".join(lines) + "\n"


def _text_table(table: Table, style: NumberStyle, max_rows: int = 25) -> list[str]:
    header = [c.label for c in table.columns]
    rows = table.formatted(style)[:max_rows]
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


#: The unit a CSV column name ends in, by format (money takes the currency code).
_CSV_UNITS: dict[str, str] = {"pct": "pct", "signed_pct": "pct", "pp": "pts", "seconds": "seconds"}
#: Decimal places a CSV number is rounded to, by format (``decimal`` keeps 4 significant figures instead).
_CSV_PLACES: dict[str, int] = {"pct": 1, "signed_pct": 1, "pp": 1, "seconds": 1, "money": 2, "int": 0}


def csv_name(column: Column, style: NumberStyle) -> str:
    """The CSV header of a column: its key with the unit, e.g. ``service_level_pct``, ``staff_cost_gbp``."""
    # Money in a report over several currencies has no one unit: its table holds a currency column.
    unit = (style.currency.lower() or None) if column.fmt == "money" else _CSV_UNITS.get(column.fmt)
    return column.key if unit is None or column.key.endswith(f"_{unit}") else f"{column.key}_{unit}"


def _data_value(cell: Cell, fmt: Format) -> Cell:
    """A cell as data: rates as percentages (as the report shows them), rounded to the stated places."""
    if isinstance(cell, Measured):
        fmt = cell.fmt
        cell = cell.value
    if isinstance(cell, datetime):
        return cell.isoformat(timespec="minutes")
    if isinstance(cell, bool) or not isinstance(cell, int | float) or math.isnan(cell):
        return cell
    number = float(cell) * (100 if fmt in ("pct", "signed_pct", "pp") else 1)
    if fmt == "int":
        return round(number)
    if fmt in _CSV_PLACES:
        return round(number, _CSV_PLACES[fmt])
    return float(f"{number:.4g}")


def render_csv(table: Table, style: NumberStyle | None = None) -> bytes:
    """One table as data: UTF-8 CSV (with BOM, so spreadsheet programs detect the encoding), one header row
    of names with units, numbers rounded to stated places, ISO dates; an empty table is its header alone.
    A column that mixes measures (a KPI-against-plan table) is converted cell by cell, its unit in a column
    of its own."""
    style = style or NumberStyle()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_name(c, style) for c in table.columns])
    for row in table.rows:
        values = (safe_cell(_data_value(cell, c.fmt)) for cell, c in zip(row, table.columns, strict=True))
        writer.writerow(["" if v is None else v for v in values])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:28] or "data"
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base[:26]}_{n}"
    used.add(candidate.lower())
    return candidate


#: Seconds in a spreadsheet day: durations are stored as Excel time (a fraction of a day), so the cell
#: is a real number that sums and averages as time, shown as minutes and seconds.
_SECONDS_PER_DAY = 86_400
#: The duration formats: m:ss reads better than "754.0" for a handle time; a column that reaches an hour
#: (a day's talk time) reads better with hours.
_MINUTES, _HOURS = "[m]:ss", "[h]:mm:ss"


def _duration_format(values: Iterable[Cell]) -> str:
    numbers = [abs(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    longest = max((v for v in numbers if not math.isnan(v)), default=0)
    return _HOURS if longest >= 3600 else _MINUTES


def _xlsx_label(column: Column, duration: str = _MINUTES) -> str:
    """The sheet header: the report's label, with the unit where the cell format does not show it."""
    if column.fmt != "seconds":
        return column.label
    return f"{column.label} ({'h:mm:ss' if duration == _HOURS else 'm:ss'})"


def render_xlsx(report: Report) -> bytes:
    """Every table of the report as its own sheet, numbers typed, plus a cover sheet saying what it is."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    workbook.set_properties({"title": report.title, "author": "contactlake", "created": report.generated_at})
    from babel.numbers import get_currency_symbol

    bold = workbook.add_format({"bold": True})
    formats = {
        "pct": workbook.add_format({"num_format": "0.0%"}),
        "signed_pct": workbook.add_format({"num_format": "+0.0%;-0.0%"}),
        "pp": workbook.add_format({"num_format": "+0.0%;-0.0%"}),
        "int": workbook.add_format({"num_format": "#,##0"}),
        _MINUTES: workbook.add_format({"num_format": _MINUTES}),
        _HOURS: workbook.add_format({"num_format": _HOURS}),
        "decimal": workbook.add_format({"num_format": "#,##0.00"}),
        "small": workbook.add_format({"num_format": "0.00E+00"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    }

    def money(currency: str) -> Any:
        """The cell format of money in ``currency`` (one per currency: a report over centres with
        different currencies shows each centre's money in its own)."""
        key = f"money:{currency}"
        if key not in formats:
            symbol = get_currency_symbol(currency, locale=report.style.locale).replace('"', "")
            formats[key] = workbook.add_format({"num_format": f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00'})
        return formats[key]

    used: set[str] = set()
    cover = workbook.add_worksheet(_sheet_name("about", used))
    cover.write_string(0, 0, str(safe_cell(report.title)), bold)
    cover.write_string(1, 0, str(safe_cell(f"{report.scope.label} · {report.window.label}")))
    cover.write_string(2, 0, str(safe_cell(f"Period {report.window.start} to {report.window.end}")))
    cover.write_string(3, 0, str(safe_cell(report.summary)))
    for offset, banner in enumerate(report.banners):
        cover.write_string(5 + offset, 0, str(safe_cell(f"{banner.level.upper()}: {banner.text}")))
    cover.set_column(0, 0, 100)
    for table in report.data_tables:
        sheet = workbook.add_worksheet(_sheet_name(table.name, used))
        durations = [_duration_format(row[col] for row in table.rows) for col in range(len(table.columns))]
        for col, column in enumerate(table.columns):
            label = _xlsx_label(column, durations[col])
            sheet.write_string(0, col, str(safe_cell(label)), bold)
            sheet.set_column(col, col, max(10, min(40, len(label) + 2)))
        for r, row in enumerate(table.rows, start=1):
            for col, (cell, column) in enumerate(zip(row, table.columns, strict=True)):
                if isinstance(cell, datetime | date):
                    kind = "datetime" if isinstance(cell, datetime) else "date"
                    moment = (
                        cell if isinstance(cell, datetime) else datetime.combine(cell, datetime.min.time())
                    )
                    sheet.write_datetime(r, col, moment, formats[kind])
                    continue
                value = safe_cell(cell)
                if value is None:
                    sheet.write_blank(r, col, None)
                elif isinstance(value, int | float):
                    fmt = cell.fmt if isinstance(cell, Measured) else column.fmt
                    if fmt == "seconds":
                        # A Measured cell in a mixed column takes the format its own value reads best in.
                        duration = _duration_format([value]) if isinstance(cell, Measured) else durations[col]
                        sheet.write_number(r, col, value / _SECONDS_PER_DAY, formats[duration])
                        continue
                    if fmt == "money":
                        own = cell.currency if isinstance(cell, Measured) else None
                        currency = own or report.style.currency
                        sheet.write_number(r, col, value, money(currency) if currency else formats["decimal"])
                        continue
                    small = fmt == "decimal" and 0 < abs(value) < 0.01
                    sheet.write_number(r, col, value, formats.get("small" if small else fmt))
                else:
                    sheet.write_string(r, col, value)
        sheet.freeze_panes(1, 0)
        if table.rows:
            sheet.autofilter(0, 0, len(table.rows), len(table.columns) - 1)
    workbook.close()
    return buffer.getvalue()
