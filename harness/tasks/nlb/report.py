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


def render_report(record: Mapping[str, Any], data: DatasetTensors, predictions: Predictions) -> bytes:
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

    figure = Figure(figsize=(13, 11), dpi=90)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(len(units) + 2, len(trials), height_ratios=[1.0] * len(units) + [1.25, 1.25], hspace=0.55, wspace=0.25)
    label = " × ".join(part for part in (record["model"], record["objective"], record["ensembler"]) if part)
    headline = record["metrics"].get("co-bps", {}).get("value")
    figure.suptitle(
        f"{record['run_id']}: {label}, seed {record['seed']} on {data.name}"
        + (f" (co-bps {headline:.4f} on {split_name})" if headline is not None else ""),
        fontsize=12,
    )
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
            if row == 0 and column == len(trials) - 1:
                axes.legend(fontsize=7, loc="upper right", framealpha=0.8)

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
    order = np.argsort(-np.nan_to_num(unit_bps, nan=-np.inf), kind="stable")
    bars.bar(np.arange(len(order)), np.nan_to_num(unit_bps[order]), color=["tab:green" if v >= 0 else "tab:red" for v in np.nan_to_num(unit_bps[order])])
    bars.set_xticks(np.arange(len(order)), [str(u) for u in order], fontsize=6, rotation=90)
    bars.axhline(0, color="black", lw=0.6)
    bars.set_title(f"co-bps of each held-out unit on {split_name} ({len(ids)} trials), best first", fontsize=9)
    bars.set_xlabel("held-out unit", fontsize=8)
    bars.set_ylabel("bits per spike", fontsize=8)

    curve = figure.add_subplot(grid[len(units) + 1, -1]) if len(trials) > 1 else None
    if curve is not None:
        history = [point for point in record.get("history", []) if point.get("val_co_bps") is not None]
        if history:
            epochs = [point["epoch"] for point in history]
            curve.plot(epochs, [point["val_co_bps"] for point in history], lw=1, color="tab:blue", label="val co-bps")
            best = [point.get("best_val_co_bps") for point in history]
            if all(value is not None for value in best):
                curve.plot(epochs, best, lw=1, color="tab:orange", label="best so far")
            low = float(np.percentile([point["val_co_bps"] for point in history], 5))
            curve.set_ylim(bottom=min(low, 0.0))
            curve.legend(fontsize=7)
            curve.set_xlabel("epoch", fontsize=8)
            curve.set_title("validation co-bps over training", fontsize=9)
        else:
            curve.axis("off")
            curve.text(0.5, 0.5, "No training history\n(a closed-form fit or an ensemble)", ha="center", va="center", fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
