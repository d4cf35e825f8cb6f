"""Read an NWB file in the layout ``nwb_write`` produces and bin it into DatasetTensors.

A light reader (pynwb + numpy) for this one layout; the NLB plugin owns the general nlb_tools path.
Spikes are binned from the units table's spike times; behaviour and true rates are looked up by
their timestamps, one sample per bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.api import DataFileError, DatasetTensors, Split, content_checksum

from bench_synthetic.defaults import SOURCE

#: The file's trial labels, and the DatasetTensors split each becomes.
SPLIT_OF_LABEL = {"train": "train", "val": "val", "test": "eval"}


@dataclass(frozen=True)
class BinnedSession:
    """A session binned trial by trial. S = observed + forward bins, units in units-table order."""

    bin_size_ms: int
    n_bins: int
    n_forward_bins: int
    counts: np.ndarray  # (R, S, N)
    heldout: np.ndarray  # (N,) bool
    regions: np.ndarray  # (N,) str
    splits: np.ndarray  # (R,) str
    conditions: np.ndarray  # (R,) int
    behavior: np.ndarray | None  # (R, S, B)
    true_rates: np.ndarray | None  # (R, S, N) expected spikes per bin


def bin_spike_times(
    spike_times: list[np.ndarray], window_starts: np.ndarray, n_bins: int, bin_size_ms: float
) -> np.ndarray:
    """Count each unit's spikes in ``n_bins`` bins from each window start: (R, n_bins, N).

    Bins are half-open [edge, next edge), as ``np.histogram`` (but for the last edge). Windows
    must not overlap; spikes outside every window are ignored.
    """
    bin_s = bin_size_ms / 1000.0
    order = np.argsort(window_starts, kind="stable")
    starts = np.asarray(window_starts, dtype=float)[order]
    counts = np.zeros((len(starts), n_bins, len(spike_times)), dtype=np.int64)
    for unit, times in enumerate(spike_times):
        times = np.asarray(times, dtype=float)
        window = np.searchsorted(starts, times, side="right") - 1
        inside = window >= 0
        window, times = window[inside], times[inside]
        bin_index = np.floor((times - starts[window]) / bin_s).astype(np.int64)
        kept = bin_index < n_bins
        flat = np.ravel_multi_index((order[window[kept]], bin_index[kept]), (len(starts), n_bins))
        counts[:, :, unit] = np.bincount(flat, minlength=len(starts) * n_bins).reshape(len(starts), n_bins)
    return counts


def read_session(path: Path, bin_size_ms: int) -> BinnedSession:
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        if nwb.units is None or nwb.trials is None:
            raise DataFileError(path, "units/trials", "a units table and a trials table")
        trials = nwb.trials
        starts = np.asarray(trials["start_time"].data[:], dtype=float)
        forward_starts = _column(path, trials, "forward_start_time").astype(float)
        stops = np.asarray(trials["stop_time"].data[:], dtype=float)
        n_bins = _whole_bins(path, "forward_start_time - start_time", forward_starts - starts, bin_size_ms)
        n_forward_bins = _whole_bins(path, "stop_time - forward_start_time", stops - forward_starts, bin_size_ms)
        if np.any(np.diff(np.sort(starts)) < (n_bins + n_forward_bins) * bin_size_ms / 1000.0 - 1e-9):
            raise DataFileError(path, "trials", "trials that do not overlap")
        splits = _strings(_column(path, trials, "split"))
        unknown = sorted(set(splits) - set(SPLIT_OF_LABEL))
        if unknown:
            raise DataFileError(path, "trials/split", f"labels among {sorted(SPLIT_OF_LABEL)}", repr(unknown[0]))
        conditions = _column(path, trials, "condition").astype(np.int64)

        units = nwb.units
        spike_index = np.asarray(units.spike_times_index.data[:])
        all_spikes = np.asarray(units.spike_times.data[:], dtype=float)
        spike_times = np.split(all_spikes, spike_index[:-1])
        heldout = _column(path, units, "heldout").astype(bool)
        regions = _unit_regions(path, nwb)

        n_total = n_bins + n_forward_bins
        counts = bin_spike_times(spike_times, starts, n_total, bin_size_ms)
        behavior = _per_bin_series(path, nwb, "behavior", "hand_vel", starts, n_total, bin_size_ms)
        rates_hz = _per_bin_series(path, nwb, "ground_truth", "true_rates", starts, n_total, bin_size_ms)
    return BinnedSession(
        bin_size_ms=bin_size_ms,
        n_bins=n_bins,
        n_forward_bins=n_forward_bins,
        counts=counts,
        heldout=heldout,
        regions=regions,
        splits=splits,
        conditions=conditions,
        behavior=behavior,
        true_rates=None if rates_hz is None else rates_hz * (bin_size_ms / 1000.0),
    )


def read_tensors(path: Path, name: str, bin_size_ms: int) -> DatasetTensors:
    """The file at ``path`` as DatasetTensors: its train/val/test trials become train/val/eval."""
    return session_tensors(read_session(path, bin_size_ms), name, notes=(f"generated NWB: {Path(path).name}",))


def session_tensors(session: BinnedSession, name: str, notes: tuple[str, ...] = ()) -> DatasetTensors:
    """A binned session as DatasetTensors: its train/val/test trials become train/val/eval."""
    bin_size_ms = session.bin_size_ms
    heldin_units, heldout_units = np.flatnonzero(~session.heldout), np.flatnonzero(session.heldout)
    splits = {
        split: _split(session, np.flatnonzero(session.splits == label), heldin_units, heldout_units)
        for label, split in SPLIT_OF_LABEL.items()
    }
    heldin_regions = tuple(session.regions[heldin_units].tolist())
    heldout_regions = tuple(session.regions[heldout_units].tolist())
    arrays = {f"{split}/{key}": value for split, data in splits.items() for key, value in data.arrays().items()}
    checksum = content_checksum(
        arrays, extra=(name, str(bin_size_ms), *heldin_regions, "|", *heldout_regions)
    )
    return DatasetTensors(
        name=name,
        bin_size_ms=bin_size_ms,
        heldin_regions=heldin_regions,
        heldout_regions=heldout_regions,
        checksum=checksum,
        source=SOURCE,
        submission_name=name,
        notes=notes,
        **splits,
    )


def _split(session: BinnedSession, trials: np.ndarray, heldin: np.ndarray, heldout: np.ndarray) -> Split:
    observed, forward = slice(0, session.n_bins), slice(session.n_bins, None)
    counts = session.counts[trials].astype(np.float32)
    true_rates = None
    if session.true_rates is not None:
        true_rates = session.true_rates[trials][:, :, np.concatenate([heldin, heldout])].astype(np.float32)
    behavior = None if session.behavior is None else session.behavior[trials, observed].astype(np.float32)
    return Split(
        heldin=counts[:, observed][:, :, heldin],
        heldout=counts[:, observed][:, :, heldout],
        heldin_forward=counts[:, forward][:, :, heldin],
        heldout_forward=counts[:, forward][:, :, heldout],
        behavior=behavior,
        conditions=session.conditions[trials],
        true_rates=true_rates,
        trial_ids=trials,
    )


def _column(path: Path, table, name: str) -> np.ndarray:
    if name not in table.colnames:
        raise DataFileError(path, f"{table.name}/{name}", "a column of that name", f"columns {list(table.colnames)}")
    return np.asarray(table[name].data[:])


def _strings(values: np.ndarray) -> np.ndarray:
    return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])


def _whole_bins(path: Path, field: str, durations_s: np.ndarray, bin_size_ms: int) -> int:
    """The number of bins every trial spans in ``field``; the same for all trials and whole."""
    bins = durations_s * 1000.0 / bin_size_ms
    count = int(round(float(bins[0]))) if len(bins) else 0
    if len(bins) == 0 or np.any(np.abs(bins - count) > 1e-6):
        raise DataFileError(path, f"trials/{field}", f"the same whole number of {bin_size_ms} ms bins in every trial")
    return count


def _unit_regions(path: Path, nwb) -> np.ndarray:
    """Each unit's region: the ``location`` of its (first) electrode."""
    units = nwb.units
    if "electrodes" not in units.colnames or nwb.electrodes is None:
        raise DataFileError(path, "units/electrodes", "an electrode for every unit")
    electrode_rows = np.asarray(units.electrodes.data[:])
    first = np.concatenate([[0], np.asarray(units.electrodes_index.data[:])[:-1]])
    locations = _strings(np.asarray(nwb.electrodes["location"].data[:]))
    return locations[electrode_rows[first]]


def _per_bin_series(path, nwb, module: str, series: str, starts, n_bins: int, bin_size_ms: int):
    """(R, n_bins, D) samples of a per-bin TimeSeries, found by timestamp; None when absent."""
    if module not in nwb.processing or series not in nwb.processing[module].data_interfaces:
        return None
    timeseries = nwb.processing[module][series]
    timestamps = np.asarray(timeseries.timestamps[:], dtype=float)
    data = np.asarray(timeseries.data[:], dtype=float)
    bin_s = bin_size_ms / 1000.0
    first = np.searchsorted(timestamps, np.asarray(starts) - bin_s / 2)
    rows = first[:, None] + np.arange(n_bins)[None, :]
    expected = np.asarray(starts)[:, None] + np.arange(n_bins)[None, :] * bin_s
    wanted = f"one sample at the start of every {bin_size_ms} ms bin of every trial"
    if rows.max(initial=0) >= len(timestamps) or np.any(np.abs(timestamps[rows] - expected) > bin_s / 10):
        raise DataFileError(path, f"processing/{module}/{series}", wanted)
    return data[rows]
