"""Fixtures for the bench-nlb tests: a throw-away plugin host, a private BENCH_HOME, small NLB files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from harness.api import Host, make_plugin_manager

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_MAZE_SMALL = (REPO_ROOT / ".." / "shared" / "data" / "mc_maze_small").resolve()
SHARED_H5 = SHARED_MAZE_SMALL / "mc_maze_small_5ms.h5"
SHARED_TEST_NWB = SHARED_MAZE_SMALL / "sub-Jenkins_ses-small_desc-test_ecephys.nwb"


@pytest.fixture(autouse=True)
def bench_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own BENCH_HOME and no BENCH_DATA_PATH, so caches never leak."""
    home = tmp_path / "bench-home"
    monkeypatch.setenv("BENCH_HOME", str(home))
    monkeypatch.delenv("BENCH_DATA_PATH", raising=False)
    monkeypatch.delenv("BENCH_DANDI_API_URL", raising=False)
    return home


@pytest.fixture
def host() -> Host:
    return Host(make_plugin_manager())


@pytest.fixture
def shared_folder() -> Path:
    if not (SHARED_H5.is_file() and SHARED_TEST_NWB.is_file()):
        pytest.skip(f"shared MC_Maze_Small data not found at {SHARED_MAZE_SMALL} (../shared/data beside the checkout)")
    return SHARED_MAZE_SMALL


def tensor_arrays(n_train=10, n_eval=4, n_bins=8, n_forward=3, n_heldin=4, n_heldout=2, seed=0) -> dict[str, np.ndarray]:
    """A small, valid NLB tensor layout (Poisson counts as float32, like nlb_tools writes)."""
    rng = np.random.default_rng(seed)

    def counts(*shape):
        return rng.poisson(0.5, size=shape).astype(np.float32)

    return {
        "train_spikes_heldin": counts(n_train, n_bins, n_heldin),
        "train_spikes_heldout": counts(n_train, n_bins, n_heldout),
        "train_spikes_heldin_forward": counts(n_train, n_forward, n_heldin),
        "train_spikes_heldout_forward": counts(n_train, n_forward, n_heldout),
        "train_behavior": rng.normal(size=(n_train, n_bins, 2)).astype(np.float32),
        "eval_spikes_heldin": counts(n_eval, n_bins, n_heldin),
    }


def write_tensor_file(path: Path, arrays: dict[str, np.ndarray], attrs: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        for key, value in arrays.items():
            handle.create_dataset(key, data=value)
        for key, value in (attrs or {}).items():
            handle.attrs[key] = value
    return path


@pytest.fixture
def make_tensor_file(tmp_path):
    """``make_tensor_file(name="x.h5", drop=(), **replace)`` writes a small NLB h5 and returns its path."""

    def make(name: str = "small_nlb.h5", drop: tuple[str, ...] = (), attrs: dict | None = None, **replace) -> Path:
        arrays = tensor_arrays()
        for key in drop:
            arrays.pop(key)
        arrays.update(replace)
        return write_tensor_file(tmp_path / "files" / name, arrays, attrs)

    return make


def write_maze_nwb(path: Path, n_trials=12, n_heldin=5, n_heldout=3, seed=0, unit_ids=None, behaviour_start=0.02) -> Path:
    """A small NWB file in the NLB MC_Maze layout: 1 s trials, move onset 300 ms in, split
    train/val, electrodes with locations, and hand velocity that starts ``behaviour_start`` s in
    (a late start is what leaves nlb_tools' time index unsorted on modern pandas)."""
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    rng = np.random.default_rng(seed)
    nwb = NWBFile(session_description="synthetic maze", identifier="synthetic", session_start_time=datetime(2021, 1, 1, tzinfo=timezone.utc))
    device = nwb.create_device("utah")
    groups = {r: nwb.create_electrode_group(f"electrode_group_{r}", description=r, location=r, device=device) for r in ("PMd", "M1")}
    n_units = n_heldin + n_heldout
    unit_ids = list(unit_ids) if unit_ids is not None else [100 + i for i in range(n_units)]
    for index in range(n_units):
        region = "M1" if index % 2 else "PMd"
        nwb.add_electrode(location=region, group=groups[region], x=np.nan, y=np.nan, z=np.nan, imp=np.nan, filtering="none")
    duration = float(n_trials)
    nwb.add_unit_column("heldout", "held-out unit")
    for index in range(n_units):
        times = np.sort(np.round(rng.uniform(0, duration, size=int(20 * duration)), 3))
        nwb.add_unit(spike_times=times, obs_intervals=[[0.0, duration]], heldout=index >= n_heldin, electrodes=[index], id=unit_ids[index])
    for column in ("move_onset_time", "split", "trial_type", "trial_version"):
        nwb.add_trial_column(column, column)
    for k in range(n_trials):
        split = "val" if k >= n_trials - 4 else "train"
        nwb.add_trial(start_time=float(k), stop_time=k + 0.95, move_onset_time=k + 0.3, split=split, trial_type=k % 3, trial_version=0)
    module = nwb.create_processing_module("behavior", "behaviour")
    stamps = np.round(np.arange(behaviour_start, duration, 0.001), 3)
    module.add(TimeSeries(name="hand_vel", data=rng.normal(size=(len(stamps), 2)), unit="mm/s", timestamps=stamps, comments="columns=[x,y]"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.fixture
def make_maze_nwb(tmp_path):
    def make(name: str = "sub-Synth_ses-small_desc-train_behavior+ecephys.nwb", **options) -> Path:
        return write_maze_nwb(tmp_path / "nwb" / name, **options)

    return make


def numpy_binned(spike_times_s, onsets_s, start_ms: int, stop_ms: int, bin_ms: int) -> np.ndarray:
    """Plain numpy binning: np.histogram per trial and unit over onset + [start, stop) ms.

    Times are compared in ms rounded to 1 ns (the files store ms-resolution times as float
    seconds: 8.165 s * 1000 is 8164.999..., which must count as 8165 ms). Bins are half-open
    [a, b), so a spike exactly at the window's end is dropped first: np.histogram closes its last bin.
    """
    edges = np.arange(start_ms, stop_ms + 1, bin_ms)
    out = np.zeros((len(onsets_s), len(edges) - 1, len(spike_times_s)), dtype=np.float32)
    for trial, onset in enumerate(onsets_s):
        trial_edges = np.round(onset * 1000 + edges, 6)
        for unit, times in enumerate(spike_times_s):
            times_ms = np.round(np.asarray(times) * 1000, 6)
            out[trial, :, unit] = np.histogram(times_ms[times_ms < trial_edges[-1]], bins=trial_edges)[0]
    return out


@pytest.fixture
def bin_with_numpy():
    return numpy_binned
