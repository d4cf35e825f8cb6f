"""RNNf, Neural RoBERTa and r-RoBERTa: the core conformance kit plus what is particular to them."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from bench_rnn.model import build_neural_roberta, build_r_roberta, build_rnnf
from bench_rnn.plugin import NEURAL_ROBERTA_DEFAULTS, R_ROBERTA_DEFAULTS, RNNF_DEFAULTS
from harness.api import BenchError, ModelShape
from harness.testing import ModelContract, kit_host

SHAPE = ModelShape(n_heldin=12, n_heldout=4, n_bins=20, n_forward=5, bin_size_ms=10, n_prompts=1)
#: MC_Maze_Small's sizes: 107 held-in + 35 held-out units, 140 + 40 bins of 5 ms.
MC_MAZE_SMALL = ModelShape(n_heldin=107, n_heldout=35, n_bins=140, n_forward=40, bin_size_ms=5)


class TestRNNfContract(ModelContract):
    name = "rnnf"
    config = {"hidden": 16, "dropout": 0.1}


class TestNeuralRoBERTaContract(ModelContract):
    name = "neural-roberta"
    config = {"hidden": 16, "dropout": 0.1}


class TestRRoBERTaContract(ModelContract):
    name = "r-roberta"
    config = {"rnnf_hidden": 16, "roberta_hidden": 16, "rnnf_dropout": 0.1, "roberta_dropout": 0.1}


BUILDERS = {
    "rnnf": (build_rnnf, RNNF_DEFAULTS),
    "neural-roberta": (build_neural_roberta, NEURAL_ROBERTA_DEFAULTS),
    "r-roberta": (build_r_roberta, R_ROBERTA_DEFAULTS),
}


def model(name: str, shape: ModelShape = SHAPE, **changes) -> torch.nn.Module:
    build, defaults = BUILDERS[name]
    torch.manual_seed(0)
    return build(shape, {**defaults, **changes}).eval()


def spikes(n_trials: int = 3, shape: ModelShape = SHAPE) -> torch.Tensor:
    counts = torch.poisson(torch.full((n_trials, shape.n_total_bins, shape.n_heldin), 0.3), generator=torch.Generator().manual_seed(0))
    counts[:, shape.n_bins :] = 0  # forward bins arrive hidden
    return counts


def n_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_the_labs_at_their_settings():
    # The lab reports ~0.15 M (RNNf), ~0.32 M (Neural RoBERTa) and ~0.47 M (r-RoBERTa) on MC_RTT
    # (98 held-in + 32 held-out units) with 64 GRU units per direction.
    mc_rtt = ModelShape(n_heldin=98, n_heldout=32, n_bins=120, n_forward=40, bin_size_ms=5)
    rnnf = n_parameters(model("rnnf", mc_rtt, hidden=64))
    roberta = n_parameters(model("neural-roberta", mc_rtt, hidden=64))
    both = n_parameters(model("r-roberta", mc_rtt, rnnf_hidden=64, roberta_hidden=64))
    assert 0.12e6 < rnnf < 0.18e6
    assert 0.27e6 < roberta < 0.36e6
    assert both == rnnf + roberta


@pytest.mark.parametrize("name", list(BUILDERS))
@pytest.mark.parametrize("output", ["exp", "sigmoid"])
def test_log_rates_of_every_unit_and_bin(name, output):
    log_rates = model(name, output=output)(spikes(), torch.zeros(3, dtype=torch.long))
    assert log_rates.shape == (3, SHAPE.n_total_bins, SHAPE.n_units)
    assert torch.isfinite(log_rates).all()
    if output == "sigmoid":
        assert (log_rates < 0).all(), "a sigmoid output is a rate below one spike per bin"


@pytest.mark.parametrize("name", ["rnnf", "neural-roberta"])
@pytest.mark.parametrize("output", ["exp", "sigmoid"])
def test_rates_start_near_the_configured_rate(name, output):
    with torch.no_grad():
        rates = model(name, MC_MAZE_SMALL, initial_rate_hz=20.0, output=output)(spikes(2, MC_MAZE_SMALL), torch.zeros(2, dtype=torch.long)).exp()
    # 20 Hz in 5 ms bins is 0.1 spikes per bin.
    assert rates.mean().item() == pytest.approx(0.1, rel=0.5)


def test_r_roberta_averages_the_rates_of_its_two_branches():
    both = model("r-roberta")
    x, prompt = spikes(), torch.zeros(3, dtype=torch.long)
    with torch.no_grad():
        expected = 0.5 * both.rnnf(x, prompt).exp() + 0.5 * both.roberta(x, prompt).exp()
        assert torch.allclose(both(x, prompt).exp(), expected, rtol=1e-5)


def test_unidirectional_rnnf_is_causal():
    causal = model("rnnf", bidirectional=False)
    x = spikes(1)
    later = x.clone()
    later[:, 10:] += 1.0
    prompt = torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        before, after = causal(x, prompt), causal(later, prompt)
    assert torch.allclose(before[:, :10], after[:, :10], atol=1e-6), "bins before 10 must not see bins from 10 on"
    assert not torch.allclose(before[:, 10:], after[:, 10:])


def test_bidirectional_gru_reads_later_bins():
    rnnf = model("rnnf")
    x = spikes(1)
    later = x.clone()
    later[:, 15:] += 1.0
    with torch.no_grad():
        assert not torch.allclose(rnnf(x, torch.zeros(1, dtype=torch.long))[:, :10], rnnf(later, torch.zeros(1, dtype=torch.long))[:, :10])


def test_prompts_are_embedded_only_when_an_objective_sends_several():
    single, several = model("rnnf"), model("rnnf", ModelShape(**{**SHAPE.__dict__, "n_prompts": 3}))
    assert n_parameters(several) == n_parameters(single) + 3 * SHAPE.n_heldin
    x = spikes(1)
    with torch.no_grad():
        assert not torch.allclose(several(x, torch.tensor([0])), several(x, torch.tensor([2])))


@pytest.mark.parametrize(
    ("name", "changes", "named"),
    [
        ("rnnf", {"hidden": 0}, "'hidden'"),
        ("rnnf", {"hidden": 2.5}, "'hidden'"),
        ("rnnf", {"dropout": 1.0}, "'dropout'"),
        ("rnnf", {"layers": -1}, "'layers'"),
        ("rnnf", {"bidirectional": "yes"}, "'bidirectional'"),
        ("rnnf", {"output": "softplus"}, "'output'"),
        ("rnnf", {"initial_rate_hz": 0}, "'initial_rate_hz'"),
        ("neural-roberta", {"heads": 3}, "'heads'"),  # 16 units do not split into 3 heads
        ("neural-roberta", {"encoder_dropout": -0.1}, "'encoder_dropout'"),
        ("neural-roberta", {"norm": "sandwich"}, "'norm'"),
        ("r-roberta", {"rnnf_hidden": 0}, "'rnnf_hidden'"),
        ("r-roberta", {"roberta_dropout": 2}, "'roberta_dropout'"),
    ],
)
def test_bad_options_are_refused_in_one_line_naming_the_option(name, changes, named):
    with pytest.raises(BenchError, match=named) as caught:
        model(name, **changes)
    assert "\n" not in str(caught.value) and f"model '{name}'" in str(caught.value)


def test_heads_error_lists_the_divisors():
    with pytest.raises(BenchError, match=r"divisors: 1, 2, 4, 8, 16"):
        model("neural-roberta", heads=3)


def test_cli_refuses_a_bad_option_before_training(tmp_path, monkeypatch, capsys):
    from harness.api import main

    monkeypatch.setenv("BENCH_HOME", str(tmp_path))
    code = main(["run", "--model", "rnnf", "--dataset", "bench-tiny", "--set", "model.hidden=0", "--no-progress"], host=kit_host())
    err = capsys.readouterr().err
    assert code == 1
    assert "model 'rnnf': option 'hidden' must be a whole number >= 1, got 0" in err
    assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("runs/*")), "nothing may be trained or written"


def test_registered_with_tuned_trainer_settings_and_search_spaces():
    models = kit_host().registries.models
    for name in BUILDERS:
        entry = models.get(name)
        assert entry.train_defaults["lr"] > 0 and entry.search_space
        assert set(entry.defaults) >= {key for key in entry.search_space if not key.startswith("train.")}
    assert math.isclose(models.get("rnnf").search_space["train.lr"]["high"], 1.5e-2)


def test_plugin_import_does_not_import_torch():
    code = "import sys, bench_rnn.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_pre_norm_encoder_passes_the_trunk_through_an_identity_path():
    """With its blocks' outputs zeroed, a pre-norm layer returns its input unchanged, so the GRU's
    features reach the readout whatever the layer learns; a post-norm layer renormalises them."""
    import torch

    from bench_rnn.model import RobertaLayer

    torch.manual_seed(0)
    x = torch.randn(2, 5, 8) * 3.0 + 1.0
    for norm, keeps_input in (("pre", True), ("post", False)):
        layer = RobertaLayer(8, 2, 0.0, norm).eval()
        for linear in (layer.attention_out, layer.feed_forward_out):
            torch.nn.init.zeros_(linear.weight)
        assert torch.allclose(layer(x), x) is keeps_input


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["mtm", "cd"])
def test_rnnf_trains_with_the_other_objectives_of_the_grid(objective, tmp_path, monkeypatch, capsys):
    """The grid holds: rnnf x mtm (prompted masks) and rnnf x coordinated dropout run end to end."""
    import json

    from harness.api import main

    monkeypatch.setenv("BENCH_HOME", str(tmp_path))
    args = ["run", "--model", "rnnf", "--objective", objective, "--dataset", "bench-tiny", "--epochs", "2", "--set", "model.hidden=8", "--no-progress"]
    assert main(args, host=kit_host()) == 0, capsys.readouterr().err
    (record,) = [json.loads(path.read_text()) for path in (tmp_path / "results").glob("*.json")]
    assert (record["model"], record["objective"], record["epochs"]) == ("rnnf", objective, 2)
    assert record["metrics"]["co-bps"]["value"] is not None and math.isfinite(record["metrics"]["co-bps"]["value"])
