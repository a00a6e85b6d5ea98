"""Workforce planning (weekly; one centre): arrivals against the interval forecast, the forecast's accuracy
(WAPE, MAPE, bias) and agents required by Erlang C / A against agents staffed.
"""

from __future__ import annotations

from datetime import timedelta

from contactlake.analyse.forecast import forecast_accuracy, forecast_week
from contactlake.report import charts
from contactlake.report.audiences.common import (
    Context,
    Row,
    interval_grid,
    local_time,
    num,
    rows_of,
    staffing_section,
    unavailable,
)
from contactlake.report.model import Column, Report, Section, Table

__all__ = ["workforce"]


def workforce(ctx: Context) -> Report:
    centre, window = ctx.centres[0], ctx.window
    week_start = window.start - timedelta(days=window.start.weekday())
    forecast = rows_of(ctx.figures.get(centre, "forecast", forecast_week, week_start))
    accuracy = rows_of(
        ctx.figures.get(centre, "forecast accuracy", forecast_accuracy, window.start, window.end)
    )
    sections = [
        _forecast_section(forecast, accuracy),
        staffing_section(ctx, centre, "Required (Erlang) vs staffed agents"),
    ]
    forecast_total = sum(num(r, "forecast_offered") or 0.0 for r in accuracy)
    actual_total = sum(num(r, "actual_offered") or 0.0 for r in accuracy)
    if accuracy and actual_total:
        summary = (
            f"{centre.name}: {actual_total:,.0f} contacts arrived against {forecast_total:,.0f} forecast "
            f"({(actual_total - forecast_total) / forecast_total:+.1%} against forecast) over "
            f"{len(accuracy)} day(s)."
        )
    else:
        summary = f"{centre.name}: no forecast could be compared with actual arrivals for this period."
    grid = interval_grid(ctx, centre, forecast)
    return ctx.report(
        "Workforce planning report", summary, sections, "forecast_accuracy", (_accuracy_table(accuracy), grid)
    )


_ACCURACY_COLUMNS = (
    Column("contact_date", "Day", "date"),
    Column("forecast_offered", "Forecast", "int"),
    Column("actual_offered", "Actual", "int"),
    Column("wape", "WAPE", "pct"),
    Column("mape", "MAPE", "pct"),
    Column("bias", "Bias", "signed_pct"),
    Column("source", "Forecast kind"),
)


def _accuracy_table(accuracy: list[Row]) -> Table:
    method = str(accuracy[0].get("method")) if accuracy else ""
    return Table(
        "forecast_accuracy",
        "Forecast accuracy by day",
        _ACCURACY_COLUMNS,
        tuple(tuple(row.get(c.key) for c in _ACCURACY_COLUMNS) for row in accuracy),
        "WAPE = Σ|forecast − actual| / Σ actual over the day's 15-minute intervals; bias = (Σ forecast − "
        "Σ actual) / Σ actual, so a positive bias means fewer contacts came than forecast. 'stored' is the "
        "forecast made the night before; 'backtest' one re-made from the data up to the day before. "
        f"Method: {method}.",
    )


def _forecast_section(forecast: list[Row], accuracy: list[Row]) -> Section:
    if not forecast and not accuracy:
        return Section("Arrivals against forecast", intro=unavailable("The forecast comparison"))
    charts_out = []
    if forecast:
        points = [(local_time(r.get("interval_start")), r) for r in forecast]
        points = [(t, r) for t, r in points if t is not None]
        times = [t for t, _ in points if t is not None]
        known = sum(1 for _, r in points if r.get("actual_offered") is not None)
        alt = (
            f"Forecast and actual contacts per 15 minutes for the week of {points[0][0]:%d %b %Y}: forecast "
            f"{sum(num(r, 'forecast_offered') or 0 for _, r in points):,.0f} in total; actuals known for "
            f"{known} of {len(points)} intervals."
        )
        charts_out.append(
            charts.time_chart(
                "forecast",
                "Contacts per 15 minutes: forecast and actual",
                alt,
                times,
                [
                    ("forecast", [num(r, "forecast_offered") for _, r in points]),
                    ("actual", [num(r, "actual_offered") for _, r in points]),
                ],
                daily=False,
            )
        )
    table = _accuracy_table(accuracy)
    return Section(
        "Arrivals against forecast", charts=tuple(charts_out), tables=(table,) if table.rows else ()
    )
