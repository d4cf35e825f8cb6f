"""The synthetic datasets through the real path: simulate -> NWB file -> reader -> DatasetTensors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bench_synthetic.datasets import generate_nwb, locate_lorenz, nwb_path
from bench_synthetic.nwb_read import SPLIT_OF_LABEL, read_session
from bench_synthetic.simulate import simulate
from harness.api import BenchError

#: Small enough to generate in well under a second; big enough for every split and condition.
SMALL = {"n_conditions": 4, "trials_per_condition": 5, "n_bins": 20, "n_forward_bins": 5}
SMALL_CONFIGS = {
    "lorenz": {**SMALL, "n_heldin": 12, "n_heldout": 4},
    "chaotic_rnn": {**SMALL, "n_heldin": 12, "n_heldout": 4, "n_latents": 20},
    "multi_region": {**SMALL, "units_per_region": 6, "heldout_per_region": 2, "latents_per_region": 12},
}
DATASETS = tuple(SMALL_CONFIGS)


def test_registration_is_light_and_complete(host):
    names = host.registries.datasets.names()
    assert {"lorenz", "chaotic_rnn", "multi_region"} <= set(names)
    for name in DATASETS:
        entry = host.registries.datasets.get(name)
        assert entry.plugin == "synthetic"
        assert entry.has_ground_truth and entry.source == "synthetic (seeded)"
        assert entry.bin_sizes_ms == (20,) and entry.n_trials == 240
        assert entry.defaults["seed"] == 0
    assert host.registries.datasets.get("multi_region").n_units == 60

    code = "import sys, bench_synthetic.plugin; print(sorted(m for m in ('torch', 'pynwb', 'scipy', 'h5py') if m in sys.modules))"
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


@pytest.mark.parametrize("name", DATASETS)
def test_tensors_read_back_equal_the_generators_own_counts(host, name):
    config = SMALL_CONFIGS[name]
    sim = simulate(name, config)
    data = host.dataset(name, config)
    heldin, heldout = np.flatnonzero(~sim.heldout), np.flatnonzero(sim.heldout)
    T = sim.n_bins
    for label, split_name in SPLIT_OF_LABEL.items():
        split = data.split(split_name)
        trials = np.flatnonzero(sim.splits == label)
        np.testing.assert_array_equal(split.trial_ids, trials)
        counts = sim.counts[trials]
        np.testing.assert_array_equal(split.heldin, counts[:, :T][:, :, heldin])
        np.testing.assert_array_equal(split.heldout, counts[:, :T][:, :, heldout])
        np.testing.assert_array_equal(split.heldin_forward, counts[:, T:][:, :, heldin])
        np.testing.assert_array_equal(split.heldout_forward, counts[:, T:][:, :, heldout])
        np.testing.assert_array_equal(split.conditions, sim.conditions[trials])
        expected_rates = sim.true_rates[trials][:, :, np.concatenate([heldin, heldout])]
        np.testing.assert_allclose(split.true_rates, expected_rates, rtol=1e-5)
        np.testing.assert_allclose(split.behavior, sim.behavior[trials, :T], rtol=1e-5, atol=1e-6)
    assert data.heldin_regions == tuple(sim.regions[heldin]) and data.heldout_regions == tuple(sim.regions[heldout])


@pytest.mark.parametrize("name", DATASETS)
def test_binning_equals_numpy_histogram_of_the_spike_times(bench_home, name):
    from pynwb import NWBHDF5IO

    config = SMALL_CONFIGS[name]
    path = generate_nwb(name, config)
    bin_ms = 20
    session = read_session(path, bin_ms)
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        starts = nwb.trials["start_time"].data[:]
        spike_times = [nwb.units["spike_times"][unit] for unit in range(len(nwb.units))]
    n_total = session.n_bins + session.n_forward_bins
    expected = np.zeros_like(session.counts)
    for trial, start in enumerate(starts):
        edges = start + np.arange(n_total + 1) * bin_ms / 1000.0
        for unit, times in enumerate(spike_times):
            expected[trial, :, unit] = np.histogram(times, edges)[0]
    np.testing.assert_array_equal(session.counts, expected)
    assert session.counts.sum() == sum(len(t) for t in spike_times)  # no spike outside the trials


def test_same_seed_same_checksum_other_seed_another(tmp_path, monkeypatch):
    from harness.api import Host
    from harness.api import make_plugin_manager

    config = SMALL_CONFIGS["lorenz"]
    checksums = []
    for home, seed in (("a", 0), ("b", 0), ("c", 1)):  # a fresh home each time: no cache shared
        monkeypatch.setenv("BENCH_HOME", str(tmp_path / home))
        data = Host(make_plugin_manager(allow=["synthetic"])).dataset("lorenz", {**config, "seed": seed})
        checksums.append(data.checksum)
    assert checksums[0] == checksums[1] != checksums[2]
    assert len(checksums[0]) == 64


def test_shapes_regions_rates_conditions_behaviour(host):
    config = SMALL_CONFIGS["multi_region"]
    data = host.dataset("multi_region", config)
    assert data.name == data.submission_name == "multi_region"
    assert data.bin_size_ms == 20 and data.source == "synthetic (seeded)"
    assert data.metrics == ("co-bps", "fp-bps", "vel R2", "psth R2")
    assert data.regions == ("region_1", "region_2", "region_3")
    assert sorted(set(data.heldout_regions)) == list(data.regions)
    assert all(data.heldout_regions.count(r) == 2 and data.heldin_regions.count(r) == 4 for r in data.regions)
    n_in, n_out, T, F = 12, 6, config["n_bins"], config["n_forward_bins"]
    assert (data.n_heldin, data.n_heldout, data.n_bins, data.n_forward) == (n_in, n_out, T, F)
    trials = {"train": 3 * 4, "val": 1 * 4, "eval": 1 * 4}
    for split_name, n_trials in trials.items():
        split = data.split(split_name)
        assert split.heldin.shape == (n_trials, T, n_in) and split.heldout.shape == (n_trials, T, n_out)
        assert split.heldin_forward.shape == (n_trials, F, n_in) and split.heldout_forward.shape == (n_trials, F, n_out)
        assert split.true_rates.shape == (n_trials, T + F, n_in + n_out)
        assert np.all(np.isfinite(split.true_rates)) and np.all(split.true_rates >= 0)
        assert split.behavior.shape == (n_trials, T, 2) and np.all(np.isfinite(split.behavior))
        assert sorted(set(split.conditions.tolist())) == [0, 1, 2, 3]  # every condition in every split


def test_loads_are_cached_and_located(host, bench_home):
    config = SMALL_CONFIGS["lorenz"]
    assert locate_lorenz(config) is None
    first = host.dataset("lorenz", config)
    path = nwb_path("lorenz", config)
    assert locate_lorenz(config) == path and path.parent == bench_home / "cache" / "synthetic"
    assert path.name.startswith("lorenz-") and path.suffix == ".nwb"
    path.unlink()  # the tensors cache answers without the NWB file
    again = host.dataset("lorenz", config)
    assert again.checksum == first.checksum and not path.exists()
    assert list((bench_home / "cache" / "datasets" / "lorenz").glob("*.npz"))


def test_bad_options_are_refused_with_the_known_ones(host):
    with pytest.raises(BenchError, match="Known options"):
        host.dataset("lorenz", {"n_trails": 3})
    with pytest.raises(BenchError, match="whole number"):
        host.dataset("lorenz", {"n_bins": 2.5})
    with pytest.raises(BenchError, match="none for training"):
        host.dataset("lorenz", {"trials_per_condition": 2})
