"""LFADS (Pandarinath et al. 2018, "Inferring single-trial neural population dynamics using
sequential auto-encoders") as a bench model.

A bidirectional GRU reads the observed held-in spikes and gives a Gaussian posterior over the
generator's initial condition. An optional controller (a second bidirectional encoder feeding a
GRU that also sees the generator's last factors) infers inputs to the generator at every step.
The generator GRU unrolls over the observed and the forward bins (it runs on past the observed
window with no new evidence), its state is mapped to low-dimensional factors, and a linear
readout gives log-rates of every held-in and held-out unit.

Beside the objective's reconstruction loss the model reports its own loss terms through the
harness' auxiliary-loss contract: the KL of the initial-condition and inferred-input posteriors to
their priors and an L2 penalty on the recurrent weights, each with a linear ramp from 0 to its
weight, as lfads-torch does. Layout, initialisation and priors follow lfads-torch (arsedler9);
the code is our own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from harness.api import BenchError, ModelShape

#: Options that must be >= 0 (a negative weight would reward the penalty).
NON_NEGATIVE = (
    "kl_ic_weight",
    "kl_co_weight",
    "l2_gen_weight",
    "l2_con_weight",
    "dropout",
    "kl_start",
    "kl_ramp",
    "l2_start",
    "l2_ramp",
    "ci_lag",
)
#: Options ``set_hyperparameters`` takes mid-run (everything else shapes the weights or priors).
MUTABLE = ("dropout", "kl_ic_weight", "kl_co_weight", "l2_gen_weight", "l2_con_weight")
#: Options that must be >= 1.
SIZES = ("encoder_size", "ic_size", "generator_size", "factors")


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse a bad configuration in one line naming the option, before anything is built."""
    for key in NON_NEGATIVE:
        if float(config[key]) < 0:
            raise BenchError(f"lfads: option '{key}' must be >= 0, got {config[key]!r}")
    for key in SIZES:
        if int(config[key]) < 1:
            raise BenchError(f"lfads: option '{key}' must be >= 1, got {config[key]!r}")
    for key in ("ci_encoder_size", "controller_size", "co_size"):
        if int(config[key]) < 0:
            raise BenchError(f"lfads: option '{key}' must be >= 0 (0 turns the controller off), got {config[key]!r}")
    if int(config["factors"]) > int(config["generator_size"]):
        raise BenchError(
            f"lfads: option 'factors' ({config['factors']}) must not exceed 'generator_size' "
            f"({config['generator_size']}): the factors are a low-dimensional read of the generator state"
        )
    if not float(config["dropout"]) < 1:
        raise BenchError(f"lfads: option 'dropout' must be in [0, 1), got {config['dropout']!r}")
    if float(config["cell_clip"]) < 1:
        raise BenchError(
            f"lfads: option 'cell_clip' must be >= 1, got {config['cell_clip']!r} "
            "(a GRU keeps its state within [-1, 1] once there; the clip bounds the initial state)"
        )
    for key in ("ic_prior_variance", "ic_post_var_min", "co_prior_tau", "co_prior_variance", "initial_rate_hz"):
        if not float(config[key]) > 0:
            raise BenchError(f"lfads: option '{key}' must be > 0, got {config[key]!r}")


def ramp(step: int, start: float, length: float) -> float:
    """0 before ``start``, then linear to 1 over ``length`` updates (1 at once when length is 0)."""
    if step < start:
        return 0.0
    if length <= 0:
        return 1.0
    return min(1.0, (step - start + 1) / length)


def _variance_scaled_(weight: torch.Tensor, fan_in: int) -> None:
    nn.init.normal_(weight, std=1.0 / math.sqrt(fan_in))


def _init_gru_(weight_ih: torch.Tensor, weight_hh: torch.Tensor, bias_ih: torch.Tensor, bias_hh: torch.Tensor, hidden: int) -> None:
    """lfads-torch's GRU start: fan-in scaled weights, gate biases at 1 (remember by default),
    the candidate's bias at 0, and no recurrent bias (TF's GRU has none)."""
    _variance_scaled_(weight_ih, weight_ih.shape[1])
    _variance_scaled_(weight_hh, hidden)
    with torch.no_grad():
        bias_ih.fill_(1.0)
        bias_ih[2 * hidden :] = 0.0  # PyTorch orders the gates reset, update, candidate
        bias_hh.zero_()
    bias_hh.requires_grad_(False)


class BidirectionalEncoder(nn.Module):
    """A bidirectional GRU with a learned initial state. Its state never needs clipping: a GRU
    state is a convex mix of the last state and a tanh, so it stays within max(|h0|, 1)."""

    def __init__(self, n_inputs: int, size: int):
        super().__init__()
        self.size = size
        self.gru = nn.GRU(n_inputs, size, batch_first=True, bidirectional=True)
        for suffix in ("", "_reverse"):
            _init_gru_(
                getattr(self.gru, f"weight_ih_l0{suffix}"),
                getattr(self.gru, f"weight_hh_l0{suffix}"),
                getattr(self.gru, f"bias_ih_l0{suffix}"),
                getattr(self.gru, f"bias_hh_l0{suffix}"),
                size,
            )
        self.h0 = nn.Parameter(torch.zeros(2, 1, size))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-bin outputs (B, T, 2 size) and the final states of both directions (B, 2 size)."""
        outputs, last = self.gru(x, self.h0.expand(2, x.shape[0], self.size).contiguous())
        return outputs, torch.cat([last[0], last[1]], dim=1)


class NormalizedLinear(nn.Linear):
    """A linear map whose rows have unit norm: the factors cannot grow by scaling the weights."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, F.normalize(self.weight, dim=1), self.bias)


class LFADS(nn.Module):
    """forward(spikes (B, T+F, I), prompt (B,)) -> log-rates (B, T+F, I+O)."""

    def __init__(self, shape: ModelShape, config: Mapping[str, Any]):
        super().__init__()
        check_config(config)
        self.shape = shape
        self.config = dict(config)
        self.clip = float(config["cell_clip"])
        self.n_prompts = max(1, shape.n_prompts)
        gen, fac, ic = int(config["generator_size"]), int(config["factors"]), int(config["ic_size"])
        enc = int(config["encoder_size"])
        # The prompt id (which task an objective asks for) reaches the encoders as a one-hot column.
        n_inputs = shape.n_heldin + (self.n_prompts if self.n_prompts > 1 else 0)
        self.dropout = nn.Dropout(float(config["dropout"]))

        self.ic_encoder = BidirectionalEncoder(n_inputs, enc)
        self.ic_linear = nn.Linear(2 * enc, 2 * ic)
        _variance_scaled_(self.ic_linear.weight, 2 * enc)
        nn.init.zeros_(self.ic_linear.bias)
        self.ic_prior_mean = nn.Parameter(torch.zeros(ic))
        self.register_buffer("ic_prior_logvar", torch.full((ic,), math.log(float(config["ic_prior_variance"]))))

        self.co_size = int(config["co_size"])
        self.use_controller = min(self.co_size, int(config["ci_encoder_size"]), int(config["controller_size"])) > 0
        if self.use_controller:
            ci, con = int(config["ci_encoder_size"]), int(config["controller_size"])
            self.ci_lag = int(config["ci_lag"])
            self.ci_encoder = BidirectionalEncoder(n_inputs, ci)
            self.controller = nn.GRUCell(2 * ci + fac, con)
            _init_gru_(self.controller.weight_ih, self.controller.weight_hh, self.controller.bias_ih, self.controller.bias_hh, con)
            self.controller_h0 = nn.Parameter(torch.zeros(1, con))
            self.co_linear = nn.Linear(con, 2 * self.co_size)
            _variance_scaled_(self.co_linear.weight, con)
            nn.init.zeros_(self.co_linear.bias)
            # The inferred inputs' prior: an AR(1) process per dimension, time constant and noise learned.
            self.co_prior_logtau = nn.Parameter(torch.full((self.co_size,), math.log(float(config["co_prior_tau"]))))
            self.co_prior_lognvar = nn.Parameter(torch.full((self.co_size,), math.log(float(config["co_prior_variance"]))))
        gen_inputs = self.co_size if self.use_controller else 1  # a constant zero input when there is no controller
        self.ic_to_g0 = nn.Linear(ic, gen)
        _variance_scaled_(self.ic_to_g0.weight, ic)
        nn.init.zeros_(self.ic_to_g0.bias)
        # One GRU layer: unrolled by torch's fused kernel when nothing feeds it step by step (no
        # controller), one cell step at a time with the same weights when the controller does.
        self.generator = nn.GRU(gen_inputs, gen, batch_first=True)
        g = self.generator
        _init_gru_(g.weight_ih_l0, g.weight_hh_l0, g.bias_ih_l0, g.bias_hh_l0, gen)
        self.to_factors = NormalizedLinear(gen, fac, bias=False)
        _variance_scaled_(self.to_factors.weight, gen)
        self.readout = nn.Linear(fac, shape.n_units)
        _variance_scaled_(self.readout.weight, fac)
        nn.init.constant_(self.readout.bias, math.log(float(config["initial_rate_hz"]) * shape.bin_size_ms / 1000.0))
        self._kl_ic: torch.Tensor | None = None
        self._kl_co: torch.Tensor | None = None

    # -- the MutableHyperparameters contract: what a population-based search changes mid-run --
    def set_hyperparameters(self, changes: Mapping[str, Any]) -> None:
        """New dropout, KL and L2 weights between epochs; the weights carry on."""
        unknown = set(changes) - set(MUTABLE)
        if unknown:
            raise BenchError(f"lfads: {', '.join(sorted(unknown))} cannot change mid-run (mutable: {', '.join(MUTABLE)})")
        config = {**self.config, **changes}
        check_config(config)
        self.config = config
        self.dropout.p = float(config["dropout"])

    # -- the auxiliary-loss contract (harness.contracts.AuxiliaryLosses) ---------------------
    def auxiliary_losses(self, step: int, total_steps: int) -> dict[str, torch.Tensor]:
        """The KL and L2 terms of the last forward pass, weighted and ramped at update ``step``."""
        c = self.config
        kl_scale = ramp(step, float(c["kl_start"]), float(c["kl_ramp"]))
        l2_scale = ramp(step, float(c["l2_start"]), float(c["l2_ramp"]))
        terms = {"kl_ic": kl_scale * float(c["kl_ic_weight"]) * self._kl_ic}
        if self.use_controller:
            terms["kl_co"] = kl_scale * float(c["kl_co_weight"]) * self._kl_co
        terms["l2"] = l2_scale * self.l2_penalty()
        return terms

    def l2_penalty(self) -> torch.Tensor:
        """lfads-torch's recurrent-weight L2: weight * ||W||^2 / 2, summed, over the penalised count."""
        kernels = [(self.generator.weight_hh_l0, float(self.config["l2_gen_weight"]))]
        if self.use_controller:
            kernels.append((self.controller.weight_hh, float(self.config["l2_con_weight"])))
        penalty = self.readout.bias.new_zeros(())
        size = 0
        for kernel, weight in kernels:
            if weight > 0:
                penalty = penalty + weight * 0.5 * kernel.pow(2).sum()
                size += kernel.numel()
        return penalty / max(size, 1)

    # -- the model --------------------------------------------------------------------------
    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        batch, n_total, _ = spikes.shape
        n_observed = n_total - self.shape.n_forward  # forward bins are always hidden: never encode them
        x = spikes[:, :n_observed]
        if self.n_prompts > 1:
            onehot = F.one_hot(prompt.clamp(0, self.n_prompts - 1), self.n_prompts).to(x.dtype)
            x = torch.cat([x, onehot[:, None, :].expand(batch, n_observed, self.n_prompts)], dim=2)
        x = self.dropout(x)

        _, last = self.ic_encoder(x)
        ic_mean, ic_logvar = self.ic_linear(self.dropout(last)).chunk(2, dim=1)
        ic_std = torch.sqrt(torch.exp(ic_logvar) + float(self.config["ic_post_var_min"]))
        self._kl_ic = self._ic_kl(ic_mean, ic_std)
        ic = ic_mean + ic_std * torch.randn_like(ic_std) if self.training else ic_mean
        g0 = self.ic_to_g0(ic).clamp(-self.clip, self.clip)

        if self.use_controller:
            factors = self._unroll_with_controller(x, g0, n_total)
        else:
            factors = self._unroll(g0, n_total)
        return self.readout(factors)

    def _unroll(self, g0: torch.Tensor, n_total: int) -> torch.Tensor:
        """The generator alone: its state follows its own dynamics from the initial condition.
        Clipping the initial state is enough: a GRU state then stays within max(|g0|, 1) <= clip."""
        zeros = g0.new_zeros(g0.shape[0], n_total, 1)
        states, _ = self.generator(zeros, g0[None].contiguous())
        return self.to_factors(self.dropout(states))

    def _unroll_with_controller(self, x: torch.Tensor, g0: torch.Tensor, n_total: int) -> torch.Tensor:
        batch = x.shape[0]
        encoded, _ = self.ci_encoder(x)
        forward_half, backward_half = encoded.chunk(2, dim=2)
        # The controller sees the forward encoding ``ci_lag`` bins late and the backward one that
        # many bins early, so that neither tells it the very bin it is about to explain.
        lag, n_observed = self.ci_lag, x.shape[1]
        forward_half = F.pad(forward_half, (0, 0, lag, 0))[:, :n_observed]
        backward_half = F.pad(backward_half, (0, 0, 0, lag))[:, lag:]
        ci = torch.cat([forward_half, backward_half], dim=2)
        ci = F.pad(ci, (0, 0, 0, n_total - n_observed))  # no evidence over the forward bins
        ci = self.dropout(ci)

        g = self.generator
        factor_weight = F.normalize(self.to_factors.weight, dim=1)  # once per pass, not per bin
        state = g0
        factor = F.linear(self.dropout(g0), factor_weight)
        controller = self.controller_h0.expand(batch, -1)
        factors, co_means, co_stds, co_samples = [], [], [], []
        for t in range(n_total):
            controller = self.controller(torch.cat([ci[:, t], self.dropout(factor)], dim=1), controller).clamp(-self.clip, self.clip)
            co_mean, co_logvar = self.co_linear(controller).chunk(2, dim=1)
            co_std = torch.exp(0.5 * co_logvar)
            co = co_mean + co_std * torch.randn_like(co_std) if self.training else co_mean
            state = torch.gru_cell(co, state, g.weight_ih_l0, g.weight_hh_l0, g.bias_ih_l0, g.bias_hh_l0).clamp(-self.clip, self.clip)
            factor = F.linear(self.dropout(state), factor_weight)
            factors.append(factor)
            co_means.append(co_mean)
            co_stds.append(co_std)
            co_samples.append(co)
        self._kl_co = self._co_kl(torch.stack(co_means, 1), torch.stack(co_stds, 1), torch.stack(co_samples, 1))
        return torch.stack(factors, dim=1)

    # -- priors ------------------------------------------------------------------------------
    def _ic_kl(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        """KL(N(mean, std^2) || N(prior mean, prior var)), summed over dimensions, mean over trials."""
        prior_var = torch.exp(self.ic_prior_logvar)
        kl = 0.5 * (self.ic_prior_logvar - 2 * torch.log(std) + (std.pow(2) + (mean - self.ic_prior_mean).pow(2)) / prior_var - 1)
        return kl.sum(dim=1).mean()

    def _co_kl(self, mean: torch.Tensor, std: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """A one-sample estimate of KL(q || AR(1) prior) over the inferred inputs (B, T, co)."""
        log_q = torch.distributions.Normal(mean, std).log_prob(sample).sum(dim=(1, 2))
        alpha = torch.exp(-1.0 / torch.exp(self.co_prior_logtau))
        noise_var = torch.exp(self.co_prior_lognvar)
        previous = F.pad(sample[:, :-1], (0, 0, 1, 0))
        prior_mean = alpha * previous
        prior_var = noise_var.expand_as(sample).clone()
        prior_var[:, 0] = noise_var / (1 - alpha.pow(2))  # the process' stationary variance at t = 0
        log_p = torch.distributions.Normal(prior_mean, prior_var.sqrt()).log_prob(sample).sum(dim=(1, 2))
        return (log_q - log_p).mean()


def build(shape: ModelShape, config: Mapping[str, Any]) -> LFADS:
    """The registered factory: an LFADS sized by ``shape`` and ``config`` (the plugin's defaults merged)."""
    return LFADS(shape, config)
