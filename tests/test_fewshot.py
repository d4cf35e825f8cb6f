"""Few-shot co-bps: the GLM, the draws, and the metric against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from harness.tasks.nlb import fewshot
from harness.tasks.nlb.metrics import nlb_bits_per_spike, score


def latent_population(seed: int = 0, n_trials: int = 80, n_bins: int = 30, n_latent: int = 3, n_heldin: int = 10, n_heldout: int = 5, offset: float = -0.7):
    """Held-in log-rates affine in smooth latents (so they carry the latents exactly) and held-out
    Poisson spikes from another affine readout: a GLM on log held-in rates can recover the truth."""
    rng = np.random.default_rng(seed)
    time = np.linspace(0, 2 * np.pi, n_bins)
    latents = np.sin(time[None, :, None] * np.arange(1, n_latent + 1) + rng.uniform(0, 2 * np.pi, (n_trials, 1, n_latent)))
    heldin_rates = np.exp(latents @ rng.normal(0, 0.7, (n_latent, n_heldin)) - 1.0)
    heldout_rates = np.exp(latents @ rng.normal(0, 0.9, (n_latent, n_heldout)) + offset)
    return heldin_rates, heldout_rates, rng.poisson(heldout_rates).astype(np.float64)


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):  # small fits: a thread pool only slows them on a busy machine
        yield


@pytest.mark.parametrize("offset", [-0.7, -4.5])  # about 0.5 and 0.01 spikes per bin (MC_Maze at 5 ms)
def test_glm_matches_scikit_learns_poisson_regressor(offset):
    from sklearn.linear_model import PoissonRegressor

    heldin, _, spikes = latent_population(n_trials=40 if offset < -2 else 12, offset=offset)
    x, y = fewshot.log_rate_features(heldin), spikes.reshape(-1, spikes.shape[-1])
    glm = fewshot.fit_poisson_glm(x, y, alpha=1e-2)
    for unit in range(y.shape[1]):
        reference = PoissonRegressor(alpha=1e-2, max_iter=200, tol=1e-10, solver="newton-cholesky").fit(x, y[:, unit])
        np.testing.assert_allclose(glm.weights[:, unit], reference.coef_, atol=2e-4)
        np.testing.assert_allclose(glm.intercept[unit], reference.intercept_, atol=2e-4)


def test_draws_are_seeded_distinct_and_sorted():
    draws = fewshot.draw_trials(60, 16)
    assert len(draws) == fewshot.FEWSHOT_DRAWS
    assert all(len(set(d.tolist())) == 16 and list(d) == sorted(d) and d.max() < 60 for d in draws)
    assert all((a == b).all() for a, b in zip(draws, fewshot.draw_trials(60, 16)))
    assert not all((a == b).all() for a, b in zip(draws, fewshot.draw_trials(60, 16, seed=1)))


def test_value_is_the_mean_of_direct_per_draw_fits():
    from sklearn.linear_model import PoissonRegressor

    heldin, _, spikes = latent_population()
    fit, held = slice(0, 60), slice(60, None)
    values = fewshot.fewshot_bps(heldin[fit], spikes[fit], heldin[held], spikes[held], 16, draws=2)
    score_x = np.log(heldin[held] + fewshot.LOG_OFFSET).reshape(-1, heldin.shape[-1])
    rng = np.random.default_rng(fewshot.FEWSHOT_SEED)
    direct = []
    for _ in range(2):
        trials = np.sort(rng.choice(60, size=16, replace=False))
        x = np.log(heldin[fit][trials] + fewshot.LOG_OFFSET).reshape(-1, heldin.shape[-1])
        y = spikes[fit][trials].reshape(-1, spikes.shape[-1])
        predicted = np.stack(
            [PoissonRegressor(alpha=fewshot.FEWSHOT_ALPHA, max_iter=200, tol=1e-10, solver="newton-cholesky").fit(x, y[:, u]).predict(score_x) for u in range(y.shape[1])], -1
        )
        direct.append(nlb_bits_per_spike(predicted.reshape(spikes[held].shape), spikes[held]))
    np.testing.assert_allclose(values, direct, atol=1e-4)


def test_informative_features_approach_the_true_rates_and_noise_scores_nothing():
    heldin, heldout_rates, spikes = latent_population(n_trials=120)
    fit, held = slice(0, 100), slice(100, None)
    oracle = nlb_bits_per_spike(heldout_rates[held], spikes[held])  # the best any readout can do
    many = np.mean(fewshot.fewshot_bps(heldin[fit], spikes[fit], heldin[held], spikes[held], 64, draws=3))
    few = np.mean(fewshot.fewshot_bps(heldin[fit], spikes[fit], heldin[held], spikes[held], 4, draws=3))
    assert oracle > 0.3
    assert oracle - 0.03 < many <= oracle + 0.01
    assert few < many
    # features that carry nothing about the latents: no better than the mean rate
    noise = np.random.default_rng(5).permutation(heldin.reshape(-1, heldin.shape[-1])).reshape(heldin.shape)
    assert np.mean(fewshot.fewshot_bps(noise[fit], spikes[fit], noise[held], spikes[held], 64, draws=3)) < 0.02


def test_scored_and_recorded_beside_the_other_metrics():
    from harness.contracts import Predictions, SplitRates
    from harness.testing import make_tiny_dataset

    data = make_tiny_dataset()

    def truth(split) -> SplitRates:
        rates, bins, units = split.true_rates, data.n_bins, data.n_heldin
        return SplitRates(rates[:, :bins, :units], rates[:, :bins, units:], rates[:, bins:, :units], rates[:, bins:, units:])

    predictions = Predictions(train=truth(data.train), val=truth(data.val), eval=truth(data.eval))
    metrics = score(data, predictions)
    sixteen = metrics["16-shot co-bps"]
    assert sixteen.split == "eval" and sixteen.trials == [int(t) for t in data.eval.trial_ids]
    assert "fitted on 16 of 32 train trials" in sixteen.note and sixteen.higher_is_better
    direct = np.mean(fewshot.fewshot_bps(data.train.true_rates[:, :20, :12], data.train.heldout, data.eval.true_rates[:, :20, :12], data.eval.heldout, 16))
    assert sixteen.value == pytest.approx(direct)
    assert metrics["32-shot co-bps"].value is None and metrics["64-shot co-bps"].value is None
    assert "needs more than 32 train trials to draw from, the train split has 32" in metrics["32-shot co-bps"].note
