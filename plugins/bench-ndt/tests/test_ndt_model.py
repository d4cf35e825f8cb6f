"""The NDT model: the core conformance kit plus what is particular to NDT."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from bench_ndt.model import build, context_mask
from bench_ndt.plugin import DEFAULTS
from harness.api import BenchError, ModelShape, merged_config
from harness.testing import ModelContract, MultiSessionModelContract, kit_host

SMALL = {"width": 16, "heads": 2, "ff_size": 32, "depth": 1}
SHAPE = ModelShape(n_heldin=12, n_heldout=4, n_bins=20, n_forward=5, bin_size_ms=10, n_prompts=3)


class TestNDTContract(ModelContract):
    name = "ndt"
    config = SMALL


class TestNDTSessionsContract(MultiSessionModelContract):
    name = "ndt"
    config = SMALL


@pytest.mark.parametrize("changes", [{}, {"prompt": "add"}, {"position": "learned"}, {"context_forward": 0, "context_backward": 2}])
def test_ndt_over_sessions_variants(changes):
    from harness.testing import make_tiny_session_set, session_shapes

    sessions = make_tiny_session_set()
    torch.manual_seed(0)
    model = build(session_shapes(sessions, n_prompts=3), {**DEFAULTS, **SMALL, **changes}).eval()
    for index, session in enumerate(sessions.sessions):
        x = torch.poisson(torch.full((2, session.data.n_bins + session.data.n_forward, session.data.n_heldin), 0.3))
        with torch.no_grad():
            out = model(x, torch.tensor([0, 2]), session=index)
        assert out.shape == (2, x.shape[1], session.data.n_heldin + session.data.n_heldout) and torch.isfinite(out).all()


def test_ndt_over_sessions_is_causal_with_context_forward_zero():
    from harness.testing import make_tiny_session_set, session_shapes

    torch.manual_seed(0)
    model = build(session_shapes(make_tiny_session_set()), {**DEFAULTS, **SMALL, "context_forward": 0, "depth": 2}).eval()
    x = torch.poisson(torch.full((1, 20, 7), 0.3), generator=torch.Generator().manual_seed(0))
    later = x.clone()
    later[:, 10:] += 1.0
    with torch.no_grad():
        before, after = model(x, torch.tensor([1]), session=1), model(later, torch.tensor([1]), session=1)
    assert torch.allclose(before[:, :10], after[:, :10], atol=1e-6)
    assert not torch.allclose(before[:, 10:], after[:, 10:])


def test_ndt_over_sessions_refuses_the_identity_embedding():
    from harness.testing import make_tiny_session_set, session_shapes

    with pytest.raises(ValueError, match="linear"):
        build(session_shapes(make_tiny_session_set()), {**DEFAULTS, **SMALL, "embedding": "identity"})


def small_model(**changes) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build(SHAPE, {**DEFAULTS, **SMALL, **changes})
    return model.eval()


def spikes(n_trials: int = 3) -> torch.Tensor:
    return torch.poisson(torch.full((n_trials, SHAPE.n_total_bins, SHAPE.n_heldin), 0.3), generator=torch.Generator().manual_seed(0))


def test_defaults_are_small_enough_for_two_cpu_cores():
    shape = ModelShape(n_heldin=107, n_heldout=35, n_bins=140, n_forward=40, bin_size_ms=5, n_prompts=4)
    n_parameters = sum(p.numel() for p in build(shape, DEFAULTS).parameters())
    assert 10_000 < n_parameters < 1_000_000


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"pre_norm": False},
        {"position": "learned"},
        {"prompt": "add"},
        {"activation": "relu"},
        {"embedding": "identity", "heads": 3},  # width becomes the 12 held-in units
        {"context_forward": 0, "context_backward": 3},
    ],
)
def test_variants_give_log_rates_of_every_unit_and_bin(changes):
    log_rates = small_model(**changes)(spikes(), torch.tensor([0, 1, 2]))
    assert log_rates.shape == (3, SHAPE.n_total_bins, SHAPE.n_units)
    assert torch.isfinite(log_rates).all()


def test_initial_rates_start_near_the_configured_rate():
    model = small_model(initial_rate_hz=20.0)
    with torch.no_grad():
        rates = model(spikes(), torch.zeros(3, dtype=torch.long)).exp()
    # 20 Hz in 10 ms bins is 0.2 spikes per bin; the small random readout weights move it little.
    assert rates.mean().item() == pytest.approx(0.2, rel=0.25)


@pytest.mark.parametrize("prompt_mode", ["token", "add"])
def test_prompt_changes_the_prediction(prompt_mode):
    model = small_model(prompt=prompt_mode)
    x = spikes(1)
    with torch.no_grad():
        assert not torch.allclose(model(x, torch.tensor([0])), model(x, torch.tensor([2])))


@pytest.mark.parametrize("prompt_mode", ["token", "add"])
def test_context_forward_zero_makes_the_model_causal(prompt_mode):
    model = small_model(context_forward=0, depth=2, prompt=prompt_mode)
    x = spikes(1)
    later = x.clone()
    later[:, 10:] += 1.0
    with torch.no_grad():
        before, after = model(x, torch.tensor([1])), model(later, torch.tensor([1]))
    assert torch.allclose(before[:, :10], after[:, :10], atol=1e-6), "bins before 10 must not see bins from 10 on"
    assert not torch.allclose(before[:, 10:], after[:, 10:])


def test_context_mask_counts_bins_each_way():
    allowed = context_mask(5, forward=1, backward=2)
    assert allowed[2].tolist() == [True, True, True, True, False]
    assert context_mask(5, -1, -1) is None


def test_bad_choices_are_refused():
    with pytest.raises(ValueError, match="position"):
        small_model(position="rotary")
    with pytest.raises(ValueError, match="divisible"):
        small_model(width=15)


def test_unknown_config_keys_are_refused():
    entry = kit_host().registries.models.get("ndt")
    with pytest.raises(BenchError, match="d_model"):
        merged_config(entry, {"d_model": 64})


def test_plugin_import_does_not_import_torch():
    code = "import sys, bench_ndt.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
