"""The LFADS model: the core conformance kit plus what is particular to LFADS."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from bench_lfads.model import build, ramp
from bench_lfads.plugin import DEFAULTS
from harness.api import AuxiliaryLosses, BenchError, ModelShape
from harness.testing import ModelContract

SMALL = {"encoder_size": 16, "ic_size": 8, "generator_size": 16, "factors": 8, "ci_encoder_size": 8, "controller_size": 8, "co_size": 2}
SHAPE = ModelShape(n_heldin=12, n_heldout=4, n_bins=20, n_forward=5, bin_size_ms=10, n_prompts=1)


class TestLFADSContract(ModelContract):
    name = "lfads"
    config = SMALL
    steps = 20  # the controller steps bin by bin: keep the loss-decrease check short


class TestLFADSWithoutControllerContract(ModelContract):
    name = "lfads"
    config = {**SMALL, "co_size": 0}
    steps = 20


def small_model(shape: ModelShape = SHAPE, **changes) -> torch.nn.Module:
    torch.manual_seed(0)
    return build(shape, {**DEFAULTS, **SMALL, **changes})


def spikes(n_trials: int = 3, shape: ModelShape = SHAPE) -> torch.Tensor:
    counts = torch.poisson(torch.full((n_trials, shape.n_total_bins, shape.n_heldin), 0.3), generator=torch.Generator().manual_seed(0))
    counts[:, shape.n_bins :] = 0
    return counts


def test_defaults_are_small_enough_for_two_cpu_cores():
    shape = ModelShape(n_heldin=107, n_heldout=35, n_bins=140, n_forward=40, bin_size_ms=5)
    n_parameters = sum(p.numel() for p in build(shape, DEFAULTS).parameters())
    assert 20_000 < n_parameters < 300_000


@pytest.mark.parametrize("co_size", [0, 2])
def test_log_rates_cover_every_unit_and_bin_and_ignore_forward_inputs(co_size):
    model = small_model(co_size=co_size).eval()
    x = spikes()
    altered = x.clone()
    altered[:, SHAPE.n_bins :] = 5.0
    with torch.no_grad():
        out = model(x, torch.zeros(3, dtype=torch.long))
        assert out.shape == (3, SHAPE.n_total_bins, SHAPE.n_units) and torch.isfinite(out).all()
        assert torch.equal(out, model(altered, torch.zeros(3, dtype=torch.long)))


def test_training_samples_the_posteriors_and_eval_uses_their_means():
    model = small_model()
    x = spikes()
    prompt = torch.zeros(3, dtype=torch.long)
    model.train()
    assert not torch.allclose(model(x, prompt), model(x, prompt))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x, prompt), model(x, prompt))


def test_prompt_ids_reach_the_encoders():
    shape = ModelShape(n_heldin=12, n_heldout=4, n_bins=20, n_forward=5, bin_size_ms=10, n_prompts=3)
    model = small_model(shape).eval()
    x = spikes(1, shape)
    with torch.no_grad():
        assert not torch.allclose(model(x, torch.tensor([0])), model(x, torch.tensor([2])))


def test_initial_rates_start_near_the_configured_rate():
    model = small_model(initial_rate_hz=20.0, dropout=0.0).eval()
    with torch.no_grad():
        rates = model(spikes(), torch.zeros(3, dtype=torch.long)).exp()
    assert 0.1 < rates.median().item() < 0.4  # 20 Hz in 10 ms bins: 0.2 spikes per bin


def test_generator_state_is_clipped():
    model = small_model(cell_clip=1.0, co_size=0).eval()
    with torch.no_grad():
        model.ic_to_g0.bias.fill_(50.0)
        states = []
        model.generator.register_forward_hook(lambda module, inputs, output: states.append(output[0]))
        model(spikes(), torch.zeros(3, dtype=torch.long))
    assert max(float(s.abs().max()) for s in states) <= 1.0


def test_auxiliary_losses_ramp_in_linearly():
    model = small_model(kl_ramp=10, l2_ramp=10, kl_start=5, l2_start=0).train()
    assert isinstance(model, AuxiliaryLosses)
    model(spikes(), torch.zeros(3, dtype=torch.long))
    before, half, full = ({k: float(v.detach()) for k, v in model.auxiliary_losses(step, 100).items()} for step in (4, 9, 50))
    assert set(full) == {"kl_ic", "kl_co", "l2"}
    assert before["kl_ic"] == 0 and before["kl_co"] == 0
    assert full["kl_ic"] > 0 and half["kl_ic"] == pytest.approx(0.5 * full["kl_ic"])
    assert full["l2"] > 0
    assert ramp(0, 0, 0) == 1.0 and ramp(3, 0, 4) == 1.0 and ramp(0, 0, 4) == 0.25


def test_kl_pulls_the_posterior_towards_the_prior():
    model = small_model(kl_ramp=0, kl_ic_weight=1.0, kl_co_weight=1.0)
    first = None
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(30):
        model(spikes(), torch.zeros(3, dtype=torch.long))
        kl = model.auxiliary_losses(100, 100)
        total = kl["kl_ic"] + kl["kl_co"]
        first = float(total.detach()) if first is None else first
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    assert float(total.detach()) < 0.5 * first


@pytest.mark.parametrize(
    ("changes", "option"),
    [
        ({"factors": 32, "generator_size": 16}, "factors"),
        ({"kl_ic_weight": -1e-4}, "kl_ic_weight"),
        ({"kl_co_weight": -1.0}, "kl_co_weight"),
        ({"l2_gen_weight": -0.1}, "l2_gen_weight"),
        ({"dropout": 1.0}, "dropout"),
        ({"cell_clip": 0.5}, "cell_clip"),
    ],
)
def test_bad_configuration_is_refused_naming_the_option(changes, option):
    with pytest.raises(BenchError, match=f"'{option}'") as error:
        small_model(**changes)
    assert "\n" not in str(error.value)


def test_bad_configuration_is_refused_before_training(bench_home, capsys):
    from harness.api import main
    from harness.testing import kit_host

    code = main(["run", "--dataset", "bench-tiny", "--model", "lfads", "--objective", "random", "--epochs", "1",
                 "--set", "model.kl_ic_weight=-1", "--no-progress"], host=kit_host())
    assert code != 0
    assert "kl_ic_weight" in capsys.readouterr().err
    assert not (bench_home / "runs").exists() or not any((bench_home / "runs").iterdir())


def test_plugin_import_does_not_import_torch():
    code = "import sys, bench_lfads.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("objective", ["cd", "mtm", "random"])
def test_lfads_trains_with_any_objective(bench_home, capsys, objective):
    import json

    from harness.api import main
    from harness.testing import kit_host

    host = kit_host()
    if objective not in host.registries.objectives:
        pytest.skip(f"objective {objective!r} is not installed")
    options = [f"--set=model.{key}={value}" for key, value in SMALL.items()]
    code = main(["run", "--dataset", "bench-tiny", "--model", "lfads", "--objective", objective, "--epochs", "2",
                 "--set", "train.sample_validation=0.1", *options, "--no-progress"], host=host)
    assert code == 0, capsys.readouterr()
    (record,) = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    assert {"aux_kl_ic", "aux_kl_co", "aux_l2", "sv_bps"} <= set(record["history"][-1])
