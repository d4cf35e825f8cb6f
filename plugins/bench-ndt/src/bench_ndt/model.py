"""The Neural Data Transformer (NDT1, Ye & Pandarinath 2021) as a bench model.

Each time bin's held-in spike vector is one token. Tokens are embedded, given a position, passed
through a transformer encoder and read out as log-rates of every unit (held-in and held-out) in
every bin (observed and forward). The objective decides what the input hides; the model only
sees a prompt id telling it which task it is asked to solve.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from harness.api import BenchError, ModelShape, SessionShapes

EMBEDDINGS = ("linear", "identity")
POSITIONS = ("learned", "sinusoidal")
PROMPTS = ("token", "add")
ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


def context_mask(n_bins: int, forward: int, backward: int) -> torch.Tensor | None:
    """Bool (n_bins, n_bins), True where bin i may attend to bin j; None when unlimited.

    ``forward`` / ``backward`` count bins after / before i that stay visible; -1 is unlimited.
    """
    if forward < 0 and backward < 0:
        return None
    offset = torch.arange(n_bins)[None, :] - torch.arange(n_bins)[:, None]  # j - i
    allowed = torch.ones(n_bins, n_bins, dtype=torch.bool)
    if forward >= 0:
        allowed &= offset <= forward
    if backward >= 0:
        allowed &= offset >= -backward
    return allowed


def sinusoidal_positions(n_positions: int, width: int) -> torch.Tensor:
    """The fixed sine/cosine table of Vaswani et al. (n_positions, width)."""
    position = torch.arange(n_positions, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(n_positions, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return table


#: Options ``set_hyperparameters`` takes mid-run (a population-based search perturbs them); the
#: rest shape the weights, or the attention (``dropout_attention`` stays as built).
MUTABLE = ("dropout", "dropout_embedding", "dropout_rates")


def set_dropouts(model: nn.Module, changes: Mapping[str, Any]) -> None:
    """New dropout rates for an NDT (one session or stitched) between epochs; weights carry on."""
    unknown = set(changes) - set(MUTABLE)
    if unknown:
        raise BenchError(f"ndt: {', '.join(sorted(unknown))} cannot change mid-run (mutable: {', '.join(MUTABLE)})")
    for key, rate in changes.items():
        if not 0 <= float(rate) < 1:
            raise BenchError(f"ndt: option '{key}' must be in [0, 1), got {rate!r}")
    if "dropout" in changes:
        for layer in model.layers:
            layer.set_dropout(float(changes["dropout"]))
    if "dropout_embedding" in changes:
        model.embedding_dropout.p = float(changes["dropout_embedding"])
    if "dropout_rates" in changes:
        model.rates_dropout.p = float(changes["dropout_rates"])


class EncoderLayer(nn.Module):
    """Self-attention then a feed-forward block, each with a residual; pre- or post-norm."""

    def __init__(self, width: int, heads: int, ff_size: int, dropout: float, attention_dropout: float, pre_norm: bool, activation: str):
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.pre_norm = pre_norm
        self.attention_dropout = attention_dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.feed_forward = nn.Sequential(
            nn.Linear(width, ff_size), ACTIVATIONS[activation](), nn.Dropout(dropout), nn.Linear(ff_size, width)
        )
        self.norm_attention = nn.LayerNorm(width)
        self.norm_feed_forward = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)

    def set_dropout(self, rate: float) -> None:
        """The residual and feed-forward dropout (``dropout``), changed mid-run."""
        self.dropout.p = self.feed_forward[2].p = rate

    def attend(self, x: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=allowed, dropout_p=self.attention_dropout if self.training else 0.0
        )
        return self.attention_out(out.transpose(1, 2).reshape(batch, length, width))

    def forward(self, x: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
        if self.pre_norm:
            x = x + self.dropout(self.attend(self.norm_attention(x), allowed))
            return x + self.dropout(self.feed_forward(self.norm_feed_forward(x)))
        x = self.norm_attention(x + self.dropout(self.attend(x, allowed)))
        return self.norm_feed_forward(x + self.dropout(self.feed_forward(x)))


class NeuralDataTransformer(nn.Module):
    """forward(spikes (B, T+F, I), prompt (B,)) -> log-rates (B, T+F, I+O)."""

    def __init__(self, shape: ModelShape, config: Mapping[str, Any]):
        super().__init__()
        _check_choices(config)
        self.shape = shape
        width = shape.n_heldin if config["embedding"] == "identity" else int(config["width"])
        self.width = width
        n_bins = shape.n_total_bins

        # NDT1's identity embedding keeps each unit on its own axis, scaled like a token embedding.
        if config["embedding"] == "identity":
            self.embed = nn.Identity()
            self.embed_scale = math.sqrt(width)
        else:
            self.embed = nn.Linear(shape.n_heldin, width)
            self.embed_scale = 1.0
        if config["position"] == "learned":
            self.position = nn.Parameter(torch.zeros(n_bins, width))
            nn.init.normal_(self.position, std=0.02)
        else:
            self.register_buffer("position", sinusoidal_positions(n_bins, width), persistent=False)
        self.prompt_mode = config["prompt"]
        self.prompts = nn.Embedding(max(1, shape.n_prompts), width)
        nn.init.normal_(self.prompts.weight, std=0.02)
        self.embedding_dropout = nn.Dropout(float(config["dropout_embedding"]))

        self.layers = nn.ModuleList(
            EncoderLayer(
                width,
                int(config["heads"]),
                int(config["ff_size"]),
                float(config["dropout"]),
                float(config["dropout_attention"]),
                bool(config["pre_norm"]),
                config["activation"],
            )
            for _ in range(int(config["depth"]))
        )
        # Pre-norm stacks leave the residual stream unnormalised; post-norm layers end normalised.
        self.final_norm = nn.LayerNorm(width) if config["pre_norm"] else nn.Identity()
        self.rates_dropout = nn.Dropout(float(config["dropout_rates"]))
        self.readout = nn.Linear(width, shape.n_units)
        # Start every unit at a plausible firing rate so the first steps fit dynamics, not the mean.
        initial_log_rate = math.log(float(config["initial_rate_hz"]) * shape.bin_size_ms / 1000.0)
        nn.init.constant_(self.readout.bias, initial_log_rate)
        nn.init.normal_(self.readout.weight, std=0.02)

        allowed = context_mask(n_bins, int(config["context_forward"]), int(config["context_backward"]))
        if allowed is not None and self.prompt_mode == "token":
            # Every bin sees the prompt token; it sees only itself, so that it cannot carry
            # activity from beyond a bin's context into the next layer.
            allowed = F.pad(allowed, (1, 0, 1, 0), value=False)
            allowed[:, 0] = True
        self.register_buffer("allowed", allowed, persistent=False)

    def set_hyperparameters(self, changes: Mapping[str, Any]) -> None:
        """The MutableHyperparameters contract: new dropout rates between epochs."""
        set_dropouts(self, changes)

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        n_bins = spikes.shape[1]
        x = self.embed(spikes) * self.embed_scale + self.position[:n_bins]
        prompt_embedding = self.prompts(prompt.clamp(0, self.prompts.num_embeddings - 1))[:, None, :]
        if self.prompt_mode == "token":
            x = torch.cat([prompt_embedding, x], dim=1)
        else:
            x = x + prompt_embedding
        x = self.embedding_dropout(x)
        allowed = self.allowed
        if allowed is not None and allowed.shape[0] != x.shape[1]:  # shorter sequences than built for
            offset = 1 if self.prompt_mode == "token" else 0
            allowed = allowed[: n_bins + offset, : n_bins + offset]
        for layer in self.layers:
            x = layer(x, allowed)
        if self.prompt_mode == "token":
            x = x[:, 1:]
        return self.readout(self.rates_dropout(self.final_norm(x)))


def _check_choices(config: Mapping[str, Any]) -> None:
    for key, choices in (("embedding", EMBEDDINGS), ("position", POSITIONS), ("prompt", PROMPTS), ("activation", tuple(ACTIVATIONS))):
        if config[key] not in choices:
            raise ValueError(f"ndt: {key} must be one of {', '.join(choices)}, got {config[key]!r}")


def build(shape: ModelShape | SessionShapes, config: Mapping[str, Any]) -> nn.Module:
    """The registered factory: an NDT sized by ``shape`` and ``config`` (the plugin's defaults
    merged); with SessionShapes, the NDT over sessions (bench_ndt.sessions)."""
    if isinstance(shape, SessionShapes):
        from bench_ndt.sessions import MultiSessionNDT

        return MultiSessionNDT(shape, config)
    return NeuralDataTransformer(shape, config)
