"""The ``makin`` objective: the core conformance kit for every mode, plus the shapes of its masks."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from bench_makin_masks.masks import MODES, canonical_mode, hidden_entries, pen, shape_offsets
from bench_makin_masks.objective import build
from bench_makin_masks.plugin import DEFAULTS
from harness.api import BenchError
from harness.testing import ObjectiveContract, make_tiny_dataset, tensor_batch
from harness.api import cosmoothing_view

DATA = make_tiny_dataset()
T, F, I = DATA.n_bins, DATA.n_forward, DATA.n_heldin


class TestDotContract(ObjectiveContract):
    name = "makin"


class TestDotStripLineContract(ObjectiveContract):
    name = "makin"
    config = {"mode": "dot-strip-line", "length": 8}


class TestStripLContract(ObjectiveContract):
    name = "makin"
    config = {"mode": "strip-l", "length": 5}


def objective(**changes):
    return build(DATA, {**DEFAULTS, **changes})


def masked(seed: int = 0, **changes):
    return objective(**changes).training_batch(tensor_batch(DATA.train, DATA), torch.Generator().manual_seed(seed))


def draw(mode: str, n_bins: int = 40, n_units: int = 30, seed: int = 0, **geometry) -> torch.Tensor:
    settings = {"length": 10, "strip_length": 3, "axis": "time", **geometry}
    return hidden_entries(mode, 4, n_bins, n_units, 0.27, torch.Generator().manual_seed(seed), **settings)


def test_mode_names_are_read_as_the_lab_writes_them():
    assert canonical_mode("dot strip line") == canonical_mode("Dot_Strip_Line") == "dot-strip-line"
    assert canonical_mode("dot L") == "dot-l" and canonical_mode("strip L") == "strip-l"
    assert canonical_mode("zigzag") is None and canonical_mode(3) is None


def test_pen_styles():
    assert pen("dot", 6, 3).tolist() == [True, False, True, False, True, False]
    assert pen("strip", 4, 3).all()
    # dot, gap, strip of 3, gap, then again
    assert pen("dot-strip", 9, 3).tolist() == [True, False, True, True, True, False, True, False, True]


def test_an_l_has_one_arm_along_time_and_one_along_units_sharing_the_corner():
    offsets = shape_offsets("L", "strip", 4, 3, "time", 3).tolist()
    assert sorted(map(tuple, offsets)) == [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0), (3, 0)]


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_hides_about_the_mask_ratio(mode):
    shares = [draw(mode, seed=seed).float().mean().item() for seed in range(10)]
    mean = sum(shares) / len(shares)
    assert 0.17 < mean <= 0.28, f"{mode}: hid {mean:.3f} of entries, expected about 0.27"


def test_dot_hides_exactly_the_ratio_of_the_batch():
    hidden = draw("dot")
    assert hidden.sum().item() == round(0.27 * hidden.numel())


def test_solid_lines_along_time_hide_runs_of_one_unit():
    hidden = draw("strip-line", length=10, axis="time")[0]  # (bins, units)
    for unit in range(hidden.shape[1]):
        column = hidden[:, unit].int()
        runs = [len(run) for run in "".join(map(str, column.tolist())).split("0") if run]
        assert all(run >= 10 for run in runs), "solid lines cover whole segments of 10 bins"


def test_lines_along_units_hide_runs_of_one_bin():
    hidden = draw("strip-line", length=10, axis="units")[0]
    for bin_ in range(hidden.shape[0]):
        row = "".join(str(int(v)) for v in hidden[bin_].tolist())
        assert all(len(run) >= 10 for run in row.split("0") if run)


def test_dotted_lines_leave_gaps_between_hidden_entries():
    def sparse(mode: str) -> torch.Tensor:  # few lines, so that they seldom overlap
        return hidden_entries(mode, 8, 40, 30, 0.03, torch.Generator().manual_seed(0), length=10, strip_length=3, axis="time")

    def neighbours(hidden: torch.Tensor) -> float:  # share of hidden entries whose next bin is hidden too
        return ((hidden[:, 1:] & hidden[:, :-1]).sum() / hidden.sum()).item()

    assert neighbours(sparse("strip-line")) > 0.8
    assert neighbours(sparse("dot-line")) < 0.1


def test_shapes_longer_than_the_trial_are_clipped_to_it():
    hidden = draw("strip-l", n_bins=6, n_units=5, length=50)
    assert hidden.shape == (4, 6, 5) and hidden.any()


def test_masked_entries_are_zeroed_and_scored_the_rest_kept():
    batch = tensor_batch(DATA.train, DATA)
    out = objective(mode="strip-line", length=5).training_batch(batch, torch.Generator().manual_seed(1))
    hidden = out.loss_mask[:, :T, :I]
    assert hidden.any()
    assert (out.inputs[:, :T][hidden] == 0).all()
    assert torch.equal(out.inputs[:, :T][~hidden], batch.heldin[~hidden])
    assert out.loss_mask[:, :, I:].all() and out.loss_mask[:, T:, :].all()
    assert (out.inputs[:, T:] == 0).all()


def test_same_seed_same_masks_other_seed_other_masks():
    assert torch.equal(masked(5, mode="dot-l").loss_mask, masked(5, mode="dot-l").loss_mask)
    assert not torch.equal(masked(5, mode="dot-l").loss_mask, masked(6, mode="dot-l").loss_mask)


def test_inference_is_the_cosmoothing_view():
    batch = tensor_batch(DATA.val, DATA)
    view, reference = objective().inference_batch(batch), cosmoothing_view(batch)
    assert torch.equal(view.inputs, reference.inputs) and torch.equal(view.loss_mask, reference.loss_mask)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"mode": "zigzag"}, "'mode'"),
        ({"mask_ratio": 0}, "'mask_ratio'"),
        ({"mask_ratio": 1.2}, "'mask_ratio'"),
        ({"length": 0}, "'length'"),
        ({"strip_length": 1.5}, "'strip_length'"),
        ({"line_axis": "space"}, "'line_axis'"),
    ],
)
def test_bad_settings_are_refused_naming_the_option(changes, named):
    with pytest.raises(BenchError, match=named) as caught:
        objective(**changes)
    assert "\n" not in str(caught.value) and "objective 'makin'" in str(caught.value)


def test_plugin_import_does_not_import_torch():
    code = "import sys, bench_makin_masks.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
