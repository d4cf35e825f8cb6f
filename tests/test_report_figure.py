"""bench report's figure reads (issue #22): its legend hides no spike, the val curve shows its
whole range, one very bad unit does not flatten the per-unit bars, and it says why the shown
units were chosen."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.synthetic_nlb import make_dataset, make_predictions
from harness.tasks.nlb.report import per_unit_co_bps, report_figure


@pytest.fixture(scope="module")
def figure_and_inputs():
    import dataclasses

    data = make_dataset(n_heldout=6, eval_targets=False)  # withheld eval targets: the report shows val
    predictions = make_predictions(data)
    val = predictions.val
    heldout = np.array(val.heldout)
    heldout[..., 5] = 40.0  # one unit predicted far off: very negative bps
    predictions = dataclasses.replace(predictions, val=dataclasses.replace(val, heldout=heldout))
    history = [{"epoch": e, "val_co_bps": v, "best_val_co_bps": None} for e, v in enumerate([-0.9, -0.4, -0.1, 0.05, 0.12, 0.15, 0.16])]
    record = {"run_id": "r-0", "model": "ndt", "objective": "mtm", "ensembler": None, "seed": 0, "metrics": {}, "history": history}
    figure = report_figure(record, data, predictions)
    figure.canvas.draw()
    return figure, data, predictions, history


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_the_legend_covers_no_raster(figure_and_inputs):
    figure = figure_and_inputs[0]
    renderer = figure.canvas.get_renderer()
    rasters = figure.axes[:9]  # 3 units x 3 trials, drawn first
    assert all(axes.get_title().startswith("val trial") for axes in rasters[:3]) and "held-out unit" in rasters[3].get_ylabel()
    for legend in figure.legends:
        box = legend.get_window_extent(renderer)
        assert not any(_overlaps(box, axes.get_window_extent(renderer)) for axes in rasters), box
    assert not any(axes.get_legend() is not None for axes in rasters)


def test_the_val_curve_is_not_clipped(figure_and_inputs):
    figure, _, _, history = figure_and_inputs
    (curve,) = [axes for axes in figure.axes if axes.get_title() == "validation co-bps over training"]
    bottom, top = curve.get_ylim()
    assert bottom <= min(point["val_co_bps"] for point in history) and top >= max(point["val_co_bps"] for point in history)


def test_a_very_bad_unit_is_clipped_and_annotated(figure_and_inputs):
    figure, data, predictions, _ = figure_and_inputs
    worst = float(np.nanmin(per_unit_co_bps(np.asarray(predictions.val.heldout, float), np.asarray(data.val.heldout, float))))
    best = float(np.nanmax(per_unit_co_bps(np.asarray(predictions.val.heldout, float), np.asarray(data.val.heldout, float))))
    assert worst < -3 * max(best, 0.05)
    (bars,) = [axes for axes in figure.axes if axes.get_title().startswith("co-bps of each held-out unit")]
    bottom, _ = bars.get_ylim()
    assert bottom > worst  # the axis is cut above the worst unit ...
    assert any(text.get_text() == f"{worst:.1f} (cut)" for text in bars.texts)  # ... and the cut bar says its value
    assert "axis cut at" in bars.get_title()


def test_it_says_why_the_units_were_chosen(figure_and_inputs):
    figure = figure_and_inputs[0]
    assert any("held-out units with the most val spikes" in text.get_text() for text in figure.texts)
