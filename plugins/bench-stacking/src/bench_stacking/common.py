"""What both ensemblers share: the mean rates they keep for held-in units and forward bins, the
held-out predictions arranged per unit, and the Poisson log-likelihood they score with."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.api import BenchError, DatasetTensors, Predictions, SplitRates

SPLITS = ("train", "val", "eval")
#: The smallest rate (spikes per bin) a combination may predict: log-likelihoods stay finite.
RATE_FLOOR = 1e-6


def check_candidates(name: str, candidates: Sequence[Predictions], data: DatasetTensors) -> None:
    if not candidates:
        raise BenchError(f"ensembler '{name}' needs at least one candidate")
    if data.val.heldout is None:
        raise BenchError(f"ensembler '{name}' fits on val held-out spikes, but '{data.name}' has none")


def mean_rates(candidates: Sequence[Predictions], split: str) -> SplitRates:
    """Every array of the split averaged over candidates (rates, so a proper Poisson mixture mean)."""
    arrays = [candidate.split(split).arrays() for candidate in candidates]
    return SplitRates(**{key: np.mean([a[key] for a in arrays], axis=0) for key in arrays[0]})


def per_unit(candidates: Sequence[Predictions], split: str) -> np.ndarray:
    """Held-out rates as (units, trials x bins, candidates)."""
    stacked = np.stack([candidate.split(split).heldout for candidate in candidates], axis=-1)  # R, T, O, M
    trials, bins, units, members = stacked.shape
    return np.ascontiguousarray(stacked.transpose(2, 0, 1, 3).reshape(units, trials * bins, members), dtype=np.float64)


def per_unit_targets(spikes: np.ndarray) -> np.ndarray:
    """Held-out counts (trials, bins, units) as (units, trials x bins)."""
    trials, bins, units = spikes.shape
    return np.ascontiguousarray(spikes.transpose(2, 0, 1).reshape(units, trials * bins), dtype=np.float64)


def from_per_unit(rates: np.ndarray, like: np.ndarray) -> np.ndarray:
    """(units, trials x bins) back to the (trials, bins, units) layout of ``like``."""
    trials, bins, units = like.shape
    return rates.reshape(units, trials, bins).transpose(1, 2, 0).astype(like.dtype)


def poisson_log_likelihood(rates: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """Per unit (first axis), the Poisson log-likelihood summed over samples, less the log y! term
    that no prediction changes (so differences between predictions are exact)."""
    rates = np.maximum(rates, RATE_FLOOR)
    return np.sum(spikes * np.log(rates) - rates, axis=-1)


def trial_folds(n_trials: int, n_bins: int, folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit, held) sample positions of a seeded K-fold over whole trials: bins of one trial are
    never split between fitting and scoring, because they share the trial's latent state."""
    if n_trials < folds or folds < 2:
        raise BenchError(f"inner_folds={folds}: needs at least 2 folds and as many fitting trials ({n_trials} given)")
    samples = np.arange(n_trials * n_bins).reshape(n_trials, n_bins)
    parts = np.array_split(np.random.default_rng(seed).permutation(n_trials), folds)
    return [(samples[np.setdiff1d(np.arange(n_trials), held)].ravel(), samples[np.sort(held)].ravel()) for held in parts]
