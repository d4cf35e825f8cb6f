"""``bench report``: one PNG that shows what a run's numbers mean.

Spike rasters of a few held-out units on a few scored trials against the predicted rates, PSTHs
per condition where the split has condition labels, each held-out unit's co-bps, and the
validation curve over training from the record's history. It reads the record, the saved
predictions and the dataset (never the model). Drawn on a bare Agg canvas with the PNG's Software
tag removed, so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.contracts import DatasetTensors, Predictions
from harness.tasks.nlb.metrics import PSTH_KERNEL_SD_MS, _heldout_split, gaussian_smooth, nlb_bits_per_spike, trial_ids

REPORT_UNITS = 3
REPORT_TRIALS = 3
REPORT_CONDITIONS = 4
#: The file name of a run's report figure in its run dir.
REPORT_FIGURE = "report.png"


def per_unit_co_bps(rates: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """nlb_tools bits per spike of each held-out unit on its own (NaN for a silent unit)."""
    values = []
    for unit in range(spikes.shape[-1]):
        observed = spikes[..., unit : unit + 1]
        values.append(nlb_bits_per_spike(rates[..., unit : unit + 1], observed) if np.nansum(observed) > 0 else np.nan)
    return np.array(values)


#: Per-unit bars are drawn down to this many times the tallest bar's height below 0 (and at least
#: :data:`BARS_FLOOR` bps): one unit at -7 bps would otherwise flatten every other bar to nothing.
BARS_DEPTH = 1.5
BARS_FLOOR = -0.5


def render_report(record: Mapping[str, Any], data: DatasetTensors, predictions: Predictions) -> bytes:
    """The report figure as PNG bytes (see :func:`report_figure`)."""
    figure = report_figure(record, data, predictions)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def report_figure(record: Mapping[str, Any], data: DatasetTensors, predictions: Predictions) -> Any:
    """The report as a matplotlib Figure on a bare Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from harness.errors import BenchError

    if not isinstance(data, DatasetTensors):  # rasters and PSTHs are drawn for spiking data only
        raise BenchError(f"run {record['run_id']}: bench report draws NLB co-smoothing runs (spike rasters, PSTHs); this run's task is {data.task}")

    split_name = _heldout_split(data)
    split = data.split(split_name)
    if split.heldout is None:

        raise BenchError(f"run {record['run_id']}: the {split_name} split has no held-out spikes to show")
    spikes = np.asarray(split.heldout, dtype=np.float64)
    rates = np.asarray(predictions.split(split_name).heldout, dtype=np.float64)
    bin_s = data.bin_size_ms / 1000.0
    unit_bps = per_unit_co_bps(rates, spikes)
    # the busiest units show the most; the first trials of the split, in trial-id order
    units = [int(u) for u in np.argsort(-spikes.sum(axis=(0, 1)), kind="stable")[:REPORT_UNITS]]
    trials = list(range(min(REPORT_TRIALS, spikes.shape[0])))
    ids = trial_ids(split)
    time_ms = np.arange(spikes.shape[1]) * data.bin_size_ms

    figure = Figure(figsize=(13, 11.5), dpi=90)
    FigureCanvasAgg(figure)
    # room at the top for the title, the subtitle and the rasters' legend, none of it over a panel
    grid = figure.add_gridspec(
        len(units) + 2, len(trials), height_ratios=[1.0] * len(units) + [1.25, 1.25], hspace=0.6, wspace=0.25,
        top=0.86, bottom=0.06, left=0.07, right=0.98,
    )
    label = " × ".join(part for part in (record["model"], record["objective"], record["ensembler"]) if part)
    headline = record["metrics"].get("co-bps", {}).get("value")
    figure.suptitle(
        f"{record['run_id']}: {label}, seed {record['seed']} on {data.name}"
        + (f" (co-bps {headline:.4f} on {split_name})" if headline is not None else ""),
        fontsize=12, y=0.985,
    )
    figure.text(
        0.5, 0.945,
        f"Rasters: the {len(units)} held-out units with the most {split_name} spikes (they show the most), on the first "
        f"{len(trials)} {split_name} trials by trial id; not chosen by how well they are predicted. Bars: every held-out unit.",
        ha="center", va="center", fontsize=9, color="#444444",
    )
    raster_handles = None
    for row, unit in enumerate(units):
        for column, trial in enumerate(trials):
            axes = figure.add_subplot(grid[row, column])
            hz = rates[trial, :, unit] / bin_s
            axes.plot(time_ms, hz, color="tab:blue", lw=1.2, label="predicted rate")
            spiking = np.flatnonzero(spikes[trial, :, unit] > 0)
            top = max(float(hz.max()), 1.0)
            axes.vlines(time_ms[spiking], top * 1.05, top * 1.25, color="black", lw=0.8, label="spikes")
            axes.set_ylim(0, top * 1.3)
            axes.tick_params(labelsize=7)
            if row == 0:
                axes.set_title(f"{split_name} trial {ids[trial]}", fontsize=9)
            if column == 0:
                axes.set_ylabel(f"held-out unit {unit}\nrate (Hz)", fontsize=8)
            if row == len(units) - 1:
                axes.set_xlabel("time in trial (ms)", fontsize=8)
            if raster_handles is None:
                raster_handles = axes.get_legend_handles_labels()
    if raster_handles is not None:  # above the rasters, where it hides no spike
        figure.legend(*raster_handles, loc="center", bbox_to_anchor=(0.5, 0.915), ncol=2, fontsize=8, frameon=False)

    psth = figure.add_subplot(grid[len(units), :])
    smoothed = gaussian_smooth(spikes, PSTH_KERNEL_SD_MS / data.bin_size_ms)
    if split.conditions is not None:
        conditions = np.asarray(split.conditions)
        unit = units[0]
        for index, condition in enumerate(sorted(set(conditions.tolist()))[:REPORT_CONDITIONS]):
            chosen = conditions == condition
            color = f"C{index}"
            psth.plot(time_ms, smoothed[chosen, :, unit].mean(0) / bin_s, color=color, lw=1, ls="--")
            psth.plot(time_ms, rates[chosen, :, unit].mean(0) / bin_s, color=color, lw=1.6, label=f"condition {condition} ({chosen.sum()} trials)")
        psth.set_title(f"PSTHs of held-out unit {unit}: predicted (solid) vs spikes smoothed {PSTH_KERNEL_SD_MS:g} ms (dashed)", fontsize=9)
    else:  # no conditions to split by: the mean over all the split's trials, per shown unit
        for index, unit in enumerate(units):
            color = f"C{index}"
            psth.plot(time_ms, smoothed[:, :, unit].mean(0) / bin_s, color=color, lw=1, ls="--")
            psth.plot(time_ms, rates[:, :, unit].mean(0) / bin_s, color=color, lw=1.6, label=f"held-out unit {unit}")
        psth.set_title(
            f"No condition labels on {split_name}, so no PSTHs: means over all {spikes.shape[0]} {split_name} trials, "
            f"predicted (solid) vs spikes smoothed {PSTH_KERNEL_SD_MS:g} ms (dashed)",
            fontsize=9,
        )
    psth.set_xlabel("time in trial (ms)", fontsize=8)
    psth.set_ylabel("rate (Hz)", fontsize=8)
    psth.legend(fontsize=7, ncol=2)

    bars = figure.add_subplot(grid[len(units) + 1, : max(1, len(trials) - 1)])
    _unit_bars(bars, unit_bps, split_name, len(ids))

    curve = figure.add_subplot(grid[len(units) + 1, -1]) if len(trials) > 1 else None
    if curve is not None:
        _validation_curve(curve, record)
    return figure


def _unit_bars(bars: Any, unit_bps: np.ndarray, split_name: str, n_trials: int) -> None:
    """Each held-out unit's co-bps, best first; an axis clipped below where one unit would flatten
    the rest, each clipped bar marked with its value."""
    order = np.argsort(-np.nan_to_num(unit_bps, nan=-np.inf), kind="stable")
    values = np.nan_to_num(unit_bps[order])
    positions = np.arange(len(order))
    bars.bar(positions, values, color=["tab:green" if v >= 0 else "tab:red" for v in values])
    bars.set_xticks(positions, [str(u) for u in order], fontsize=6, rotation=90)
    bars.axhline(0, color="black", lw=0.6)
    top = max(float(values.max(initial=0.0)), 0.05)
    floor = min(BARS_FLOOR, -BARS_DEPTH * top)
    low = float(values.min(initial=0.0))
    clipped = np.flatnonzero(values < floor)
    bottom = floor if clipped.size else min(low * 1.1, -0.05 * top)
    bars.set_ylim(bottom, top * 1.15)
    for position in clipped:  # the bar runs off the axis: say how far
        bars.annotate(
            f"{values[position]:.1f} (cut)", (position, bottom), xytext=(0, 3), textcoords="offset points",
            ha="center", va="bottom", fontsize=7, color="black", rotation=90,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    clipped_text = f"; axis cut at {bottom:.2f}, {clipped.size} unit{'s' if clipped.size != 1 else ''} below (value marked)" if clipped.size else ""
    bars.set_title(f"co-bps of each held-out unit on {split_name} ({n_trials} trials), best first{clipped_text}", fontsize=9)
    bars.set_xlabel("held-out unit", fontsize=8)
    bars.set_ylabel("bits per spike", fontsize=8)


def _validation_curve(curve: Any, record: Mapping[str, Any]) -> None:
    """Val co-bps over training, its whole range shown (negative early epochs included)."""
    history = [point for point in record.get("history", []) if point.get("val_co_bps") is not None]
    if not history:
        curve.axis("off")
        curve.text(0.5, 0.5, "No training history\n(a closed-form fit or an ensemble)", ha="center", va="center", fontsize=9)
        return
    epochs = [point["epoch"] for point in history]
    values = [point["val_co_bps"] for point in history]
    curve.plot(epochs, values, lw=1, color="tab:blue", label="val co-bps")
    best = [point.get("best_val_co_bps") for point in history]
    if all(value is not None for value in best):
        curve.plot(epochs, best, lw=1, color="tab:orange", label="best so far")
    low, high = min(min(values), 0.0), max(max(values), 0.0)
    margin = 0.05 * (high - low or 1.0)
    curve.set_ylim(low - margin, high + margin)
    curve.axhline(0, color="black", lw=0.5)
    curve.legend(fontsize=7, loc="lower right")
    curve.set_xlabel("epoch", fontsize=8)
    curve.set_title("validation co-bps over training", fontsize=9)
