"""The stacking and per-neuron ensemblers: the conformance kit, what they fit, and bad settings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench_stacking.common import per_unit, per_unit_targets, poisson_log_likelihood
from bench_stacking.per_neuron import build as build_per_neuron
from bench_stacking.plugin import PER_NEURON_DEFAULTS, STACKING_DEFAULTS
from bench_stacking.stacking import build as build_stacking
from harness.api import BenchError, Predictions, SplitRates, nlb_bits_per_spike
from harness.testing import EnsemblerContract, make_tiny_dataset

FEW_ALPHAS = {"alphas": [1e-4, 1e-2, 1.0]}  # a short grid keeps the tests quick


class TestStackingContract(EnsemblerContract):
    name = "stacking"
    config = FEW_ALPHAS
    reproduces_identical_candidates = False  # it recalibrates even one candidate


class TestStackingLassoRatesContract(EnsemblerContract):
    name = "stacking"
    config = {**FEW_ALPHAS, "penalty": "lasso", "space": "rates"}
    reproduces_identical_candidates = False


class TestStackingLeastSquaresContract(EnsemblerContract):
    name = "stacking"
    config = {**FEW_ALPHAS, "fit": "least-squares", "space": "rates", "penalty": "elastic-net", "tune": "per-unit"}
    reproduces_identical_candidates = False


class TestPerNeuronContract(EnsemblerContract):
    name = "per-neuron"


def stacking(**settings):
    return build_stacking({**STACKING_DEFAULTS, **FEW_ALPHAS, **settings})


def scaled(candidate: Predictions, factor: float, units=slice(None)) -> Predictions:
    """The candidate with its held-out rates of ``units`` multiplied by ``factor``."""
    def split(name):
        rates = candidate.split(name)
        heldout = rates.heldout.copy()
        heldout[..., units] *= factor
        return dataclasses.replace(rates, heldout=heldout)

    return Predictions(train=split("train"), val=split("val"), eval=split("eval"))


def truth(data) -> Predictions:
    """The tiny dataset's true rates as a candidate."""
    def split(name):
        rates, T, I = data.split(name).true_rates, data.n_bins, data.n_heldin
        return SplitRates(rates[:, :T, :I], rates[:, :T, I:], rates[:, T:, :I], rates[:, T:, I:])

    return Predictions(train=split("train"), val=split("val"), eval=split("eval"))


@pytest.mark.parametrize("settings", [{}, {"penalty": "lasso", "space": "rates"}, {"fit": "least-squares", "space": "rates"}])
def test_stacking_weighs_the_true_rates_over_noise(settings):
    """Against a candidate of pure noise (rates unrelated to the unit), the true rates get the
    weight, and the ensemble scores about as well as the truth on the eval trials it never saw."""
    data = make_tiny_dataset(n_trials=120)
    rng = np.random.default_rng(1)
    true = truth(data)
    noise = Predictions(**{
        s: dataclasses.replace(true.split(s), heldout=rng.permutation(true.split(s).heldout.ravel()).reshape(true.split(s).heldout.shape))
        for s in ("train", "val", "eval")
    })
    ensembler = stacking(**settings)
    combined = ensembler.combine([noise, true], data)
    weights = np.array(ensembler.chosen["weights"])
    assert (weights >= 0).all()
    assert (weights[:, 1] > weights[:, 0]).all(), weights
    stacked = nlb_bits_per_spike(combined.eval.heldout, data.eval.heldout)
    best = nlb_bits_per_spike(true.eval.heldout, data.eval.heldout)
    mean = nlb_bits_per_spike((true.eval.heldout + noise.eval.heldout) / 2, data.eval.heldout)
    assert stacked > mean and stacked == pytest.approx(best, abs=0.05)


@pytest.mark.parametrize("penalty", ["ridge", "lasso"])
def test_a_strong_poisson_penalty_gives_back_the_plain_mean(penalty):
    """The Poisson fit shrinks towards the mean in its space: arithmetic for rates, geometric for
    log-rates. Held-in units and forward bins are the arithmetic mean whatever the fit."""
    data = make_tiny_dataset()
    candidates = EnsemblerContract.candidates(data)
    heldout = np.stack([c.eval.heldout for c in candidates])
    for space, expected in (("rates", heldout.mean(axis=0)), ("log-rates", np.exp(np.log(heldout).mean(axis=0)))):
        ensembler = stacking(penalty=penalty, space=space, alphas=[1e5])
        combined = ensembler.combine(candidates, data)
        np.testing.assert_allclose(ensembler.chosen["weights"], 1 / 3, atol=1e-3)
        np.testing.assert_allclose(combined.eval.heldout, expected, rtol=1e-3)
    for split in ("train", "val", "eval"):
        np.testing.assert_allclose(combined.split(split).heldin, np.mean([c.split(split).heldin for c in candidates], axis=0))
        np.testing.assert_allclose(
            combined.split(split).heldout_forward, np.mean([c.split(split).heldout_forward for c in candidates], axis=0)
        )


def test_a_strong_least_squares_lasso_shrinks_to_each_units_mean_count():
    data = make_tiny_dataset()
    ensembler = stacking(fit="least-squares", space="rates", penalty="lasso", alphas=[1e3])
    combined = ensembler.combine(EnsemblerContract.candidates(data), data)
    assert np.abs(ensembler.chosen["weights"]).max() < 1e-6
    np.testing.assert_allclose(combined.eval.heldout[0, 0], data.val.heldout.mean(axis=(0, 1)), rtol=1e-3)


def test_inner_cv_picks_the_strength_with_the_best_held_out_likelihood():
    data = make_tiny_dataset()
    ensembler = stacking(alphas=[1e-4, 1e3])
    ensembler.combine(EnsemblerContract.candidates(data), data)
    scores = ensembler.chosen["inner_cv_log_likelihood"]
    assert ensembler.chosen["alpha"] == float(max(scores, key=scores.get))
    per_unit_fit = stacking(alphas=[1e-4, 1e3], tune="per-unit")
    per_unit_fit.combine(EnsemblerContract.candidates(data), data)
    assert len(per_unit_fit.chosen["alpha"]) == data.n_heldout


def test_poisson_fit_reaches_the_likelihood_optimum():
    """With a negligible penalty and one candidate, the rate-space weight of each unit is the
    Poisson MLE of a gain, sum of spikes / sum of rates; in log-rate space the fit is at least as
    likely as that gain."""
    data = make_tiny_dataset()
    (candidate,) = EnsemblerContract.candidates(data, n=1)
    features, spikes = per_unit([candidate], "val"), per_unit_targets(data.val.heldout)
    gain = spikes.sum(axis=1) / features[..., 0].sum(axis=1)
    weights, _ = stacking(space="rates").fit_weights(features, spikes, np.full(data.n_heldout, 1e-9))
    np.testing.assert_allclose(weights[:, 0], gain, rtol=1e-3)
    log_fit = stacking()
    log_features = log_fit.features([candidate], "val")
    weights, intercepts = log_fit.fit_weights(log_features, spikes, np.full(data.n_heldout, 1e-9))
    likelihood = poisson_log_likelihood(log_fit.predict(weights, intercepts, log_features), spikes)
    assert (likelihood >= poisson_log_likelihood(features[..., 0] * gain[:, None], spikes) - 1e-3).all()


def test_per_neuron_keeps_each_units_best_candidates():
    data = make_tiny_dataset()
    true = truth(data)
    # candidate 0 is right on units 0-1 and 3x off on units 2-3; candidate 1 the other way round
    first, second = scaled(true, 3.0, slice(2, 4)), scaled(true, 3.0, slice(0, 2))
    ensembler = build_per_neuron({"top": 1})
    combined = ensembler.combine([first, second, scaled(true, 5.0)], data)
    assert ensembler.chosen["used_per_unit"] == [[0], [0], [1], [1]]
    np.testing.assert_allclose(combined.eval.heldout, true.eval.heldout, rtol=1e-6)
    np.testing.assert_allclose(
        combined.eval.heldin, np.mean([c.eval.heldin for c in (first, second, scaled(true, 5.0))], axis=0), rtol=1e-6
    )
    two = build_per_neuron({"top": 2})
    two.combine([first, second, scaled(true, 5.0)], data)
    assert [sorted(used) for used in two.chosen["used_per_unit"]] == [[0, 1]] * 4


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"fit": "lbfgs"}, "fit must be one of poisson, least-squares"),
        ({"space": "counts"}, "space must be one of"),
        ({"penalty": "l2"}, "penalty must be one of ridge, lasso, elastic-net"),
        ({"fit": "least-squares"}, "set space=rates"),
        ({"penalty": "elastic-net", "l1_ratio": 2}, "l1_ratio must be in"),
        ({"alphas": [0.1, 0]}, "alphas must be positive"),
        ({"tune": "each"}, "tune must be one of"),
    ],
)
def test_bad_settings_are_refused_by_name(settings, message):
    with pytest.raises(BenchError, match=message):
        stacking(**settings)


def test_needs_val_targets_and_enough_trials():
    data = make_tiny_dataset()
    candidates = EnsemblerContract.candidates(data, n=2)
    without_val = dataclasses.replace(data, val=dataclasses.replace(data.val, heldout=None))
    for ensembler in (stacking(), build_per_neuron(PER_NEURON_DEFAULTS)):
        with pytest.raises(BenchError, match="has none"):
            ensembler.combine(candidates, without_val)
    with pytest.raises(BenchError, match="inner_folds=20"):
        stacking(inner_folds=20).combine(candidates, data)
    with pytest.raises(BenchError, match="top must be a positive count"):
        build_per_neuron({"top": 0})
