"""A board's plot: each row's mean primary metric (± its spread) against its mean train time.

A board may have dozens of rows; a legend of dozens of entries squeezes the axes into a corner
and runs out of colours. So only the rows a reader looks for get a label of their own (the ranked
rows, then the best preliminary rows, :data:`LABELLED_ROWS` in all), each with its own colour and
marker; the rest are drawn as small grey points under one legend entry. The legend sits below the
axes, where it can never hide a point, and the layout is constrained so no text is clipped.
"""

from __future__ import annotations

import io
import statistics
from dataclasses import dataclass
from typing import Any

from harness.leaderboard.board import BoardView

#: How many rows are named in the legend; the others are grouped as one grey entry.
LABELLED_ROWS = 10
#: One (colour, marker) per labelled row, no two alike.
STYLES = tuple(zip(
    ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "black"),
    ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">"),
))
OTHER_STYLE = ("#9aa0a6", ".")


@dataclass
class Point:
    label: str
    seconds: float
    mean: float
    spread: float
    #: Shown under its own legend entry (else one of the grouped grey points)
    named: bool


def plot_points(view: BoardView) -> list[Point]:
    """The points of the plot, the named ones first: the ranked rows in board order, then the
    preliminary rows best first (their listed order), up to :data:`LABELLED_ROWS` named."""
    primary = view.board.primary
    points = []
    for shown in view.rows + view.preliminary:
        cell = shown.cells.get(primary)
        values = cell.values if cell is not None else shown.row.values(primary)
        if values:
            spread = shown.row.spread(primary) or 0.0
            points.append(Point(shown.row.label, shown.seconds, statistics.fmean(values), spread, len(points) < LABELLED_ROWS))
    return points


def plot_figure(view: BoardView) -> Any:
    """The matplotlib Figure of the plot (on a bare Agg canvas); None when no row has a value."""
    board = view.board
    points = plot_points(view)
    if not points:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    named = [p for p in points if p.named]
    others = [p for p in points if not p.named]
    figure = Figure(figsize=(10, 6.2 if len(named) > 4 else 5.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if others:  # under the named points, so they never hide one
        axes.errorbar(
            [max(p.seconds, 1e-3) for p in others], [p.mean for p in others], yerr=[p.spread for p in others],
            fmt=OTHER_STYLE[1], color=OTHER_STYLE[0], ms=7, capsize=2, lw=0.8, zorder=1,
            label=f"{len(others)} more rows (see the table)",
        )
    for point, (colour, marker) in zip(named, STYLES):
        axes.errorbar(
            [max(point.seconds, 1e-3)], [point.mean], yerr=[point.spread], fmt=marker, color=colour, ms=8, capsize=3, zorder=2,
            label=f"{point.label}: {point.mean:.4f}",
        )
    times = [max(p.seconds, 1e-3) for p in points]
    if max(times) / min(times) > 20:
        axes.set_xscale("log")
    axes.set_xlabel("mean train time (s)")
    axes.set_ylabel(f"{board.primary}\n(mean ± sd)")
    axes.set_title(f"{board.name}: {board.primary} against train time")
    axes.grid(True, alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    if others:  # the grouped grey entry last, after the named rows in table order
        handles, labels = handles[1:] + handles[:1], labels[1:] + labels[:1]
    figure.legend(handles, labels, loc="outside lower center", ncol=2 if len(labels) > 3 else 1, fontsize="small", frameon=False)
    return figure


def render_plot(view: BoardView) -> bytes | None:
    """PNG of :func:`plot_figure`; None when no row has a value. The PNG's Software tag is
    removed, so the bytes depend on the records alone."""
    figure = plot_figure(view)
    if figure is None:
        return None
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
