"""NLB'21's spike-smoothing baseline as a bench model (fitted in closed form, not by gradients).

Held-in rates are the held-in spikes smoothed by a Gaussian kernel (floored). Held-out rates come
from a Poisson GLM per held-out unit whose inputs are the log of those smoothed rates,
standardised. Kernel width and GLM penalty are chosen on the val split; the GLM is fitted on the
train split only, so that val stays an honest test of what was chosen. Forward bins are never
seen by the model, so every forward bin gets each unit's mean count over the forward bins of the
train trials: a constant forecast, the honest floor for fp-bps. (A per-bin trial average, raw or
smoothed, scored worse on MC_Maze_Small's val trials: its noise costs more than its shape gains.)

Every fitted number is a registered buffer: ``state_dict()`` round-trips through
``torch.load(weights_only=True)`` and the model moves between devices like any other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from harness.api import DatasetTensors, ModelShape, bits_per_spike


def gaussian_window(sd_bins: float) -> torch.Tensor:
    """A unit-sum Gaussian over ``-3 sd .. +3 sd`` bins (odd length, centred)."""
    half = max(1, math.ceil(3 * sd_bins))
    offsets = torch.arange(-half, half + 1, dtype=torch.float64)
    window = torch.exp(-0.5 * (offsets / sd_bins) ** 2)
    return window / window.sum()


def smooth(spikes: torch.Tensor, sd_bins: float) -> torch.Tensor:
    """Spikes (B, T, N) convolved along time with a Gaussian; zeros beyond the trial's edges."""
    batch, bins, units = spikes.shape
    window = gaussian_window(sd_bins).to(dtype=spikes.dtype, device=spikes.device)
    signal = spikes.permute(0, 2, 1).reshape(batch * units, 1, bins)
    # the window is symmetric, so conv1d's cross-correlation is the convolution
    smoothed = functional.conv1d(signal, window.view(1, 1, -1), padding=window.numel() // 2)
    return smoothed.reshape(batch, units, bins).permute(0, 2, 1)


class SmoothingGLM(torch.nn.Module):
    """Spike smoothing + Poisson GLM; ``fit_direct`` fits it, ``forward`` predicts log-rates."""

    def __init__(self, shape: ModelShape, config: Mapping[str, Any]):
        super().__init__()
        self.shape = shape
        self.kernel_grid_ms = [float(v) for v in _as_list(config["kernel_sd_ms"])]
        self.alpha_grid = [float(v) for v in _as_list(config["alpha"])]
        self.log_offset = float(config["log_offset"])
        self.rate_floor = float(config["rate_floor"])
        self.max_iter = int(config["max_iter"])
        units = shape.n_units
        middle_kernel = self.kernel_grid_ms[len(self.kernel_grid_ms) // 2]
        # Before fitting: the middle kernel and a GLM predicting one spike per bin everywhere.
        self.register_buffer("kernel_sd_bins", torch.tensor(middle_kernel / shape.bin_size_ms))
        self.register_buffer("feature_mean", torch.zeros(shape.n_heldin))
        self.register_buffer("feature_scale", torch.ones(shape.n_heldin))
        self.register_buffer("weights", torch.zeros(shape.n_heldout, shape.n_heldin))
        self.register_buffer("intercept", torch.zeros(shape.n_heldout))
        self.register_buffer("forward_log_rates", torch.zeros(units))  # one per unit, every forward bin
        self.register_buffer("fitted", torch.tensor(False))

    # -- prediction ------------------------------------------------------------------------------
    def _log_features(self, smoothed: torch.Tensor) -> torch.Tensor:
        return torch.log(smoothed + self.log_offset)

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        shape = self.shape
        if spikes.shape[1:] != (shape.n_total_bins, shape.n_heldin):
            raise ValueError(f"expected spikes (batch, {shape.n_total_bins}, {shape.n_heldin}), got {tuple(spikes.shape)}")
        # Only observed bins are smoothed: forward bins arrive as zeros and must not leak in.
        smoothed = smooth(spikes[:, : shape.n_bins].to(self.weights.dtype), float(self.kernel_sd_bins))
        features = (self._log_features(smoothed) - self.feature_mean) / self.feature_scale
        heldout = features @ self.weights.T + self.intercept
        heldin = torch.log(smoothed.clamp_min(self.rate_floor))
        observed = torch.cat([heldin, heldout], dim=-1)
        forward = self.forward_log_rates.expand(spikes.shape[0], shape.n_forward, -1)
        return torch.cat([observed, forward], dim=1)

    # -- fitting ---------------------------------------------------------------------------------
    def _features(self, heldin: np.ndarray, sd_bins: float) -> np.ndarray:
        """Log smoothed held-in counts as a (R * T, I) float64 design matrix."""
        smoothed = smooth(torch.as_tensor(heldin, dtype=torch.float64), sd_bins)
        return self._log_features(smoothed).reshape(-1, self.shape.n_heldin).numpy()

    def _fit_glms(self, features: np.ndarray, targets: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """One sklearn PoissonRegressor per held-out unit: (weights (O, I), intercepts (O,))."""
        from sklearn.linear_model import PoissonRegressor

        weights, intercepts = [], []
        for unit in range(targets.shape[1]):
            glm = PoissonRegressor(alpha=alpha, max_iter=self.max_iter).fit(features, targets[:, unit])
            weights.append(glm.coef_)
            intercepts.append(glm.intercept_)
        return np.array(weights).reshape(targets.shape[1], -1), np.array(intercepts)

    def fit_direct(self, data: DatasetTensors) -> dict[str, Any]:
        """Choose kernel width and penalty on val, fit the GLMs on train; returns the choice."""
        from threadpoolctl import threadpool_limits

        shape = self.shape
        train, val = data.train, data.val
        can_select = val.heldout is not None and shape.n_heldout > 0
        kernels = self.kernel_grid_ms if can_select else [self.kernel_grid_ms[len(self.kernel_grid_ms) // 2]]
        alphas = self.alpha_grid if can_select else [self.alpha_grid[len(self.alpha_grid) // 2]]
        targets = train.heldout.reshape(-1, shape.n_heldout) if shape.n_heldout else None

        grid, best = [], None
        # One BLAS thread: these fits are small, and on a shared CPU the default thread pool
        # spends more time contending than computing (about 7x slower measured on 2 cores).
        with threadpool_limits(limits=1):
            for kernel_ms in kernels:
                sd_bins = kernel_ms / shape.bin_size_ms
                train_features = self._features(train.heldin, sd_bins)
                mean = train_features.mean(axis=0)
                spread = train_features.std(axis=0)
                scale = np.where(spread > 1e-8, spread, 1.0)  # a silent unit gives a constant feature
                standardised = (train_features - mean) / scale
                for alpha in alphas:
                    weights, intercepts = self._fit_glms(standardised, targets, alpha) if targets is not None else (None, None)
                    candidate = {"kernel_sd_ms": kernel_ms, "alpha": alpha, "mean": mean, "scale": scale, "weights": weights, "intercepts": intercepts}
                    score = self._val_co_bps(candidate, val) if can_select else None
                    grid.append({"kernel_sd_ms": kernel_ms, "alpha": alpha, "val_co_bps": score})
                    if best is None or (score is not None and score > best[0]):
                        best = (score, candidate)

        score, chosen = best
        self._store(chosen, train)
        return {
            "kernel_sd_ms": chosen["kernel_sd_ms"],
            "alpha": chosen["alpha"],
            "val_co_bps": score,
            "selected_on": f"val ({val.n_trials} trials)" if can_select else "nothing: val has no held-out spikes, so the middle of each grid",
            "fitted_on": f"train ({train.n_trials} trials)",
            "forward": "each unit's mean count over the forward bins of the train trials",
            "grid": grid,
        }

    def _val_co_bps(self, candidate: dict[str, Any], val) -> float:
        features = self._features(val.heldin, candidate["kernel_sd_ms"] / self.shape.bin_size_ms)
        standardised = (features - candidate["mean"]) / candidate["scale"]
        log_rates = standardised @ candidate["weights"].T + candidate["intercepts"]
        targets = torch.as_tensor(val.heldout.reshape(-1, self.shape.n_heldout), dtype=torch.float64)
        return bits_per_spike(torch.as_tensor(log_rates), targets, torch.ones_like(targets, dtype=torch.bool))

    def _store(self, chosen: dict[str, Any], train) -> None:
        """Copy the chosen fit into the buffers (keeping their dtype and device)."""

        def put(buffer: torch.Tensor, value) -> None:
            buffer.copy_(torch.as_tensor(np.asarray(value), dtype=buffer.dtype))

        put(self.kernel_sd_bins, chosen["kernel_sd_ms"] / self.shape.bin_size_ms)
        put(self.feature_mean, chosen["mean"])
        put(self.feature_scale, chosen["scale"])
        if chosen["weights"] is not None:
            put(self.weights, chosen["weights"])
            put(self.intercept, chosen["intercepts"])
        if self.shape.n_forward and train.heldin_forward is not None and train.heldout_forward is not None:
            counts = np.concatenate([train.heldin_forward, train.heldout_forward], axis=-1).astype(np.float64)
            put(self.forward_log_rates, np.log(np.maximum(counts.mean(axis=(0, 1)), self.rate_floor)))
        self.fitted.fill_(True)


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def build(shape: ModelShape, config: Mapping[str, Any]) -> SmoothingGLM:
    return SmoothingGLM(shape, config)
