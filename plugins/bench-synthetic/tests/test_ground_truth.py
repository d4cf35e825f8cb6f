"""The ground truth means something: the true rates score well, and regions really drive each other."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from bench_synthetic.simulate import simulate


@pytest.mark.parametrize("name", ["lorenz", "chaotic_rnn", "multi_region"])
def test_oracle_co_bps_of_the_default_datasets_is_clearly_positive(host, name):
    """Bits per spike of the TRUE rates on the held-out units of val trials (nlb_tools' scorer)."""
    from nlb_tools.evaluation import bits_per_spike

    data = host.dataset(name)
    scores = {}
    for split_name in ("val", "eval"):
        split = data.split(split_name)
        true_heldout = split.true_rates[:, : data.n_bins, data.n_heldin :]
        scores[split_name] = bits_per_spike(true_heldout.astype(float), split.heldout.astype(float))
        forward = split.true_rates[:, data.n_bins :]
        forward_spikes = np.concatenate([split.heldin_forward, split.heldout_forward], axis=2)
        scores[f"{split_name} fp"] = bits_per_spike(forward.astype(float), forward_spikes.astype(float))
    print(f"{name}: oracle co-bps val {scores['val']:.3f}, eval {scores['eval']:.3f}; "
          f"oracle fp-bps val {scores['val fp']:.3f}, eval {scores['eval fp']:.3f}")
    assert scores["val"] > 0.1 and scores["eval"] > 0.1
    assert scores["val fp"] > 0.05


def _explained(inputs: np.ndarray, targets: np.ndarray) -> float:
    """R^2 of a least-squares linear prediction of ``targets`` from ``inputs`` (with intercept)."""
    design = np.c_[inputs, np.ones(len(inputs))]
    weights = np.linalg.solve(design.T @ design, design.T @ targets)  # normal equations: a few ms
    residual = targets - design @ weights
    return 1.0 - float((residual**2).sum() / ((targets - targets.mean(axis=0)) ** 2).sum())


@functools.cache
def _multi_region_latents(coupling: float) -> np.ndarray:
    config = {"coupling": coupling, "n_conditions": 20, "trials_per_condition": 5, "latents_per_region": 24}
    return simulate("multi_region", config).latents


def _region_2_step_explained(coupling: float, source_lag_bins: int | None) -> float:
    """How much of region 2's next latent step its own state (and region 1's, lagged) explains."""
    latents = _multi_region_latents(coupling)
    size, start = 24, 8
    region_1, region_2 = latents[:, :, :size], latents[:, :, size : 2 * size]
    own = region_2[:, start:-1].reshape(-1, size)
    step = region_2[:, start + 1 :].reshape(-1, size) - own
    if source_lag_bins is None:
        return _explained(own, step)
    source = region_1[:, start - source_lag_bins : latents.shape[1] - 1 - source_lag_bins].reshape(-1, size)
    return _explained(np.c_[own, source], step)


def test_multi_region_inputs_arrive_with_their_lag():
    """With coupling, region 1's past (about lag_ms = 3 bins ago) adds to what region 2's own state
    explains of its next step, more than region 1's present does; without coupling it adds nothing."""
    own_only = _region_2_step_explained(1.0, None)
    present = _region_2_step_explained(1.0, 0)
    lagged = _region_2_step_explained(1.0, 3)
    assert lagged > present + 0.02 and present > own_only + 0.02

    uncoupled_own = _region_2_step_explained(0.0, None)
    uncoupled_lagged = _region_2_step_explained(0.0, 3)
    assert uncoupled_lagged - uncoupled_own < 0.01
