"""The ``mtm`` objective: the core conformance kit plus the semantics of each MtM scheme."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys

import pytest
import torch

from bench_mtm.objective import build
from bench_mtm.plugin import DEFAULTS
from harness.testing import ObjectiveContract, make_tiny_dataset, tensor_batch

DATA = make_tiny_dataset()  # held-in units 0-5 in region A, 6-11 in region B
T, F, I, O = DATA.n_bins, DATA.n_forward, DATA.n_heldin, DATA.n_heldout
REGION = {"A": torch.arange(I) < 6, "B": torch.arange(I) >= 6}


class TestMtMContract(ObjectiveContract):
    name = "mtm"


def objective(data=DATA, **changes):
    return build(data, {**DEFAULTS, **changes})


def batch_of(scheme: str, seed: int = 0, **changes):
    """A training batch drawn with only ``scheme`` active."""
    return objective(masks=[scheme], **changes).training_batch(tensor_batch(DATA.train, DATA), torch.Generator().manual_seed(seed))


def hidden_inputs(masked) -> torch.Tensor:
    """Held-in entries the model cannot see (zeroed; the tiny data has spikes in most entries)."""
    return masked.inputs[:, :T] == 0


def scored_heldin(masked) -> torch.Tensor:
    return masked.loss_mask[:, :T, :I]


def test_four_schemes_four_prompts_and_one_eval_mask_per_region():
    mtm = objective()
    assert mtm.n_prompts == 4
    assert mtm.eval_masks == ("neuron", "causal", "intra-region:A", "intra-region:B", "inter-region:A", "inter-region:B")


def test_one_region_skips_region_schemes_with_a_note(caplog):
    one_region = dataclasses.replace(DATA, heldin_regions=("M1",) * I)
    with caplog.at_level(logging.INFO, logger="bench_mtm.objective"):
        mtm = objective(one_region)
    assert mtm.masks == ("neuron", "causal") and mtm.n_prompts == 2
    assert "skipping intra-region, inter-region" in caplog.text
    with pytest.raises(ValueError, match="two regions"):
        objective(one_region, masks=["inter-region"])


@pytest.mark.parametrize("scheme", ["neuron", "causal", "intra-region", "inter-region"])
def test_heldout_units_and_forward_bins_always_scored_never_visible(scheme):
    masked = batch_of(scheme)
    assert masked.inputs.shape[-1] == I
    assert (masked.inputs[:, T:] == 0).all()
    assert masked.loss_mask[:, :, I:].all() and masked.loss_mask[:, T:].all()


@pytest.mark.parametrize("scheme", ["neuron", "causal", "intra-region", "inter-region"])
def test_scored_held_in_entries_are_hidden(scheme):
    masked = batch_of(scheme)
    assert scored_heldin(masked).any()
    assert hidden_inputs(masked)[scored_heldin(masked)].all()


def test_neuron_scheme_hides_whole_units():
    scored = scored_heldin(batch_of("neuron", mask_ratio=0.5))
    assert (scored == scored[:, :1]).all() and not scored.all()


def test_causal_scheme_hides_a_suffix_of_bins():
    scored = scored_heldin(batch_of("causal", mask_ratio=0.3))
    by_bin = scored[:, :, 0]
    assert (scored == scored[:, :, :1]).all()
    cut = by_bin.float().argmax(dim=1)
    assert all(by_bin[trial, cut[trial]:].all() and not by_bin[trial, : cut[trial]].any() for trial in range(len(cut)))
    assert (cut >= T - round(2 * 0.3 * T)).all()


def test_inter_region_hides_and_scores_exactly_one_region():
    for seed in range(6):
        scored = scored_heldin(batch_of("inter-region", seed))
        units = scored[0, 0]
        assert any(torch.equal(units, region) for region in REGION.values())
        assert (scored == units).all()


def test_intra_region_keeps_part_of_one_region_visible_and_scores_only_it():
    for seed in range(6):
        masked = batch_of("intra-region", seed, mask_ratio=0.5)
        scored, hidden = scored_heldin(masked), hidden_inputs(masked)
        target = REGION["A"] if scored[..., REGION["A"]].any() else REGION["B"]
        assert not scored[..., ~target].any()
        assert hidden[..., ~target].all(), "every other region is hidden"
        assert (~hidden[..., target]).any(), "part of the target region stays visible"


def test_each_batch_draws_one_scheme_and_announces_it():
    mtm = objective()
    batch = tensor_batch(DATA.train, DATA)
    generator = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(40):
        masked = mtm.training_batch(batch, generator)
        assert (masked.prompt == masked.prompt[0]).all()
        seen.add(int(masked.prompt[0]))
    assert seen == {0, 1, 2, 3}


def test_same_seed_same_masks_other_seed_other_masks():
    mtm, batch = objective(), tensor_batch(DATA.train, DATA)
    one, two = (mtm.training_batch(batch, torch.Generator().manual_seed(9)) for _ in range(2))
    assert torch.equal(one.inputs, two.inputs) and torch.equal(one.loss_mask, two.loss_mask)
    others = [mtm.training_batch(batch, torch.Generator().manual_seed(s)).loss_mask for s in range(4)]
    assert any(not torch.equal(others[0], other) for other in others[1:])


def test_inference_is_cosmoothing_under_the_neuron_prompt():
    mtm = objective(masks=["causal", "neuron"])
    view = mtm.inference_batch(tensor_batch(DATA.val, DATA))
    assert (view.prompt == 1).all()
    assert torch.equal(view.inputs[:, :T], tensor_batch(DATA.val, DATA).heldin)


def test_eval_masks_are_fixed_and_score_what_they_name():
    mtm, batch = objective(), tensor_batch(DATA.val, DATA)
    neuron = mtm.eval_batch(batch, "neuron")
    assert neuron.loss_mask.sum() == neuron.loss_mask[:, :T, I:].sum() == batch.heldout.numel()
    causal = mtm.eval_batch(batch, "causal")
    assert causal.loss_mask[:, T:].all() and not causal.loss_mask[:, :T].any()
    inter = mtm.eval_batch(batch, "inter-region:B")
    assert torch.equal(inter.loss_mask[0, 0, :I], REGION["B"]) and not inter.loss_mask[..., I:].any()
    assert (inter.inputs[:, :T, REGION["B"]] == 0).all()
    intra = mtm.eval_batch(batch, "intra-region:A")
    units = intra.loss_mask[0, 0, :I]
    assert units.sum() == round(DEFAULTS["mask_ratio"] * 6) and not units[REGION["B"]].any()
    assert (intra.inputs[:, :T, REGION["B"]] == 0).all()
    assert torch.equal(intra.loss_mask, mtm.eval_batch(batch, "intra-region:A").loss_mask)
    with pytest.raises(KeyError, match="inter-region:A"):
        mtm.eval_batch(batch, "inter-region:C")


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="temporal"):
        objective(masks=["neuron", "temporal"])


def test_plugin_import_does_not_import_torch():
    code = "import sys, bench_mtm.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
