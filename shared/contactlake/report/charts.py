"""Charts as PNG bytes (matplotlib, Agg, no pyplot): embedded as CID images in e-mail and into the PDF.

matplotlib costs ~230 ms to import, so it is imported inside each function: the API Lambda, which never
draws, does not pay for it. Colours come from ColorBrewer's colour-blind-safe RdYlBu; every heatmap cell
also carries its number, so nothing is told by colour alone.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from contactlake.report.model import Chart

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["bar_chart", "heatmap", "line_chart", "percent_text", "time_chart", "time_figure"]

_WIDTH_IN = 6.4
_DPI = 150
_PALETTE = ("#2166ac", "#d6604d", "#4d9221", "#8073ac", "#e08214", "#35978f")


def _figure(height_in: float, constrained: bool = True) -> Figure:
    # A writable config folder (Lambda's home is read-only), and no user matplotlibrc: same charts anywhere.
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "contactlake-matplotlib"))
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(_WIDTH_IN, height_in), dpi=_DPI, layout="constrained" if constrained else None)
    figure.set_facecolor("white")
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def percent_text(value: float) -> str:
    """A rate as a tick label with the decimals it needs: 0.925 -> '92.5%', 0.9 -> '90%'."""
    return f"{round(value * 100, 2):g}%"


def _percent_axis(axis: Any) -> None:
    """Percent ticks with as many decimals as the axis range needs, so no two ticks read the same."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: percent_text(value)))


def _style(axes: Any, title: str) -> None:
    axes.set_title(title, fontsize=10, loc="left", fontweight="bold")
    axes.tick_params(labelsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)


def heatmap(
    name: str,
    title: str,
    alt: str,
    values: Sequence[Sequence[float | None]],
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    centre: float,
    higher_is_better: bool = True,
) -> Chart:
    """A row × column grid of rates (0-1) coloured around ``centre`` (the target); None cells stay grey."""
    import numpy as np
    from matplotlib.colors import TwoSlopeNorm

    data = np.array([[np.nan if v is None else float(v) for v in row] for row in values], dtype=float)
    figure = _figure(max(1.6, 0.3 * len(row_labels) + 0.9), constrained=False)
    figure.subplots_adjust(
        left=0.1, right=0.91, top=1 - 0.35 / figure.get_figheight(), bottom=0.3 / figure.get_figheight()
    )
    axes = figure.add_subplot()
    axes.set_facecolor("#e6e6e6")
    norm = TwoSlopeNorm(vcenter=min(max(centre, 1e-3), 1 - 1e-3), vmin=0.0, vmax=1.0)
    image = axes.imshow(
        np.ma.masked_invalid(data),
        aspect="auto",
        cmap="RdYlBu" if higher_is_better else "RdYlBu_r",
        norm=norm,
        interpolation="nearest",
    )
    axes.set_xticks(range(len(col_labels)), col_labels, fontsize=7)
    axes.set_yticks(range(len(row_labels)), row_labels, fontsize=8)
    axes.tick_params(length=0)
    axes.set_title(title, fontsize=10, loc="left", fontweight="bold")
    for r, row in enumerate(data):
        for c, value in enumerate(row):
            if not np.isnan(value):
                dark = abs(norm(value) - 0.5) > 0.33
                axes.text(
                    c,
                    r,
                    f"{value * 100:.0f}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if dark else "black",
                )
    colour_bar = figure.colorbar(image, ax=axes, fraction=0.03, pad=0.01, ticks=[0, centre, 1])
    colour_bar.ax.set_yticks([0, centre, 1], [percent_text(v) for v in (0, centre, 1)])
    colour_bar.ax.tick_params(labelsize=7)
    return Chart(name, title, alt, _png(figure))


def line_chart(
    name: str,
    title: str,
    alt: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    target: float | None = None,
    target_label: str = "target",
    percent: bool = False,
    step: bool = False,
    max_ticks: int = 14,
    ticks: Sequence[int] | None = None,
) -> Chart:
    """One line per series over shared x labels, with an optional dashed target line.

    ``ticks`` picks which labels are shown (e.g. each day's first interval); else about ``max_ticks``.
    """
    figure = _figure(2.6)
    axes = figure.add_subplot()
    _style(axes, title)
    positions = list(range(len(x_labels)))
    for index, (label, points) in enumerate(series):
        ys = [float("nan") if v is None else float(v) for v in points]
        colour = _PALETTE[index % len(_PALETTE)]
        if step:
            axes.step(positions, ys, where="mid", label=label, color=colour, linewidth=1.4)
        else:
            axes.plot(
                positions,
                ys,
                label=label,
                color=colour,
                linewidth=1.6,
                marker="o" if len(ys) < 30 else None,
                markersize=3,
            )
    _target_and_axis(axes, series, target, target_label, percent)
    shown = list(ticks) if ticks is not None else positions[:: max(1, len(x_labels) // max_ticks)]
    axes.set_xticks(shown, [x_labels[i] for i in shown], rotation=0, fontsize=7)
    axes.legend(fontsize=7, frameon=False, loc="best")
    return Chart(name, title, alt, _png(figure))


def _target_and_axis(
    axes: Any,
    series: Sequence[tuple[str, Sequence[float | None]]],
    target: float | None,
    target_label: str,
    percent: bool,
) -> None:
    """The dashed target line (its value in the legend) and a y range wide enough for distinct ticks."""
    if target is not None:
        shown = percent_text(target) if percent else f"{target:,.4g}"
        axes.axhline(target, color="#555555", linestyle="--", linewidth=1, label=f"{target_label} {shown}")
    if percent:
        values = [float(v) for _, points in series for v in points if v is not None]
        values += [target] if target is not None else []
        if values:
            low, high = min(values), max(values)
            pad = max(0.02, (high - low) * 0.1)
            axes.set_ylim(max(0.0, low - pad), min(1.0, high + pad) if high <= 1 else high + pad)
        _percent_axis(axes.yaxis)


def time_chart(
    name: str,
    title: str,
    alt: str,
    times: Sequence[datetime],
    series: Sequence[tuple[str, Sequence[float | None]]],
    **options: Any,
) -> Chart:
    """Lines over real time (a time axis, not categories): hours without data take their true width and
    the line breaks across them instead of joining distant points. ``options`` are :func:`time_figure`'s."""
    return Chart(name, title, alt, _png(time_figure(title, times, series, **options)))


def time_figure(
    title: str,
    times: Sequence[datetime],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    target: float | None = None,
    target_label: str = "target",
    percent: bool = False,
    step: bool = False,
    daily: bool = True,
    interval: timedelta = timedelta(minutes=15),
) -> Figure:
    """The figure behind :func:`time_chart` (tests read its axes)."""
    from matplotlib import dates

    mdates: Any = dates  # matplotlib.dates has no type hints

    figure = _figure(2.6)
    axes = figure.add_subplot()
    _style(axes, title)
    xs: list[datetime] = []
    breaks: list[bool] = []
    for index, moment in enumerate(times):
        breaks.append(index > 0 and moment - times[index - 1] > interval)
        xs.append(moment)
    for index, (label, points) in enumerate(series):
        px: list[Any] = []
        ys: list[float] = []
        for moment, value, gap in zip(xs, points, breaks, strict=True):
            if gap:  # a missing stretch: break the line
                px.append(moment - interval)
                ys.append(float("nan"))
            px.append(moment)
            ys.append(float("nan") if value is None else float(value))
        colour = _PALETTE[index % len(_PALETTE)]
        if step:
            axes.step(px, ys, where="post", label=label, color=colour, linewidth=1.4)
        else:
            axes.plot(px, ys, label=label, color=colour, linewidth=1.6, marker="o" if len(ys) < 30 else None)
    _target_and_axis(axes, series, target, target_label, percent)
    if interval >= timedelta(days=1):
        axes.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    elif daily:
        axes.xaxis.set_major_locator(mdates.HourLocator(byhour=range(0, 24, 2)))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    else:
        axes.xaxis.set_major_locator(mdates.DayLocator())
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%a %d"))
    axes.tick_params(axis="x", labelsize=7)
    axes.legend(fontsize=7, frameon=False, loc="best")
    return figure


def bar_chart(
    name: str,
    title: str,
    alt: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    reference: float | None = None,
    reference_label: str = "average",
    value_suffix: str = "",
    highlight_above: float | None = None,
) -> Chart:
    """Horizontal bars (long labels stay readable), each with its value written at the end."""
    figure = _figure(max(1.8, 0.22 * len(labels) + 0.9))
    axes = figure.add_subplot()
    _style(axes, title)
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.grid(axis="y", visible=False)
    numbers = [0.0 if v is None else float(v) for v in values]
    colours = [
        _PALETTE[1] if highlight_above is not None and v > highlight_above else _PALETTE[0] for v in numbers
    ]
    positions = list(range(len(labels)))
    axes.barh(positions, numbers, color=colours, height=0.7)
    axes.set_yticks(positions, list(labels), fontsize=7)
    axes.invert_yaxis()
    for position, number in zip(positions, numbers, strict=True):
        axes.text(number, position, f" {number:,.0f}{value_suffix}", va="center", fontsize=6)
    if reference is not None:
        axes.axvline(reference, color="#555555", linestyle="--", linewidth=1, label=reference_label)
        axes.legend(fontsize=7, frameon=False, loc="lower right")
    return Chart(name, title, alt, _png(figure))
