"""A board's plot: each row's mean primary metric (± its spread) against its mean train time."""

from __future__ import annotations

import io
import statistics

from harness.leaderboard.board import BoardView


def render_plot(view: BoardView) -> bytes | None:
    """PNG of each row's mean primary metric against mean train time; None when no row has one.

    Drawn on a bare Agg canvas (no pyplot state) with the PNG's Software tag removed, so the bytes
    depend on the records alone.
    """
    board = view.board
    points = []
    for shown in view.all_rows:
        cell = shown.cells.get(board.primary)
        values = cell.values if cell is not None else shown.row.values(board.primary)
        if values:
            spread = shown.row.spread(board.primary) or 0.0
            points.append((shown.row.label, shown.seconds, statistics.fmean(values), spread))
    if not points:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for label, seconds, mean, spread in points:
        axes.errorbar([max(seconds, 1e-3)], [mean], yerr=[spread], fmt="o", capsize=3, label=label)
    times = [max(p[1], 1e-3) for p in points]
    if max(times) / min(times) > 20:
        axes.set_xscale("log")
    axes.set_xlabel("train time (s)")
    axes.set_ylabel(f"{board.primary} (mean ± sd over seeds)")
    axes.set_title(f"{board.name}: {board.primary} against train time")
    axes.grid(True, alpha=0.3)
    # beside the axes, where it can never hide a point
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
