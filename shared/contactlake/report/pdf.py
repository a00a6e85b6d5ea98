"""The PDF attachment (fpdf2): the same report as the e-mail, paginated for printing and archiving.

Text uses DejaVu Sans (shipped with matplotlib, which draws the charts anyway), embedded and subset, so
dashes, arrows and "≥" print and the text stays extractable; without matplotlib the PDF falls back to
Helvetica with the text reduced to Latin-1. The creation date is the report's own timestamp, so the same
report renders to the same bytes.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from contactlake.report.model import Report, Table
from contactlake.report.render import AUDIENCE_LABELS, detail_note

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["render_pdf"]

_BANNER = {
    "error": ((253, 231, 233), (168, 0, 0)),
    "warning": ((255, 244, 206), (138, 109, 0)),
    "info": ((232, 241, 251), (27, 79, 138)),
}
_STATUS = {"good": (30, 107, 47), "bad": (168, 0, 0), "neutral": (51, 51, 51)}


def _fonts() -> tuple[str, str] | None:
    try:
        import matplotlib
    except ImportError:
        return None
    folder = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    regular, bold = os.path.join(folder, "DejaVuSans.ttf"), os.path.join(folder, "DejaVuSans-Bold.ttf")
    return (regular, bold) if os.path.isfile(regular) and os.path.isfile(bold) else None


class _Writer:
    def __init__(self, report: Report, exports: Sequence[str]) -> None:
        from fpdf import FPDF

        self.report, self.exports = report, exports
        title = f"{report.title} — {report.scope.label} — {report.window.label}"

        class _Pdf(FPDF):
            def footer(inner) -> None:  # noqa: N805  (fpdf2 calls footer() on the document)
                inner.set_y(-12)
                self.font(7)
                inner.set_text_color(92, 102, 112)
                inner.cell(0, 5, self.text(f"{title}  ·  page {inner.page_no()}/{{nb}}"), align="C")

        self.pdf: FPDF = _Pdf(orientation="portrait", unit="mm", format="A4")
        fonts = _fonts()
        self.family = "Helvetica"
        self.unicode = fonts is not None
        if fonts is not None:
            self.pdf.add_font("DejaVu", "", fonts[0])
            self.pdf.add_font("DejaVu", "B", fonts[1])
            self.family = "DejaVu"
        self.pdf.set_creation_date(report.generated_at)
        self.pdf.set_title(report.title)
        self.pdf.set_author("contactlake")
        self.pdf.set_subject(f"{report.scope.label} · {report.window.label}")
        self.pdf.set_lang("en")
        self.pdf.set_auto_page_break(auto=True, margin=16)
        self.pdf.set_margins(14, 14, 14)
        self.pdf.add_page()

    def text(self, value: str) -> str:
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def paragraph(
        self,
        value: str,
        size: float = 10,
        bold: bool = False,
        colour: tuple[int, int, int] = (26, 26, 26),
        height: float = 5.0,
    ) -> None:
        self.font(size, bold)
        self.pdf.set_text_color(*colour)
        self.pdf.multi_cell(0, height, self.text(value), align="L", new_x="LMARGIN", new_y="NEXT")

    def header(self) -> None:
        report = self.report
        kind = AUDIENCE_LABELS.get(report.audience, report.audience)
        marker = " · INTERNAL ONLY" if report.internal_only else ""
        self.paragraph(f"CONTACTLAKE · {kind.upper()} REPORT{marker}", 8, colour=(92, 102, 112))
        self.paragraph(report.title, 17, bold=True, height=8)
        self.paragraph(f"{report.scope.label} · {report.window.label}", 10, colour=(61, 70, 80))
        self.pdf.ln(1)
        self.paragraph(report.summary, 10)
        for banner in report.banners:
            fill, ink = _BANNER[banner.level]
            self.pdf.ln(2)
            self.pdf.set_fill_color(*fill)
            self.pdf.set_draw_color(*ink)
            self.font(9.5, bold=True)
            self.pdf.set_text_color(*ink)
            label = {"error": "Incomplete data", "warning": "Check before use", "info": "Note"}[banner.level]
            self.pdf.multi_cell(
                0,
                5,
                self.text(f"{label}: {banner.text}"),
                border="L",
                fill=True,
                align="L",
                new_x="LMARGIN",
                new_y="NEXT",
            )

    def section_title(self, title: str) -> None:
        if self.pdf.get_y() > 250:
            self.pdf.add_page()
        self.pdf.ln(4)
        self.paragraph(title, 13, bold=True, height=7)
        self.pdf.set_draw_color(33, 102, 172)
        self.pdf.set_line_width(0.5)
        y = self.pdf.get_y()
        self.pdf.line(self.pdf.l_margin, y, self.pdf.w - self.pdf.r_margin, y)
        self.pdf.ln(2)

    def tiles(self, tiles: Any) -> None:
        width = (self.pdf.w - self.pdf.l_margin - self.pdf.r_margin) / 3
        for start in range(0, len(tiles), 3):
            if self.pdf.get_y() > 265:
                self.pdf.add_page()
            top, x0 = self.pdf.get_y(), self.pdf.l_margin
            for index, tile in enumerate(tiles[start : start + 3]):
                x = x0 + index * width
                self.pdf.set_fill_color(250, 251, 252)
                self.pdf.set_draw_color(221, 225, 230)
                self.pdf.rect(x + 1, top, width - 2, 19, style="DF")
                self.pdf.set_xy(x + 3, top + 1.5)
                self.font(7.5)
                self.pdf.set_text_color(92, 102, 112)
                self.pdf.cell(width - 6, 4, self.text(tile.label))
                self.pdf.set_xy(x + 3, top + 5.5)
                self.font(12.5, bold=True)
                self.pdf.set_text_color(*_STATUS[tile.status])
                self.pdf.cell(width - 6, 6, self.text(tile.value))
                if tile.note:
                    self.pdf.set_xy(x + 3, top + 11.5)
                    self.font(6.5)
                    self.pdf.multi_cell(width - 6, 3, self.text(tile.note), align="L", max_line_height=3)
            self.pdf.set_xy(x0, top + 21)

    def table(self, table: Table) -> None:
        from fpdf.fonts import FontFace

        # Keep a table with its title: start a new page unless the heading and first rows fit below.
        lines = [
            max(1, math.ceil(max((len(v) for v in row), default=1) / 42))
            for row in table.formatted(self.report.style)[:10]
        ]
        if self.pdf.get_y() + 16 + 4.4 * (2 + sum(lines)) > self.pdf.h - 18:
            self.pdf.add_page()
        self.paragraph(table.title, 10, bold=True)
        self.pdf.ln(1)
        size = 8 if len(table.columns) <= 7 else 7
        self.font(size)
        self.pdf.set_text_color(26, 26, 26)
        self.pdf.set_draw_color(200, 206, 213)
        self.pdf.set_line_width(0.2)
        align = tuple("LEFT" if c.fmt in ("text", "date", "datetime") else "RIGHT" for c in table.columns)
        rows = table.formatted(self.report.style) or [
            ["No rows for this period."] + [""] * (len(table.columns) - 1)
        ]
        bad = FontFace(fill_color=(253, 231, 233))
        # Columns as wide as their content (headers may wrap, values rarely should), capped for prose.
        widths = tuple(
            min(max([len(max(c.label.split(), key=len))] + [len(row[i]) for row in rows]), 42) + 3
            for i, c in enumerate(table.columns)
        )
        with self.pdf.table(
            col_widths=widths,
            text_align=align,
            line_height=4.2,
            first_row_as_headings=True,
            headings_style=FontFace(emphasis="BOLD", fill_color=(238, 241, 244)),
            borders_layout="HORIZONTAL_LINES",
            padding=0.8,
        ) as grid:
            heading = grid.row()
            for column in table.columns:
                heading.cell(self.text(column.label))
            for index, values in enumerate(rows):
                status = table.row_status[index] if index < len(table.row_status) else "neutral"
                row = grid.row(style=bad if status == "bad" else None)
                for value in values:
                    row.cell(self.text(value))
        if table.note:
            self.paragraph(table.note, 7.5, colour=(92, 102, 112), height=4)
        self.pdf.ln(2)

    def chart(self, png: bytes, title: str, alt: str) -> None:
        from PIL import Image

        usable = self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

        with Image.open(io.BytesIO(png)) as image:
            ratio = image.height / image.width
        height = usable * ratio
        if self.pdf.get_y() + height > self.pdf.h - 18:
            self.pdf.add_page()
        self.pdf.image(io.BytesIO(png), x=self.pdf.l_margin, w=usable, h=height, alt_text=alt, title=title)
        self.pdf.ln(2)

    def render(self) -> bytes:
        self.header()
        for section in self.report.sections:
            self.section_title(section.title)
            if section.intro:
                self.paragraph(section.intro, 9.5, colour=(61, 70, 80))
                self.pdf.ln(1)
            if section.tiles:
                self.tiles(section.tiles)
            for number, bullet in enumerate(section.bullets, 1):
                self.paragraph(f"{number}. {bullet}", 10)
                self.pdf.ln(1)
            for chart in section.charts:
                self.chart(chart.png, chart.title, chart.alt)
            for table in section.tables:
                if table.attachment_only:
                    self.paragraph(
                        detail_note(table, self.exports),
                        8,
                        colour=(92, 102, 112),
                        height=4,
                    )
                else:
                    self.table(table)
        self.pdf.ln(3)
        self.paragraph(
            f"Period {self.report.window.start} to {self.report.window.end} (centre local days); generated "
            f"{self.report.generated_at:%Y-%m-%d %H:%M} UTC by contactlake. Definitions: docs/metrics.md.",
            7.5,
            colour=(92, 102, 112),
            height=4,
        )
        return bytes(self.pdf.output())


def render_pdf(report: Report, exports: Sequence[str] = ()) -> bytes:
    """The PDF; ``exports`` are the formats delivered with it (what a detail table's note may point to)."""
    return _Writer(report, exports).render()
