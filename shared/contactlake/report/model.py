"""The report as a document, independent of format: the HTML, PDF, CSV and XLSX renderers all read this.

Builders (one per audience, :mod:`contactlake.report.audiences`) turn figures into a :class:`Report`;
renderers only lay it out. Table cells keep their raw values (numbers stay numbers in CSV/XLSX) and a
column format says how people see them (``0.912`` → ``91.2%``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from contactlake.report.keys import scope_key
from contactlake.report.periods import Window

__all__ = [
    "Banner",
    "Cell",
    "Chart",
    "Column",
    "Format",
    "Gap",
    "Measured",
    "NumberStyle",
    "Report",
    "ReportResult",
    "Scope",
    "Section",
    "Status",
    "Table",
    "Tile",
    "format_value",
]

Format = Literal["int", "pct", "pp", "seconds", "money", "decimal", "text", "date", "datetime", "signed_pct"]
Status = Literal["good", "bad", "neutral"]


@dataclass(frozen=True)
class Measured:
    """A number that carries its own format, for columns that mix measures (a KPI-against-plan table)."""

    value: float | None
    fmt: Format
    #: Money's own currency, in a report over centres that keep their books in different currencies.
    currency: str | None = None


Cell = int | float | str | date | datetime | Measured | None


@dataclass(frozen=True)
class NumberStyle:
    """How a report writes numbers and money: the centre's currency (ISO 4217) and locale (CLDR).

    ``currency`` is empty in a report over centres with different currencies: money is never summed or
    shown across currencies there, each money cell carries its centre's (:attr:`Measured.currency`).
    """

    currency: str = "GBP"
    locale: str = "en_GB"


GBP = NumberStyle()


def format_value(value: Cell, fmt: Format, style: NumberStyle = GBP) -> str:
    """How a value reads in HTML and PDF; missing values are an en dash, never 'nan' or 'None'.

    Separators and money follow the centre's locale and currency (Babel, CLDR data).
    """
    if isinstance(value, Measured):
        own = NumberStyle(value.currency, style.locale) if value.currency else style
        return format_value(value.value, value.fmt, own)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if fmt == "text" or isinstance(value, str):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    from babel.numbers import format_currency, format_decimal

    number, locale = float(value), style.locale
    if fmt == "int":
        return format_decimal(round(number), "#,##0", locale=locale)
    if fmt == "pct":
        return format_decimal(number * 100, "#,##0.0", locale=locale) + "%"
    if fmt == "signed_pct":
        return format_decimal(number * 100, "+#,##0.0;-#,##0.0", locale=locale) + "%"
    if fmt == "pp":
        return format_decimal(number * 100, "+#,##0.0;-#,##0.0", locale=locale) + " pts"
    if fmt == "seconds":
        if abs(number) < 600:
            return format_decimal(number, "#,##0", locale=locale) + " s"
        return format_decimal(number / 60, "#,##0.0", locale=locale) + " min"
    if fmt == "money" and style.currency:
        return format_currency(number, style.currency, locale=locale).replace("-", "−")
    if abs(number) < 0.01 and number != 0:  # a small slope stays readable instead of showing 0.00
        return format_decimal(number, "0.###E0", locale=locale)
    return format_decimal(number, "#,##0.00", locale=locale)


@dataclass(frozen=True)
class Tile:
    """A headline figure. ``note`` carries the comparison in words, so colour is never the only signal."""

    label: str
    value: str
    note: str = ""
    status: Status = "neutral"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    fmt: Format = "text"


@dataclass(frozen=True)
class Table:
    """Rows of raw values; ``name`` is the CSV file / XLSX sheet name (short, no spaces)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    #: Optional per-row status, so renderers can mark exceptions (with text as well as colour).
    row_status: tuple[Status, ...] = ()
    #: Long detail kept out of the e-mail and PDF, delivered in the XLSX (and CSV, if primary) only.
    attachment_only: bool = False

    def formatted(self, style: NumberStyle = GBP) -> list[list[str]]:
        return [
            [format_value(v, c.fmt, style) for v, c in zip(row, self.columns, strict=True)]
            for row in self.rows
        ]


@dataclass(frozen=True)
class Chart:
    """A rendered chart: PNG bytes plus the alt text that says what it shows in words."""

    name: str
    title: str
    alt: str
    png: bytes
    width_px: int = 640

    @property
    def cid(self) -> str:
        return f"{self.name}@contactlake"


@dataclass(frozen=True)
class Section:
    title: str
    intro: str = ""
    tiles: tuple[Tile, ...] = ()
    bullets: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Gap:
    """Something the report needed and did not get: a missing upload, or a query that failed."""

    #: ``open``: a day received but not closed yet (more of it may still arrive; docs/reports.md).
    kind: Literal["upload", "query", "coverage", "open"]
    centre_id: str
    what: str
    detail: str

    @property
    def text(self) -> str:
        return f"{self.centre_id}: {self.what} — {self.detail}"


@dataclass(frozen=True)
class Banner:
    level: Literal["warning", "error", "info"]
    text: str


@dataclass(frozen=True)
class Scope:
    """Which centres (and queues) a report covers; ``key`` is its first path segment in the reports area."""

    centre_ids: tuple[str, ...]
    centre_names: tuple[str, ...]
    queues: tuple[str, ...] = ()
    all_centres: bool = False

    @property
    def key(self) -> str:
        return scope_key(self.centre_ids, self.all_centres)

    @property
    def label(self) -> str:
        names = ", ".join(self.centre_names)
        return f"{names} — queues {', '.join(self.queues)}" if self.queues else names


@dataclass(frozen=True)
class Report:
    audience: str
    title: str
    scope: Scope
    window: Window
    summary: str
    sections: tuple[Section, ...]
    generated_at: datetime
    gaps: tuple[Gap, ...] = ()
    banners: tuple[Banner, ...] = ()
    internal_only: bool = False
    #: The table the CSV export holds (CSV is one table; the XLSX has every table as a sheet).
    primary_table: str | None = None
    #: Tables delivered only in the data exports (CSV/XLSX), e.g. the planner's 15-minute grid, or the
    #: primary table's header when the period has no rows (a no-data period exports an empty table).
    export_tables: tuple[Table, ...] = ()
    style: NumberStyle = GBP
    #: The uploads the figures rest on: (centre, business day, source, upload id), for restatements.
    uploads_used: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def tables(self) -> list[Table]:
        """Every table, including attachment-only detail (what the XLSX holds)."""
        return [table for section in self.sections for table in section.tables]

    @property
    def data_tables(self) -> list[Table]:
        """What the XLSX holds and the CSV is chosen from: every table, then the export-only ones."""
        shown = self.tables
        names = {table.name for table in shown}
        return shown + [table for table in self.export_tables if table.name not in names]

    @property
    def charts(self) -> list[Chart]:
        return [chart for section in self.sections for chart in section.charts]


@dataclass(frozen=True)
class ReportResult:
    """What happened to one stakeholder's report (the CLI prints these; the scheduled handler counts them)."""

    stakeholder: str
    audience: str
    centre_id: str
    period: str
    period_start: date
    period_end: date
    keys: tuple[str, ...]
    email: str | None
    status: Literal["sent", "stored", "held", "failed"]
    message: str
    gaps: tuple[str, ...] = field(default=())
