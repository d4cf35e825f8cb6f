"""Malformed files are refused with a DataFileError naming the file, the field and what was
expected, and a failed load leaves nothing in the cache."""

from __future__ import annotations

import numpy as np
import pytest

from harness.api import DataFileError


def _counts(*shape, value=0.0):
    return np.full(shape, value, dtype=np.float32)


def _with(index, value):
    array = np.zeros((10, 8, 4), np.float32)
    array[index] = value
    return array


BROKEN = {
    "missing key": (dict(drop=("train_spikes_heldout",)), "train_spikes_heldout", "missing"),
    "wrong rank": (dict(train_spikes_heldin=_counts(10, 32)), "train_spikes_heldin", "rank-3"),
    "trial count mismatch": (dict(train_spikes_heldout=_counts(9, 8, 2)), "train_spikes_heldout", "10 trials"),
    "held-in unit mismatch": (dict(eval_spikes_heldin=_counts(4, 8, 3)), "eval_spikes_heldin", "4 held-in units"),
    "held-out unit mismatch": (dict(train_spikes_heldout_forward=_counts(10, 3, 5)), "train_spikes_heldout_forward", "2 held-out units"),
    "bin mismatch": (dict(eval_spikes_heldin=_counts(4, 7, 4)), "eval_spikes_heldin", "8 bins"),
    "negative counts": (dict(train_spikes_heldin=_with((0, 0, 0), -1.0)), "train_spikes_heldin", "non-negative"),
    "NaN counts": (dict(train_spikes_heldin=_with((1, 2, 3), np.nan)), "train_spikes_heldin", "without NaN"),
    "non-integer counts": (dict(train_spikes_heldin=_with((2, 0, 1), 0.5)), "train_spikes_heldin", "integer spike counts"),
    "trials with zero bins": (dict(train_spikes_heldin=_counts(10, 0, 4)), "train_spikes_heldin", "at least one trial, one bin"),
    "held-in/held-out overlap": (
        dict(heldin_unit_ids=np.array([11, 12, 13, 14]), heldout_unit_ids=np.array([14, 15])),
        "heldout_unit_ids",
        "disjoint",
    ),
    "val trials without targets": (dict(val_spikes_heldin=_counts(3, 8, 4)), "val_spikes_heldout", "held-out targets"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_tensor_file_is_refused_and_not_cached(case, host, make_tensor_file, bench_home):
    options, field, expected = BROKEN[case]
    path = make_tensor_file("broken.h5", **options)
    with pytest.raises(DataFileError) as caught:
        host.dataset(str(path))
    error = caught.value
    assert (error.path, error.field) == (str(path), field)
    assert str(path) in str(error) and f"'{field}'" in str(error) and expected in str(error)
    assert not list(bench_home.rglob("*.npz")), "a failed load wrote to the cache"


def test_a_file_that_is_not_hdf5_is_refused(host, tmp_path, bench_home):
    path = tmp_path / "mc_maze_small_5ms.h5"
    path.write_text("not an HDF5 file")
    with pytest.raises(DataFileError, match="expected an HDF5 file in the NLB tensor layout"):
        host.dataset("mc_maze_small", {"path": str(path)})
    assert not bench_home.exists() or not list(bench_home.rglob("*.npz"))


def test_nwb_unit_in_both_heldin_and_heldout_is_refused(host, make_maze_nwb, bench_home):
    path = make_maze_nwb(unit_ids=[100, 101, 102, 103, 104, 104, 105, 106])
    with pytest.raises(DataFileError) as caught:
        host.dataset("mc_maze_small", {"path": str(path)})
    assert caught.value.field == "units.heldout" and "[104]" in str(caught.value)
    assert not list(bench_home.rglob("*.npz"))


def test_dataset_name_in_file_must_match(host, make_tensor_file):
    path = make_tensor_file("export.h5", attrs={"dataset": "mc_rtt"})
    with pytest.raises(DataFileError, match="expected 'mc_maze_small', found 'mc_rtt'"):
        host.dataset("mc_maze_small", {"path": str(path)})
