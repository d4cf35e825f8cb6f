"""The real MC_Maze_Small files in ../shared/data: tensors equal the file, regions from the NWB."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pytest

from harness.api import seeded_val_split

pytestmark = pytest.mark.shared_data

FIELDS = {
    "heldin": "train_spikes_heldin",
    "heldout": "train_spikes_heldout",
    "heldin_forward": "train_spikes_heldin_forward",
    "heldout_forward": "train_spikes_heldout_forward",
    "behavior": "train_behavior",
}


def test_shared_folder_loads_as_the_file_says(host, shared_folder, bench_home):
    data = host.dataset(str(shared_folder))
    with h5py.File(shared_folder / "mc_maze_small_5ms.h5", "r") as handle:
        file = {key: handle[key][()] for key in handle}

    assert (data.name, data.submission_name, data.bin_size_ms) == ("mc_maze_small", "mc_maze_small", 5)
    assert data.metrics == ("co-bps", "fp-bps", "vel R2", "psth R2")
    train_index, val_index = seeded_val_split(75, 0.2, 0)
    np.testing.assert_array_equal(data.train.trial_ids, train_index)
    np.testing.assert_array_equal(data.val.trial_ids, val_index)
    for field, key in FIELDS.items():
        together = np.empty_like(file[key])
        together[data.train.trial_ids] = getattr(data.train, field)
        together[data.val.trial_ids] = getattr(data.val, field)
        np.testing.assert_array_equal(together, file[key], err_msg=field)
    np.testing.assert_array_equal(data.eval.heldin, file["eval_spikes_heldin"])
    assert data.eval.heldout is None and data.eval.heldin_forward is None  # withheld by NLB
    assert (data.train.n_trials, data.val.n_trials, data.eval.n_trials) == (60, 15, 25)

    counts = Counter(data.heldin_regions)
    print(f"\nMC_Maze_Small held-in unit regions (107 units): M1 {counts['M1']}, PMd {counts['PMd']}")
    assert len(data.heldin_regions) == 107 and set(counts) == {"M1", "PMd"}
    assert counts["M1"] + counts["PMd"] == 107
    assert data.heldout_regions is None  # the test NWB has no held-out units

    cached = list((bench_home / "cache" / "datasets" / "mc_maze_small").glob("*.npz"))
    assert len(cached) == 1
    again = host.dataset("mc_maze_small", {"path": str(shared_folder)})
    assert again.checksum == data.checksum
    np.testing.assert_array_equal(again.val.heldout, data.val.heldout)


def test_name_alone_finds_the_shared_folder_beside_the_checkout(host, shared_folder, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[3])  # the checkout's root; shared/ is beside it
    data = host.dataset("mc_maze_small")
    assert Path(data.source).resolve() == (shared_folder / "mc_maze_small_5ms.h5").resolve()
