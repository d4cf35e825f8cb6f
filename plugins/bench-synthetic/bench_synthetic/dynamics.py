"""Latent dynamical systems: Lorenz and (coupled) chaotic RNNs, sampled once per bin.

Every function takes initial states for all trials at once and returns latents of shape
(trials, bins, dims), so a whole dataset is integrated in a handful of vectorised steps.
"""

from __future__ import annotations

import math

import numpy as np

LORENZ_SIGMA, LORENZ_RHO, LORENZ_BETA = 10.0, 28.0, 8.0 / 3.0


def _lorenz_derivative(_t: float, flat_state: np.ndarray) -> np.ndarray:
    x, y, z = flat_state.reshape(-1, 3).T
    derivative = np.stack(
        [LORENZ_SIGMA * (y - x), x * (LORENZ_RHO - z) - y, x * y - LORENZ_BETA * z], axis=1
    )
    return derivative.ravel()


def lorenz(initial_states: np.ndarray, n_bins: int, dt: float) -> np.ndarray:
    """Integrate the Lorenz system from ``initial_states`` (R, 3); return (R, n_bins, 3).

    The first bin is the initial state; adaptive RK45 with tight tolerances, so the result does
    not depend on a step size we chose.
    """
    from scipy.integrate import solve_ivp

    times = np.arange(n_bins) * dt
    solution = solve_ivp(
        _lorenz_derivative,
        (0.0, float(times[-1])),
        np.asarray(initial_states, dtype=float).ravel(),
        t_eval=times,
        rtol=1e-9,
        atol=1e-9,
    )
    if not solution.success:
        raise RuntimeError(f"Lorenz integration failed: {solution.message}")
    return solution.y.reshape(len(initial_states), 3, n_bins).transpose(0, 2, 1)


def lorenz_attractor_points(n_points: int, rng: np.random.Generator, burn_in: float = 5.0) -> np.ndarray:
    """``n_points`` independent states on the Lorenz attractor: random starts run past their transient."""
    starts = rng.normal(0.0, 10.0, size=(n_points, 3)) + np.array([0.0, 0.0, 25.0])
    return lorenz(starts, n_bins=2, dt=burn_in)[:, -1]


ROSSLER_A, ROSSLER_B, ROSSLER_C = 0.2, 0.2, 5.7


def _rossler_derivative(_t: float, flat_state: np.ndarray) -> np.ndarray:
    x, y, z = flat_state.reshape(-1, 3).T
    return np.stack([-y - z, x + ROSSLER_A * y, ROSSLER_B + z * (x - ROSSLER_C)], axis=1).ravel()


def rossler(initial_states: np.ndarray, n_bins: int, dt: float) -> np.ndarray:
    """Integrate the Rössler system from ``initial_states`` (R, 3); return (R, n_bins, 3): other
    dynamics than Lorenz (one slow spiral with rare excursions, no two-lobed switching)."""
    from scipy.integrate import solve_ivp

    times = np.arange(n_bins) * dt
    solution = solve_ivp(_rossler_derivative, (0.0, float(times[-1])), np.asarray(initial_states, dtype=float).ravel(), t_eval=times, rtol=1e-8, atol=1e-8)
    if not solution.success:
        raise RuntimeError(f"Rössler integration failed: {solution.message}")
    return solution.y.reshape(len(initial_states), 3, n_bins).transpose(0, 2, 1)


def rossler_attractor_points(n_points: int, rng: np.random.Generator, burn_in: float = 50.0) -> np.ndarray:
    """``n_points`` independent states on the Rössler attractor."""
    starts = rng.normal(0.0, 3.0, size=(n_points, 3)) + np.array([0.0, 0.0, 0.5])
    starts[:, 2] = np.abs(starts[:, 2])
    return rossler(starts, n_bins=2, dt=burn_in)[:, -1]


def rnn_substeps(bin_size_ms: float, tau_ms: float) -> int:
    """Euler steps per bin: at least five per time constant keeps the integration faithful."""
    return max(1, math.ceil(5 * bin_size_ms / tau_ms))


def coupled_rnns(
    initial_states: np.ndarray,
    recurrent: np.ndarray,
    n_bins: int,
    substeps: int,
    dt_over_tau: float,
    input_weights: np.ndarray | None = None,
    sources: tuple[int, ...] = (),
    lag_steps: int = 0,
) -> np.ndarray:
    """Run K tanh RNNs ``dx/dt = (-x + J_k tanh(x_k) + U_k tanh(x_src(k)(t - lag))) / tau``.

    initial_states (R, K, H), recurrent (K, H, H), input_weights (K, H, H) or None (uncoupled),
    sources[k] the region that drives region k. A region reads its source's firing rates
    ``tanh(x)`` from ``lag_steps`` Euler steps ago (held at the initial state before the trial
    began), so information flows between regions with a delay. Returns the rates tanh(x) once per bin,
    (R, n_bins, K, H); bin 0 is the initial state.
    """
    state = np.array(initial_states, dtype=float)
    n_trials, n_regions, _ = state.shape
    total_steps = (n_bins - 1) * substeps
    history = np.empty((total_steps + 1, n_trials, n_regions, state.shape[2]))
    history[0] = np.tanh(state)
    for step in range(total_steps):
        rates = history[step]
        drive = np.einsum("kij,rkj->rki", recurrent, rates)
        if input_weights is not None:
            delayed = history[max(step - lag_steps, 0)][:, list(sources)]
            drive += np.einsum("kij,rkj->rki", input_weights, delayed)
        state += dt_over_tau * (drive - state)
        history[step + 1] = np.tanh(state)
    per_bin = history[::substeps]
    return per_bin.transpose(1, 0, 2, 3)


def random_recurrent_weights(n_regions: int, size: int, gain: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian J with variance gain^2 / size: chaotic for gain > 1 (Sompolinsky et al. 1988)."""
    return rng.normal(0.0, gain / math.sqrt(size), size=(n_regions, size, size))
