"""Sample validation: held-in entries of the training trials withheld from input and loss, any objective."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from harness.cli import main
from harness.errors import SpecError
from harness.tasks.nlb.sample_validation import SampleValidation
from harness.specs import RunSpec, spec_from_mapping
from harness.testing import CoSmoothingObjective, KitComponentsPlugin, kit_host, make_tiny_dataset, tensor_batch

DATA = make_tiny_dataset()
T, I = DATA.n_bins, DATA.n_heldin


def sample_validation(share: float = 0.25, seed: int = 0) -> SampleValidation:
    return SampleValidation(share, DATA.train.n_trials, T, I, seed)


def test_the_withheld_entries_are_a_fixed_seeded_share():
    sv = sample_validation()
    assert 0.2 < sv.withheld.float().mean().item() < 0.3
    assert torch.equal(sv.withheld, sample_validation().withheld)
    assert not torch.equal(sv.withheld, sample_validation(seed=1).withheld)


def test_withheld_entries_leave_the_input_and_the_loss():
    sv = sample_validation()
    index = np.array([3, 0, 7])
    batch = tensor_batch(DATA.train.take(index), DATA)
    scored_everywhere = CoSmoothingObjective().inference_batch(batch)
    scored_everywhere.loss_mask[:] = True
    masked = sv.withhold(scored_everywhere, index)
    withheld = sv.withheld[index]
    observed = masked.inputs[:, :T]
    assert (observed[withheld] == 0).all()
    torch.testing.assert_close(observed[~withheld], batch.heldin[~withheld] / 0.75)
    assert (masked.inputs[:, T:] == 0).all(), "forward bins stay hidden"
    assert not masked.loss_mask[:, :T, :I][withheld].any()
    assert masked.loss_mask[:, :T, :I][~withheld].all() and masked.loss_mask[:, :, I:].all()


def test_bps_scores_the_withheld_entries_only():
    sv = sample_validation()

    class TrueRates(torch.nn.Module):
        """Rates of the tiny dataset's generator for the pool's trials, whatever the input."""

        def __init__(self):
            super().__init__()
            self.log_rates = torch.log(torch.as_tensor(DATA.train.true_rates))
            self.offset = 0

        def forward(self, spikes, prompt):
            out = self.log_rates[self.offset : self.offset + len(spikes)]
            self.offset += len(spikes)
            return out

    good = sv.bps(TrueRates(), CoSmoothingObjective().inference_batch, DATA.train, DATA, "cpu")
    assert good > 0.05


def test_a_run_with_sample_validation_records_sv_bps_every_epoch(bench_home, capsys):
    code = main(
        ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "3",
         "--set", "train.sample_validation=0.2", "--set", "train.heldin_only_trials=true", "--no-progress"],
        host=kit_host(KitComponentsPlugin()),
    )
    assert code == 0, capsys.readouterr()
    (record,) = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    assert record["hyperparameters"]["train"]["sample_validation"] == 0.2
    assert [row["epoch"] for row in record["history"]] == [0, 1, 2]
    assert all(isinstance(row["sv_bps"], float) for row in record["history"])


def test_the_share_must_be_below_one():
    with pytest.raises(SpecError, match="train.sample_validation"):
        spec_from_mapping({"train": {"sample_validation": 1.0}})
    with pytest.raises(SpecError, match="train.sample_validation"):
        RunSpec().with_overrides(train={"sample_validation": -0.1})


def test_runs_without_it_keep_their_ids():
    # The id of the default run before sample validation existed: earlier records still match.
    assert RunSpec().legacy_run_id() == RUN_ID_BEFORE_SAMPLE_VALIDATION
    assert RunSpec().with_overrides(train={"sample_validation": 0.1}).legacy_run_id() != RUN_ID_BEFORE_SAMPLE_VALIDATION


RUN_ID_BEFORE_SAMPLE_VALIDATION = "lorenz-ndt-random-s0-5e17a0c84d"
