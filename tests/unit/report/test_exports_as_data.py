"""Exports open as data (issue 16): CSV with units in the names, rounded numbers and ISO dates; XLSX with
real dates, currency formats and typed cells; no-data periods give a header, never an error; notes and
e-mail headers say what the recipient actually gets."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime

import openpyxl
import pandas as pd

from contactlake.report.build import _render
from contactlake.report.mail import compose_email
from contactlake.report.model import Chart, Column, NumberStyle, Report, Section, Table, format_value
from contactlake.report.render import render_csv, render_text, render_xlsx
from tests.unit.report.conftest import PNG

GRID = Table(
    "interval_grid",
    "Every interval",
    (
        Column("interval_start", "Interval", "datetime"),
        Column("day", "Day", "date"),
        Column("service_level", "Service level", "pct"),
        Column("asa_seconds", "ASA", "seconds"),
        Column("staff_cost", "Staff cost", "money"),
        Column("slope", "Slope per week", "decimal"),
    ),
    (
        (datetime(2026, 11, 9, 8, 15), date(2026, 11, 9), 0.8362573099415205, 12.345, 41184.456, 7.09e-05),
        (datetime(2026, 11, 9, 8, 30), date(2026, 11, 9), None, 3.0, 0.0, 0.5),
    ),
)


def test_csv_reads_as_typed_data_with_units_in_the_names() -> None:
    frame = pd.read_csv(io.BytesIO(render_csv(GRID)), encoding="utf-8-sig", parse_dates=["interval_start"])
    assert list(frame.columns) == [
        "interval_start",
        "day",
        "service_level_pct",
        "asa_seconds",
        "staff_cost_gbp",
        "slope",
    ]
    assert frame["interval_start"].iloc[0] == pd.Timestamp("2026-11-09 08:15")
    assert frame["day"].iloc[0] == "2026-11-09"
    assert frame["service_level_pct"].iloc[0] == 83.6  # as the report shows it, one decimal place
    assert frame["asa_seconds"].iloc[0] == 12.3
    assert frame["staff_cost_gbp"].iloc[0] == 41184.46
    assert frame["slope"].iloc[0] == 7.09e-05  # small numbers keep their significant figures
    assert pd.isna(frame["service_level_pct"].iloc[1])
    assert str(frame["service_level_pct"].dtype) == "float64"


def test_money_follows_the_centres_currency_and_locale() -> None:
    euro = NumberStyle("EUR", "de_DE")
    assert format_value(1234.5, "money", euro) == "1.234,50\xa0€"
    assert format_value(0.9405, "pct", euro) == "94,0%"
    assert render_csv(GRID, euro).decode("utf-8-sig").splitlines()[0].endswith("staff_cost_eur,slope")


def _report(tables: tuple[Table, ...], exports: tuple[Table, ...] = (), **kwargs: object) -> Report:
    from tests.unit.report.conftest import make_report

    base = make_report()
    return replace(
        base,
        sections=(Section("Only", tables=tables),),
        export_tables=exports,
        **kwargs,  # type: ignore[arg-type]
    )


def test_xlsx_cells_are_typed_dates_money_and_small_decimals() -> None:
    report = _report((GRID,), style=NumberStyle("EUR", "de_DE"))
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    sheet = book["interval_grid"]
    assert [c.value for c in sheet[1]] == [
        "Interval",
        "Day",
        "Service level",
        "ASA (m:ss)",
        "Staff cost",
        "Slope per week",
    ]
    interval, day, level, asa, cost, slope = sheet[2]
    assert interval.value == datetime(2026, 11, 9, 8, 15)
    assert interval.is_date
    assert day.value == datetime(2026, 11, 9)
    assert day.number_format == "yyyy-mm-dd"
    assert level.number_format == "0.0%"
    assert "€" in cost.number_format
    assert slope.number_format == "0.00E+00"
    # Seconds are Excel durations (a real number of days), shown as m:ss; openpyxl reads a timedelta.
    assert asa.number_format == "[m]:ss"
    assert abs(asa.value.total_seconds() - 12.345) < 1e-3
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F3"


def test_a_period_without_rows_exports_the_header_not_an_error() -> None:
    empty = replace(GRID, rows=())
    report = _report((), exports=(replace(empty, name="queues"),))
    data = _render(report, "csv")
    assert data.decode("utf-8-sig").strip() == (
        "interval_start,day,service_level_pct,asa_seconds,staff_cost_gbp,slope"
    )
    assert "queues" in openpyxl.load_workbook(io.BytesIO(_render(report, "xlsx"))).sheetnames
    bare = _report((), primary_table=None)
    assert _render(bare, "csv").decode("utf-8-sig").strip() == "note"


def test_detail_notes_name_only_formats_the_recipient_gets() -> None:
    detail = replace(GRID, attachment_only=True)
    report = _report((detail,))
    with_xlsx = render_text(report, ["pdf", "xlsx"])
    without = render_text(report, ["csv"])
    assert "all 2 rows are in the XLSX export" in with_xlsx
    assert "rows are in the XLSX export" not in without
    assert "which this report is not sent with" in " ".join(without.split())


def test_e_mail_date_is_utc_and_chart_titles_are_said_once() -> None:
    chart = Chart("sl", "Service level by hour", "Service level by hour: 3 rows by hour.", PNG)
    report = _report((GRID,))
    report = replace(report, sections=(Section("Charts", charts=(chart,)),))
    message = compose_email(report, sender="r@example.com", recipients=["a@example.com"])
    assert message["Date"].endswith("+0000")
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert text.count("Service level by hour") == 1


def test_xlsx_durations_of_an_hour_or_more_show_hours() -> None:
    talk = Table(
        "agents",
        "Agents",
        (Column("agent", "Agent"), Column("talk_seconds", "Talk time", "seconds")),
        (("a1", 754.0), ("a2", 20_000.0)),
    )
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(_report((talk,)))))["agents"]
    assert [c.value for c in sheet[1]] == ["Agent", "Talk time (h:mm:ss)"]
    assert [row[1].number_format for row in sheet.iter_rows(min_row=2)] == ["[h]:mm:ss", "[h]:mm:ss"]
    assert [row[1].value.total_seconds() for row in sheet.iter_rows(min_row=2)] == [754.0, 20_000.0]
    frame = pd.read_excel(io.BytesIO(render_xlsx(_report((talk,)))), sheet_name="agents")
    assert frame["Talk time (h:mm:ss)"].iloc[0] == pd.Timedelta(seconds=754)
