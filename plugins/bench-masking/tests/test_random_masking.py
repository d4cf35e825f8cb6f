"""The ``random`` objective: the core conformance kit plus the semantics of NDT's masks."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from bench_masking.objective import build, expand_spans
from bench_masking.plugin import DEFAULTS
from harness.testing import ObjectiveContract, make_tiny_dataset, tensor_batch
from harness.api import cosmoothing_view

DATA = make_tiny_dataset()
T, F, I, O = DATA.n_bins, DATA.n_forward, DATA.n_heldin, DATA.n_heldout


class TestRandomMaskingContract(ObjectiveContract):
    name = "random"


def objective(**changes):
    return build(DATA, {**DEFAULTS, **changes})


def masked(seed: int = 0, **changes):
    return objective(**changes).training_batch(tensor_batch(DATA.train, DATA), torch.Generator().manual_seed(seed))


def heldin_scored(batch) -> torch.Tensor:
    return batch.loss_mask[:, :T, :I]


@pytest.mark.parametrize("mode", ["timestep", "neuron", "full"])
def test_heldout_units_and_forward_bins_are_always_scored_and_never_visible(mode):
    batch = masked(mode=mode)
    assert batch.inputs.shape[-1] == I  # held-out units have no input column at all
    assert (batch.inputs[:, T:] == 0).all()
    assert batch.loss_mask[:, :, I:].all() and batch.loss_mask[:, T:, :].all()


def test_timestep_mode_hides_whole_bins():
    scored = heldin_scored(masked(mode="timestep"))
    assert (scored == scored[:, :, :1]).all()
    assert scored.any() and not scored.all()


def test_neuron_mode_hides_whole_units():
    scored = heldin_scored(masked(mode="neuron", mask_ratio=0.5))
    assert (scored == scored[:, :1, :]).all()
    assert scored.any() and not scored.all()


def test_full_mode_hides_single_entries():
    scored = heldin_scored(masked(mode="full", mask_ratio=0.5))
    assert not (scored == scored[:, :, :1]).all() and not (scored == scored[:, :1, :]).all()


@pytest.mark.parametrize("mode", ["timestep", "full"])
def test_hidden_share_follows_mask_ratio(mode):
    shares = [heldin_scored(masked(seed, mode=mode, mask_ratio=0.3, max_span=3)).float().mean().item() for seed in range(20)]
    # Overlapping spans hide a little less than the ratio.
    assert 0.22 < sum(shares) / len(shares) < 0.33


def test_spans_cover_consecutive_bins():
    starts = torch.zeros(1, 10, dtype=torch.bool)
    starts[0, 2] = True
    assert expand_spans(starts, 3)[0].nonzero().flatten().tolist() == [2, 3, 4]
    assert torch.equal(expand_spans(starts, 1), starts)


def test_zero_replacement_keeps_every_visible_entry():
    batch = tensor_batch(DATA.train, DATA)
    out = objective(zero_ratio=1.0, mask_ratio=0.4).training_batch(batch, torch.Generator().manual_seed(1))
    hidden = heldin_scored(out)
    assert (out.inputs[:, :T][hidden] == 0).all()
    assert torch.equal(out.inputs[:, :T][~hidden], batch.heldin[~hidden])


def test_random_replacement_draws_counts_within_the_batch_range():
    batch = tensor_batch(DATA.train, DATA)
    out = objective(zero_ratio=0.0, random_ratio=1.0, mask_ratio=0.5, mode="full").training_batch(batch, torch.Generator().manual_seed(2))
    hidden = heldin_scored(out)
    replaced = out.inputs[:, :T][hidden]
    assert (replaced >= 0).all() and (replaced <= batch.heldin.max()).all()
    assert (replaced == replaced.round()).all()
    assert not torch.equal(replaced, batch.heldin[hidden]), "random counts should differ from the true ones"


def test_kept_entries_keep_their_true_value_but_are_scored():
    batch = tensor_batch(DATA.train, DATA)
    out = objective(zero_ratio=0.0, random_ratio=0.0, mask_ratio=0.5).training_batch(batch, torch.Generator().manual_seed(3))
    assert torch.equal(out.inputs[:, :T], batch.heldin)
    assert heldin_scored(out).any()


def test_same_seed_same_masks_other_seed_other_masks():
    assert torch.equal(masked(5).loss_mask, masked(5).loss_mask)
    assert not torch.equal(masked(5).loss_mask, masked(6).loss_mask)


def test_inference_is_the_cosmoothing_view():
    batch = tensor_batch(DATA.val, DATA)
    view, reference = objective().inference_batch(batch), cosmoothing_view(batch)
    assert torch.equal(view.inputs, reference.inputs) and torch.equal(view.loss_mask, reference.loss_mask)


def test_eval_masks_score_nlb_entries():
    batch = tensor_batch(DATA.val, DATA)
    cosmoothing = objective().eval_batch(batch, "co-smoothing")
    assert cosmoothing.loss_mask[:, :T, I:].all() and cosmoothing.loss_mask.sum() == cosmoothing.loss_mask[:, :T, I:].numel()
    forward = objective().eval_batch(batch, "forward")
    assert forward.loss_mask[:, T:].all() and not forward.loss_mask[:, :T].any()
    with pytest.raises(KeyError, match="co-smoothing"):
        objective().eval_batch(batch, "neuron")


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="mode"):
        objective(mode="region")
    with pytest.raises(ValueError, match="mask_ratio"):
        objective(mask_ratio=1.5)


def test_plugin_import_does_not_import_torch():
    code = "import sys, bench_masking.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
