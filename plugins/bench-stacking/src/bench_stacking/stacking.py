"""Stacking: per held-out unit, a non-negative, penalised combination of the candidates'
predictions, fitted on the val trials' held-out spikes.

For unit n with candidate predictions r_1..r_M the combined rate is ``sum w_m r_m`` in rate space
(a weighted mixture) or ``exp(b + sum w_m log r_m)`` in log-rate space (a weighted geometric mean
with a gain), with every w_m >= 0.

``fit=poisson`` (the default) minimises the Poisson negative log-likelihood per spike (what co-bps
scores) plus ``alpha * (l1 * |theta - prior|_1 + (1 - l1) / 2 * |theta - prior|^2)`` (ridge l1=0,
lasso l1=1, elastic-net between), one bounded L-BFGS-B fit per unit. The prior is the plain mean
in that space (w_m = 1/M; in log-rate space the intercept of the geometric mean), so a strong
penalty gives back the mean ensemble rather than a flat rate: a unit fires a few dozen spikes in
15 val trials, far too few to fit weights freely (on MC_Maze_Small, shrinking towards zero scored
well below the mean once cross-fitted). Log-rate features are centred per unit so the intercept
and the weights are not entangled; the intercept is penalised towards the geometric mean's level.

``fit=least-squares`` is the classic stacking of AE Studio's NLB'21 attempt: scikit-learn's
Ridge / Lasso / ElasticNet with ``positive=True`` on rates, one per unit, penalised towards zero,
with counts and rates divided by the unit's mean count so one alpha grid fits every unit.

Either way alpha is chosen by an inner K-fold over whole val trials, by held-out Poisson
log-likelihood: one alpha for all units (``tune=shared``) or one per unit (``tune=per-unit``).
Held-in units and forward bins get the mean of all candidates (see per_neuron.py for why).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench_stacking.common import (
    RATE_FLOOR,
    SPLITS,
    check_candidates,
    from_per_unit,
    mean_rates,
    per_unit,
    per_unit_targets,
    poisson_log_likelihood,
    trial_folds,
)
from harness.api import BenchError, DatasetTensors, Predictions

FITS = ("poisson", "least-squares")
SPACES = ("log-rates", "rates")
PENALTIES = ("ridge", "lasso", "elastic-net")
TUNES = ("shared", "per-unit")
#: Log-rates are clipped here before exponentiating: e^20 spikes per bin is already absurd.
MAX_LOG_RATE = 20.0


def _one_of(option: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BenchError(f"ensembler 'stacking': {option} must be one of {', '.join(allowed)}, got {value!r}")
    return value


class StackingEnsembler:
    def __init__(self, fit: str, space: str, penalty: str, l1_ratio: float, alphas: Sequence[float], inner_folds: int, tune: str):
        self.fit = _one_of("fit", fit, FITS)
        self.space = _one_of("space", space, SPACES)
        self.penalty = _one_of("penalty", penalty, PENALTIES)
        self.tune = _one_of("tune", tune, TUNES)
        if self.fit == "least-squares" and self.space != "rates":
            raise BenchError("ensembler 'stacking': fit=least-squares combines rates; set space=rates (or fit=poisson)")
        self.l1 = {"ridge": 0.0, "lasso": 1.0, "elastic-net": float(l1_ratio)}[self.penalty]
        if not 0.0 <= self.l1 <= 1.0:
            raise BenchError(f"ensembler 'stacking': l1_ratio must be in [0, 1], got {l1_ratio}")
        # strongest first, so that a tie in the inner CV goes to the stronger penalty
        self.alphas = sorted((float(a) for a in alphas), reverse=True)
        if not self.alphas or min(self.alphas) <= 0:
            raise BenchError(f"ensembler 'stacking': alphas must be positive penalty strengths, got {list(alphas)}")
        self.inner_folds = int(inner_folds)
        self.chosen: dict[str, Any] = {}

    # -- features and predictions -----------------------------------------------------------
    def features(self, candidates: Sequence[Predictions], split: str) -> np.ndarray:
        rates = per_unit(candidates, split)
        return np.log(np.maximum(rates, RATE_FLOOR)) if self.space == "log-rates" else rates

    def predict(self, weights: np.ndarray, intercepts: np.ndarray, features: np.ndarray) -> np.ndarray:
        linear = np.einsum("nsm,nm->ns", features, weights) + intercepts[:, None]  # rate space: intercepts are 0
        if self.space == "log-rates":
            return np.exp(np.minimum(linear, MAX_LOG_RATE))
        return np.maximum(linear, 0.0) + RATE_FLOOR

    # -- fitting ----------------------------------------------------------------------------
    def fit_weights(self, features: np.ndarray, spikes: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights (units, candidates) and intercepts (units,) for per-unit strengths ``alpha``."""
        if self.fit == "poisson":
            return self._fit_poisson(features, spikes, alpha)
        return self._fit_least_squares(features, spikes, alpha)

    def _fit_poisson(self, features: np.ndarray, spikes: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        units, _, members = features.shape
        weights, intercepts = np.zeros((units, members)), np.zeros(units)
        for unit in range(units):
            weights[unit], intercepts[unit] = self._fit_poisson_unit(features[unit], spikes[unit], float(alpha[unit]))
        return weights, intercepts

    def _fit_poisson_unit(self, features: np.ndarray, spikes: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
        """One unit: theta = prior + up - down with up, down >= 0, so the L1 term is linear and
        L-BFGS-B's bounds keep every weight non-negative (down_m <= 1/M)."""
        from scipy.optimize import minimize

        samples, members = features.shape
        log_link = self.space == "log-rates"
        per_spike = 1.0 / (spikes.sum() + 1.0)  # the loss per spike: one alpha grid suits every unit
        prior = np.full(members, 1.0 / members)
        if log_link:
            centre = features.mean(axis=0)
            design = np.column_stack([features - centre, np.ones(samples)])
            prior = np.append(prior, centre.mean())  # the geometric mean, in centred coordinates
        else:
            design = features
        size, l1 = prior.size, self.l1

        def loss_and_gradient(steps: np.ndarray) -> tuple[float, np.ndarray]:
            shift = steps[:size] - steps[size:]
            linear = design @ (prior + shift)
            if log_link:
                linear = np.minimum(linear, MAX_LOG_RATE)
                rates = np.exp(linear)
                nll, slope = np.sum(rates - spikes * linear), rates - spikes
            else:
                rates = linear + RATE_FLOOR
                nll, slope = np.sum(rates - spikes * np.log(rates)), 1.0 - spikes / rates
            loss = per_spike * nll + alpha * (l1 * steps.sum() + 0.5 * (1.0 - l1) * shift @ shift)
            gradient = per_spike * (design.T @ slope) + alpha * (1.0 - l1) * shift
            return loss, np.concatenate([gradient + alpha * l1, -gradient + alpha * l1])

        down_limits = [1.0 / members] * members + ([None] if log_link else [])
        bounds = [(0.0, None)] * size + [(0.0, limit) for limit in down_limits]
        result = minimize(loss_and_gradient, np.zeros(2 * size), jac=True, method="L-BFGS-B", bounds=bounds)
        theta = prior + result.x[:size] - result.x[size:]
        if not log_link:
            return theta, 0.0
        weights = theta[:members]
        return weights, float(theta[members] - weights @ centre)  # back to uncentred log-rates

    def _fit_least_squares(self, features: np.ndarray, spikes: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.linear_model import ElasticNet, Lasso, Ridge

        units, samples, members = features.shape
        weights, intercepts = np.zeros((units, members)), np.zeros(units)
        for unit in range(units):
            scale = max(float(spikes[unit].mean()), 1e-3)  # per mean count: one alpha grid for every unit
            if self.l1 == 0.0:  # Ridge's penalty is not divided by the sample count, ElasticNet's is
                estimator = Ridge(alpha=alpha[unit] * samples, positive=True)
            elif self.l1 == 1.0:
                estimator = Lasso(alpha=alpha[unit], positive=True, max_iter=10_000)
            else:
                estimator = ElasticNet(alpha=alpha[unit], l1_ratio=self.l1, positive=True, max_iter=10_000)
            estimator.fit(features[unit] / scale, spikes[unit] / scale)
            weights[unit], intercepts[unit] = estimator.coef_, estimator.intercept_ * scale
        return weights, intercepts

    def inner_cv(self, features: np.ndarray, spikes: np.ndarray, n_trials: int, n_bins: int) -> np.ndarray:
        """Held-out Poisson log-likelihood (units, alphas) over an inner K-fold of whole trials."""
        scores = np.zeros((features.shape[0], len(self.alphas)))
        for fit, held in trial_folds(n_trials, n_bins, self.inner_folds):
            for column, alpha in enumerate(self.alphas):
                weights, intercepts = self.fit_weights(features[:, fit], spikes[:, fit], np.full(features.shape[0], alpha))
                scores[:, column] += poisson_log_likelihood(self.predict(weights, intercepts, features[:, held]), spikes[:, held])
        return scores

    # -- the Ensembler contract -------------------------------------------------------------
    def combine(self, candidates: Sequence[Predictions], data: DatasetTensors) -> Predictions:
        check_candidates("stacking", candidates, data)
        features = self.features(candidates, "val")
        spikes = per_unit_targets(data.val.heldout)
        n_trials, n_bins = data.val.heldout.shape[:2]
        scores = self.inner_cv(features, spikes, n_trials, n_bins)
        if self.tune == "shared":
            best = np.full(features.shape[0], int(np.argmax(scores.sum(axis=0))))
        else:
            best = np.argmax(scores, axis=1)
        alpha = np.asarray(self.alphas)[best]
        weights, intercepts = self.fit_weights(features, spikes, alpha)

        combined = {}
        for split in SPLITS:
            rates = mean_rates(candidates, split)
            heldout = self.predict(weights, intercepts, self.features(candidates, split))
            combined[split] = dataclasses.replace(rates, heldout=from_per_unit(heldout, rates.heldout))
        self.chosen = {
            "alpha": float(alpha[0]) if self.tune == "shared" else [float(a) for a in alpha],
            "weights": np.round(weights, 4).tolist(),
            "intercepts": np.round(intercepts, 4).tolist(),
            # per alpha (strongest first), the inner CV's held-out log-likelihood summed over units
            "inner_cv_log_likelihood": {str(a): round(float(s), 3) for a, s in zip(self.alphas, scores.sum(axis=0))},
        }
        return Predictions(**combined)


def build(config: Mapping[str, Any]) -> StackingEnsembler:
    """The registered factory; ``config`` is the plugin's defaults merged with the user's."""
    return StackingEnsembler(
        fit=str(config["fit"]),
        space=str(config["space"]),
        penalty=str(config["penalty"]),
        l1_ratio=float(config["l1_ratio"]),
        alphas=list(config["alphas"]),
        inner_folds=int(config["inner_folds"]),
        tune=str(config["tune"]),
    )
