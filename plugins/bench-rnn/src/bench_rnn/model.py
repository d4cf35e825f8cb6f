"""The Makin lab's NLB'22 models (RNNf, Neural RoBERTa, r-RoBERTa) as bench rate models.

All three read held-in counts (B, T + F, I) with a bidirectional GRU and map each bin to rates of
every held-in and held-out unit: the GRU carries activity through time (into the hidden forward
bins), a feed-forward layer spreads it over units. Neural RoBERTa adds one RoBERTa-style
encoder layer (pre-norm by default, RoBERTa's post-norm by option) whose tokens are bins and
whose width is the number of units, then a second feed-forward layer. r-RoBERTa averages the rates of an RNNf and a Neural RoBERTa branch.
The lab applies one dropout probability at the input, between GRU layers and before each
feed-forward layer; the encoder keeps RoBERTa's own 0.1 dropouts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from bench_rnn import options
from harness.api import BenchError, ModelShape


def log_rates(x: torch.Tensor, output: str) -> torch.Tensor:
    """Log of the rates the lab's last nonlinearity gives: exp(x), or sigmoid(x) (at most 1 spike per bin)."""
    return x if output == "exp" else F.logsigmoid(x)


def initial_bias(rate_hz: float, bin_size_ms: int, output: str) -> float:
    """The readout bias that starts every unit at ``rate_hz`` under ``output``."""
    rate = min(rate_hz * bin_size_ms / 1000.0, 0.5)
    return math.log(rate) if output == "exp" else math.log(rate / (1.0 - rate))


class GRUTrunk(nn.Module):
    """Input dropout, a (bi)directional GRU, dropout: (B, T, I) -> (B, T, hidden x directions).

    Objectives with several prompt ids (multi-task masking) get a learned vector per id added to
    every bin's input; with one prompt there is nothing to tell apart and no extra parameters.
    """

    def __init__(self, shape: ModelShape, hidden: int, layers: int, bidirectional: bool, dropout: float):
        super().__init__()
        self.input_dropout = nn.Dropout(dropout)
        self.prompts = nn.Embedding(shape.n_prompts, shape.n_heldin) if shape.n_prompts > 1 else None
        if self.prompts is not None:
            nn.init.normal_(self.prompts.weight, std=0.02)
        self.gru = nn.GRU(
            shape.n_heldin, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0, bidirectional=bidirectional
        )
        self.output_dropout = nn.Dropout(dropout)
        self.width = hidden * (2 if bidirectional else 1)

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        x = self.input_dropout(spikes)
        if self.prompts is not None:
            x = x + self.prompts(prompt.clamp(0, self.prompts.num_embeddings - 1))[:, None, :]
        features, _ = self.gru(x)
        return self.output_dropout(features)


class RobertaLayer(nn.Module):
    """One RoBERTa encoder layer: self-attention, then a 2x-wide GELU feed-forward block, each
    added back; RoBERTa's initialisation (normal 0.02, zero biases).

    ``norm="post"`` is RoBERTa's own order (normalise after each residual sum); ``"pre"``
    normalises each block's input and leaves the residual stream alone, so the GRU's features
    reach the readout through an identity path. Post-norm over the units cut the GRU trunk's
    gradient off on MC_Maze_Small (see the plugin README); pre-norm is the default.
    """

    def __init__(self, width: int, heads: int, dropout: float, norm: str = "pre"):
        super().__init__()
        self.norm = norm
        self.heads = heads
        self.attention_dropout = dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.norm_attention = nn.LayerNorm(width, eps=1e-12)
        self.intermediate = nn.Linear(width, 2 * width)
        self.feed_forward_out = nn.Linear(2 * width, width)
        self.norm_feed_forward = nn.LayerNorm(width, eps=1e-12)
        self.dropout = nn.Dropout(dropout)
        for linear in (self.qkv, self.attention_out, self.intermediate, self.feed_forward_out):
            nn.init.normal_(linear.weight, std=0.02)
            nn.init.zeros_(linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm == "pre":
            x = x + self.dropout(self.attend(self.norm_attention(x)))
            return x + self.dropout(self.feed_forward(self.norm_feed_forward(x)))
        x = self.norm_attention(x + self.dropout(self.attend(x)))
        return self.norm_feed_forward(x + self.dropout(self.feed_forward(x)))

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attention_dropout if self.training else 0.0)
        return self.attention_out(attended.transpose(1, 2).reshape(batch, length, width))

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feed_forward_out(F.gelu(self.intermediate(x)))


class RNNf(nn.Module):
    """GRU -> feed-forward -> exp (or sigmoid): forward(spikes, prompt) -> log-rates (B, T + F, I + O)."""

    name = "rnnf"

    def __init__(self, shape: ModelShape, config: Mapping[str, Any]):
        super().__init__()
        check = self.name
        self.output = options.choice(check, config, "output", options.OUTPUTS)
        self.trunk = GRUTrunk(
            shape,
            options.positive_int(check, config, "hidden"),
            options.positive_int(check, config, "layers"),
            options.flag(check, config, "bidirectional"),
            options.probability(check, config, "dropout"),
        )
        self.readout = nn.Linear(self.trunk.width, shape.n_units)
        rate_hz = options.positive_float(check, config, "initial_rate_hz")
        nn.init.constant_(self.readout.bias, initial_bias(rate_hz, shape.bin_size_ms, self.output))

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        return log_rates(self.readout(self.trunk(spikes, prompt)), self.output)


class NeuralRoBERTa(nn.Module):
    """GRU -> feed-forward -> RoBERTa encoder layer -> feed-forward -> exp (or sigmoid)."""

    name = "neural-roberta"

    def __init__(self, shape: ModelShape, config: Mapping[str, Any]):
        super().__init__()
        check = self.name
        self.output = options.choice(check, config, "output", options.OUTPUTS)
        dropout = options.probability(check, config, "dropout")
        self.trunk = GRUTrunk(
            shape,
            options.positive_int(check, config, "hidden"),
            options.positive_int(check, config, "layers"),
            options.flag(check, config, "bidirectional"),
            dropout,
        )
        self.expand = nn.Linear(self.trunk.width, shape.n_units)
        heads = options.heads_dividing(check, config, "heads", shape.n_units)
        norm = options.choice(check, config, "norm", options.NORMS)
        self.encoder = RobertaLayer(shape.n_units, heads, options.probability(check, config, "encoder_dropout"), norm)
        self.readout_dropout = nn.Dropout(dropout)
        self.readout = nn.Linear(shape.n_units, shape.n_units)
        rate_hz = options.positive_float(check, config, "initial_rate_hz")
        nn.init.constant_(self.readout.bias, initial_bias(rate_hz, shape.bin_size_ms, self.output))

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        x = self.encoder(self.expand(self.trunk(spikes, prompt)))
        return log_rates(self.readout(self.readout_dropout(x)), self.output)


class RRoBERTa(nn.Module):
    """The mean of an RNNf's and a Neural RoBERTa's rates, both branches trained together.

    Rates are averaged, not log-rates: log(0.5 e^a + 0.5 e^b) = logaddexp(a, b) - log 2.
    """

    name = "r-roberta"

    def __init__(self, shape: ModelShape, config: Mapping[str, Any]):
        super().__init__()
        shared = {key: config[key] for key in ("layers", "bidirectional", "output", "initial_rate_hz")}
        self.rnnf = _branch(RNNf, shape, {**shared, "hidden": config["rnnf_hidden"], "dropout": config["rnnf_dropout"]}, "rnnf_")
        roberta = {"hidden": config["roberta_hidden"], "dropout": config["roberta_dropout"]}
        roberta.update(heads=config["heads"], encoder_dropout=config["encoder_dropout"], norm=config["norm"])
        self.roberta = _branch(NeuralRoBERTa, shape, {**shared, **roberta}, "roberta_")

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        return torch.logaddexp(self.rnnf(spikes, prompt), self.roberta(spikes, prompt)) - math.log(2.0)


def _branch(cls: type[nn.Module], shape: ModelShape, config: Mapping[str, Any], prefix: str) -> nn.Module:
    """One branch of r-RoBERTa; a bad option is reported under r-RoBERTa's own key name."""
    try:
        return cls(shape, config)
    except BenchError as error:
        message = str(error).replace(f"model '{cls.name}'", "model 'r-roberta'")
        for key in ("hidden", "dropout"):
            message = message.replace(f"option '{key}'", f"option '{prefix}{key}'")
        raise BenchError(message) from None


def build_rnnf(shape: ModelShape, config: Mapping[str, Any]) -> RNNf:
    return RNNf(shape, config)


def build_neural_roberta(shape: ModelShape, config: Mapping[str, Any]) -> NeuralRoBERTa:
    return NeuralRoBERTa(shape, config)


def build_r_roberta(shape: ModelShape, config: Mapping[str, Any]) -> RRoBERTa:
    return RRoBERTa(shape, config)
