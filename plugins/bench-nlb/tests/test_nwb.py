"""Raw NWB through nlb_tools (with bench_nlb.compat) against plain numpy binning."""

from __future__ import annotations

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from harness.api import DataFileError

from bench_nlb import nwb_tensors
from bench_nlb.compat import CompatNWBDataset, rebin_spikes

# The official file was written by an older pynwb; reading it warns about a deprecated field.
pytestmark = pytest.mark.filterwarnings("ignore:The 'manufacturer' field is deprecated:DeprecationWarning")

MAZE_WINDOW_MS = (-250, 450)  # nlb_tools PARAMS: move_onset_time -250..+450 ms


def _spikes_and_onsets(path, split=None):
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        trials = nwb.trials.to_dataframe()
    if split is not None:
        trials = trials[trials["split"] == split]
    return units, trials["move_onset_time"].to_numpy()


def test_official_test_nwb_binned_at_5ms_equals_numpy_binning(shared_folder, bin_with_numpy):
    """Acceptance check: our nlb path on the unmodified NLB test file == np.histogram per trial/unit."""
    path = shared_folder / "sub-Jenkins_ses-small_desc-test_ecephys.nwb"
    dataset = nwb_tensors.open_nwb(path, 5)
    binned = nwb_tensors.eval_arrays(dataset, "mc_maze_small", "test")
    units, onsets = _spikes_and_onsets(path)
    expected = bin_with_numpy(units["spike_times"].tolist(), onsets, *MAZE_WINDOW_MS, 5)
    assert binned["heldin"].shape == (100, 140, 107)
    assert "heldout" not in binned  # NLB test files have no held-out units
    np.testing.assert_array_equal(binned["heldin"].astype(np.float32), expected)
    assert expected.sum() > 10_000  # a real comparison, not of empty arrays


def test_a_test_only_nwb_is_refused_as_training_data(host, shared_folder):
    with pytest.raises(DataFileError, match="'train' trials"):
        host.dataset("mc_maze_small", {"path": str(shared_folder / "sub-Jenkins_ses-small_desc-test_ecephys.nwb")})


def test_train_nwb_loads_through_nlb_tools(host, make_maze_nwb, bin_with_numpy):
    path = make_maze_nwb()
    data = host.dataset("mc_maze_small", {"path": str(path)})
    units, onsets = _spikes_and_onsets(path, "train")
    heldout = units["heldout"].to_numpy()
    expected = bin_with_numpy(units["spike_times"].tolist(), onsets, *MAZE_WINDOW_MS, 5)
    together = np.empty((8, 140, 5), np.float32)
    together[data.train.trial_ids] = data.train.heldin
    together[data.val.trial_ids] = data.val.heldin
    np.testing.assert_array_equal(together, expected[:, :, ~heldout])
    assert data.eval.heldout.shape == (4, 140, 3)  # the NLB 'val' trials keep their targets
    assert data.eval.heldin_forward.shape == (4, 40, 5) and data.train.behavior.shape == (6, 140, 2)
    assert data.heldin_regions == ("PMd", "M1", "PMd", "M1", "PMd")
    assert data.heldout_regions == ("M1", "PMd", "M1")
    assert data.train.conditions is not None


def test_compat_sorts_the_time_index_nlb_tools_leaves_unsorted(make_maze_nwb):
    dataset = nwb_tensors.open_nwb(make_maze_nwb(), 1)
    assert isinstance(dataset, CompatNWBDataset)
    assert dataset.data.index.is_monotonic_increasing


def test_rebin_spikes_sums_bins_and_keeps_nan_rows():
    counts = np.array([[1.0], [2.0], [np.nan], [1.0], [3.0], [1.0], [4.0]])
    np.testing.assert_array_equal(rebin_spikes(counts, 2), [[3.0], [np.nan], [4.0], [4.0]])
    np.testing.assert_array_equal(rebin_spikes(np.ones((6, 2)), 3), np.full((2, 2), 3.0))
