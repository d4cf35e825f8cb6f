"""Few-shot co-smoothing (Dabholkar & Barak 2024, "When predict can also explain").

Co-smoothing asks how well a model predicts held-out units; many models predict them about as
well, some with latents that carry extraneous dynamics. Few-shot co-smoothing asks how well the
held-out units can be *learned from a few trials* of the model's outputs: a Poisson GLM is fitted
from the model's representation to the held-out spikes of only K trials, then scored (nlb_tools
bits per spike) on the trials co-bps is scored on. Latents with extraneous dimensions need more
trials to read out, so they score lower at small K.

What we do, and where it differs from the authors' code (KabirDabholkar/nlb_tools_fewshot):

- Features: log(rate + 1e-4) of the model's predicted held-in rates over observed bins. Predictions are
  all a record keeps (metrics never touch a model); for NDT-style models the log-rates are an
  affine readout of the final latents, so this is the "rates as latents" variant of the paper.
- Targets: the dataset's held-out units. The paper keeps a further set of units out of training
  altogether; our records were trained on the held-out units of the train trials, so the score
  measures how readily the held-out units are read out, not a model blind to them.
- Fits: K trials drawn without replacement from the train split, ``FEWSHOT_DRAWS`` seeded draws
  (the same draws for every model of a dataset, so models are compared on the same trials); the
  authors split the train trials into disjoint chunks of K, which gives a single chunk at K = 32
  on MC_Maze_Small's 60 train trials. The value is the mean over draws.
- The GLM: per held-out unit, minimise mean(rate - y * log rate) + alpha/2 * |w|^2 with an
  unpenalised intercept (scikit-learn's PoissonRegressor objective), alpha = ``FEWSHOT_ALPHA``,
  one of the values the authors sweep (their default is unpenalised). All units are fitted in one L-BFGS problem (the losses are
  separable, so the optimum per unit is the same), which is far faster than one fit per unit.

Torch-free: numpy and scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEWSHOT_K = (16, 32, 64)
FEWSHOT_DRAWS = 10
FEWSHOT_SEED = 0
#: L2 penalty of the GLM: the middle of the authors' sweep (1e-3, 1e-2, 1e-1). At 1e-3 the
#: smoothing baseline's sparse features overfit 16 MC_Maze_Small trials to about -1000 bits per
#: spike; at 1e-1 NDT's 16- and 32-shot scores nearly meet.
FEWSHOT_ALPHA = 1e-2
#: Added to rates before the log, as the authors (and NLB's smoothing baseline) do for smoothed
#: spikes: an exact zero rate would otherwise be an unbounded feature.
LOG_OFFSET = 1e-4
#: Mean rates are floored here for the GLM's starting intercept (a unit silent on the K trials).
MIN_RATE = 1e-9


def metric_name(k: int) -> str:
    return f"{k}-shot co-bps"


@dataclass(frozen=True)
class PoissonGLM:
    """Fitted weights (features, units) and intercepts (units,): rate = exp(x @ w + b)."""

    weights: np.ndarray
    intercept: np.ndarray

    def rates(self, features: np.ndarray) -> np.ndarray:
        return np.exp(np.clip(features @ self.weights + self.intercept, -30.0, 30.0))


def fit_poisson_glm(features: np.ndarray, counts: np.ndarray, alpha: float = FEWSHOT_ALPHA, max_iter: int = 1000) -> PoissonGLM:
    """Fit one Poisson GLM per column of ``counts`` (samples, units) on ``features`` (samples, d).

    Each unit minimises mean(exp(eta) - y * eta) + alpha / 2 * |w|^2, eta = x @ w + b, as
    scikit-learn's PoissonRegressor does (its half deviance differs by a constant only). The
    separable losses of all units form one L-BFGS problem, solved in coordinates where it is well
    conditioned: features centred and rotated onto their principal axes (the L2 penalty stays
    diagonal there), each coordinate scaled by its curvature. The optimum is the same; L-BFGS
    needs tens of steps instead of hundreds on collinear log-rates.
    """
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(counts, dtype=np.float64)
    n, d = x.shape
    units = y.shape[1]
    centre = x.mean(axis=0)
    _, singular, axes_t = np.linalg.svd(x - centre, full_matrices=False)
    keep = singular > singular.max() * 1e-10 if singular.size and singular.max() > 0 else np.zeros(0, dtype=bool)
    axes, spread = axes_t[keep].T, singular[keep] / np.sqrt(n)  # (d, p) principal axes, their sd
    whitened = (x - centre) @ axes / spread  # w = axes @ (v / spread): |w|^2 = sum v^2 / spread^2
    mean_rate = np.maximum(y.mean(axis=0), MIN_RATE)
    penalty = alpha / spread**2
    # curvature of each coordinate, per unit: the data term's ~ mean rate (whitened inputs), plus the penalty's
    curvature = np.sqrt(mean_rate[None, :] + penalty[:, None])
    p = whitened.shape[1]
    start = np.zeros((p + 1, units))
    start[p] = np.log(mean_rate) * np.sqrt(mean_rate)  # c = log(mean rate): zero weights, the mean rate

    def unpack(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = flat.reshape(p + 1, units)
        return theta[:p] / curvature, theta[p] / np.sqrt(mean_rate)

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        v, c = unpack(flat)
        eta = np.clip(whitened @ v + c, -30.0, 30.0)
        rate = np.exp(eta)
        loss = float(np.sum(rate - y * eta) / n + 0.5 * np.sum(penalty[:, None] * v**2))
        residual = (rate - y) / n
        gradient = np.empty((p + 1, units))
        gradient[:p] = (whitened.T @ residual + penalty[:, None] * v) / curvature
        gradient[p] = residual.sum(axis=0) / np.sqrt(mean_rate)
        return loss, gradient.ravel()

    # one BLAS thread, set after scipy.optimize loaded its own BLAS: L-BFGS-B's small matrix
    # products are 100x slower with a thread pool spinning on a busy machine
    with threadpool_limits(limits=1):
        result = minimize(loss_and_gradient, start.ravel(), jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "gtol": 1e-9, "ftol": 1e-13})
    v, c = unpack(result.x)
    weights = axes @ (v / spread[:, None])
    return PoissonGLM(weights=weights, intercept=c - centre @ weights)


def log_rate_features(rates: np.ndarray) -> np.ndarray:
    """(R, T, I) predicted rates as (R * T, I) features log(rate + LOG_OFFSET)."""
    rates = np.asarray(rates, dtype=np.float64)
    return np.log(np.maximum(rates, 0.0) + LOG_OFFSET).reshape(-1, rates.shape[-1])


def draw_trials(n_trials: int, k: int, draws: int = FEWSHOT_DRAWS, seed: int = FEWSHOT_SEED) -> list[np.ndarray]:
    """``draws`` sorted sets of ``k`` distinct trial positions out of ``n_trials``, seeded."""
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(n_trials, size=k, replace=False)) for _ in range(draws)]


def fewshot_bps(
    fit_rates_heldin: np.ndarray,
    fit_spikes_heldout: np.ndarray,
    score_rates_heldin: np.ndarray,
    score_spikes_heldout: np.ndarray,
    k: int,
    *,
    draws: int = FEWSHOT_DRAWS,
    seed: int = FEWSHOT_SEED,
    alpha: float = FEWSHOT_ALPHA,
) -> list[float]:
    """Bits per spike on the score trials of a GLM fitted on each draw of ``k`` fit trials.

    Arrays are (R, T, units): predicted held-in rates (features) and held-out spike counts
    (targets) of the trials to draw from, then of the trials to score on.
    """
    from harness.tasks.nlb.bits import nlb_bits_per_spike

    n_fit = fit_rates_heldin.shape[0]
    if k > n_fit:
        raise ValueError(f"cannot draw {k} trials from {n_fit}")
    score_features = log_rate_features(score_rates_heldin)
    n_score, n_bins, n_units = score_spikes_heldout.shape
    values = []
    for trials in draw_trials(n_fit, k, draws, seed):
        glm = fit_poisson_glm(
            log_rate_features(fit_rates_heldin[trials]),
            np.asarray(fit_spikes_heldout[trials], dtype=np.float64).reshape(-1, n_units),
            alpha,
        )
        predicted = glm.rates(score_features).reshape(n_score, n_bins, n_units)
        values.append(nlb_bits_per_spike(predicted, score_spikes_heldout))
    return values


def definition() -> str:
    """One paragraph for the leaderboards, saying exactly what a k-shot co-bps value is."""
    return (
        "held-out units predicted from a model's own outputs by a Poisson GLM fitted on only k trials "
        "(Dabholkar & Barak 2024, \"When predict can also explain: few-shot prediction to select better neural latents\"). "
        f"Features: log(rate + {LOG_OFFSET:g}) of the model's predicted held-in rates; targets: the held-out units' spikes. For each k, "
        f"{FEWSHOT_DRAWS} draws of k train trials (seed {FEWSHOT_SEED}, the same draws for every model of a dataset), one "
        f"GLM per held-out unit with L2 penalty {FEWSHOT_ALPHA:g} (scikit-learn's PoissonRegressor objective), scored "
        "with nlb_tools bits_per_spike on the trials co-bps is scored on; the value is the mean over draws. Unlike the "
        "paper, the target units are the NLB held-out units, which the models saw on train trials, so it measures how "
        "readily they are read out from a few trials; a k larger than the train split is not available."
    )
