"""How a board reads: the plot of a many-row board, the notes beside its values, its labels and
the run pages it links (issue #22)."""

from __future__ import annotations

import pytest

from fixtures.run_records import make_record
from harness.leaderboard import plot
from harness.leaderboard.write import views_from_records
from harness.store import records as results
from harness.tasks.nlb.metrics import MetricValue


def _record(run_id: str, model: str, co_bps: float, seconds: float, **changes) -> dict:
    metrics = {"co-bps": MetricValue(co_bps, "val", 15, list(range(15)), "nlb_tools bits_per_spike", True)}
    return make_record(run_id, model=model, objective="mtm", wall_seconds=seconds, metrics=results.record_metrics(metrics), **changes)


@pytest.fixture(scope="module")
def many_rows_view():
    """36 rows with long names, as mc_maze_small's board has."""
    records = [
        _record(f"run-{index}", f"model-{index}+with+a+long+name", 0.05 + index / 200, 30.0 * 1.2**index,
                spec={"model": "ndt", "objective": "mtm", "label": f"variant number {index}"})
        for index in range(36)
    ]
    (view,) = views_from_records(records)
    return view


def test_a_many_row_plot_names_a_few_rows_each_in_its_own_style(many_rows_view):
    figure = plot.plot_figure(many_rows_view)
    legend = figure.legends[0]
    (axes,) = figure.axes
    drawn = {container.get_label(): container.lines[0] for container in axes.containers}  # each errorbar's marker line
    texts = [text.get_text() for text in legend.get_texts()]
    assert len(texts) == plot.LABELLED_ROWS + 1  # the named rows and one grouped entry
    styles = [(drawn[text].get_color(), drawn[text].get_marker()) for text in texts]
    assert len(set(styles)) == len(styles), styles
    assert texts[-1] == f"{36 - plot.LABELLED_ROWS} more rows (see the table)"
    assert texts[0].startswith("model-35+with+a+long+name [variant number 35] × mtm")  # the best first


def test_the_plot_axes_take_most_of_the_figure_and_no_text_is_clipped(many_rows_view):
    figure = plot.plot_figure(many_rows_view)
    figure.canvas.draw()
    (axes,) = figure.axes
    box = axes.get_position()
    assert box.width > 0.6 and box.height > 0.35, box
    renderer = figure.canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    for artist in (axes.title, axes.yaxis.label, axes.xaxis.label, figure.legends[0]):
        extent = artist.get_window_extent(renderer)
        assert extent.x0 >= -1 and extent.y0 >= -1 and extent.x1 <= width + 1 and extent.y1 <= height + 1, (artist, extent)
