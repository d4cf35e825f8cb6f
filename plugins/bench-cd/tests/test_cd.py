"""The ``cd`` and ``autoencode`` objectives: the core conformance kit plus their semantics."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from bench_cd.objective import build_autoencode, build_cd
from bench_cd.plugin import CD_DEFAULTS
from harness.api import BenchError
from harness.testing import ObjectiveContract, make_tiny_dataset, tensor_batch
from harness.api import cosmoothing_view

DATA = make_tiny_dataset()
T, F, I, O = DATA.n_bins, DATA.n_forward, DATA.n_heldin, DATA.n_heldout


class TestCoordinatedDropoutContract(ObjectiveContract):
    name = "cd"


class TestAutoencodeContract(ObjectiveContract):
    name = "autoencode"


def masked(seed: int = 0, **changes):
    batch = tensor_batch(DATA.train, DATA)
    return batch, build_cd(DATA, {**CD_DEFAULTS, **changes}).training_batch(batch, torch.Generator().manual_seed(seed))


def test_dropped_entries_are_zeroed_kept_ones_rescaled_and_only_dropped_ones_scored():
    batch, out = masked(cd_rate=0.4)
    dropped = out.loss_mask[:, :T, :I]
    assert (out.inputs[:, :T][dropped] == 0).all()
    torch.testing.assert_close(out.inputs[:, :T][~dropped], batch.heldin[~dropped] / 0.6)
    assert 0.35 < dropped.float().mean().item() < 0.45


def test_heldout_units_and_forward_bins_are_scored_and_never_visible():
    _, out = masked()
    assert out.inputs.shape[-1] == I and (out.inputs[:, T:] == 0).all()
    assert out.loss_mask[:, :, I:].all() and out.loss_mask[:, T:, :].all()


def test_copying_the_input_cannot_lower_the_heldin_loss():
    """The scored held-in entries are exactly those the model was not shown."""
    batch, out = masked(cd_rate=0.3)
    scored = out.loss_mask[:, :T, :I]
    assert (out.inputs[:, :T][scored] == 0).all() and batch.heldin[scored].sum() > 0


def test_masks_are_redrawn_every_batch_and_seeded():
    assert torch.equal(masked(3)[1].loss_mask, masked(3)[1].loss_mask)
    assert not torch.equal(masked(3)[1].loss_mask, masked(4)[1].loss_mask)


def test_inference_is_the_cosmoothing_view_and_eval_masks_score_nlb_entries():
    batch = tensor_batch(DATA.val, DATA)
    objective = build_cd(DATA, CD_DEFAULTS)
    view, reference = objective.inference_batch(batch), cosmoothing_view(batch)
    assert torch.equal(view.inputs, reference.inputs) and torch.equal(view.loss_mask, reference.loss_mask)
    assert objective.eval_masks == ("co-smoothing", "forward")
    cosmoothing = objective.eval_batch(batch, "co-smoothing")
    assert cosmoothing.loss_mask.sum() == cosmoothing.loss_mask[:, :T, I:].numel() and cosmoothing.loss_mask[:, :T, I:].all()
    forward = objective.eval_batch(batch, "forward")
    assert forward.loss_mask[:, T:].all() and not forward.loss_mask[:, :T].any()
    with pytest.raises(KeyError, match="co-smoothing"):
        objective.eval_batch(batch, "neuron")


@pytest.mark.parametrize("rate", [0, 1, 1.5, -0.1, "high", True])
def test_cd_rate_outside_zero_one_is_refused(rate):
    with pytest.raises(BenchError, match="'cd_rate'"):
        build_cd(DATA, {"cd_rate": rate})


def test_cd_rate_is_refused_before_training(bench_home, capsys):
    from harness.api import main
    from harness.testing import KitComponentsPlugin, kit_host

    code = main(["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "cd", "--epochs", "1",
                 "--set", "objective.cd_rate=1.0", "--no-progress"], host=kit_host(KitComponentsPlugin()))
    assert code != 0 and "cd_rate" in capsys.readouterr().err
    assert not (bench_home / "runs").exists() or not any((bench_home / "runs").iterdir())


def test_autoencode_shows_every_heldin_entry_and_scores_everything():
    batch = tensor_batch(DATA.train, DATA)
    out = build_autoencode(DATA, {}).training_batch(batch, torch.Generator().manual_seed(0))
    assert torch.equal(out.inputs[:, :T], batch.heldin) and out.loss_mask.all()


def test_plugin_import_does_not_import_torch():
    code = "import sys, bench_cd.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_ndt_trains_with_cd(bench_home, capsys):
    from harness.api import main
    from harness.testing import kit_host

    host = kit_host()
    if "ndt" not in host.registries.models:
        pytest.skip("model 'ndt' is not installed")
    code = main(["run", "--dataset", "bench-tiny", "--model", "ndt", "--objective", "cd", "--epochs", "2",
                 "--set", "model.width=16", "--set", "model.ff_size=32", "--no-progress"], host=host)
    assert code == 0, capsys.readouterr()
