"""NDT over a session set: per-session read-in, read-out and session token around one shared
transformer core (the stitching of NDT2's context tokens and MtM's per-session linear layers).

Each session's held-in spike vector per bin goes through its own linear read-in to the shared
width; the core sees [prompt token,] the session's token, then the bins; the session's own
read-out gives log-rates of that session's units. The core (positions, prompt embeddings,
encoder layers, final norm) is what ``core_keys`` names: what a fine-tuning run takes from a
pretraining run, whatever sessions either had.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from harness.api import SessionShapes

from bench_ndt.model import EncoderLayer, _check_choices, context_mask, set_dropouts, sinusoidal_positions

#: State-dict prefixes of what belongs to one session; every other key is the shared core.
PER_SESSION = ("read_in.", "read_out.", "session_tokens.")


class MultiSessionNDT(nn.Module):
    """forward(spikes (B, T+F, I_s), prompt (B,), session=s) -> log-rates (B, T+F, I_s+O_s)."""

    def __init__(self, shapes: SessionShapes, config: Mapping[str, Any]):
        super().__init__()
        _check_choices(config)
        if config["embedding"] != "linear":
            raise ValueError("ndt over sessions needs embedding 'linear': sessions have different numbers of units, so a read-in maps each to the shared width")
        self.shapes = shapes
        width = self.width = int(config["width"])
        n_bins = shapes.n_total_bins
        self.read_in = nn.ModuleList(nn.Linear(shape.n_heldin, width) for shape in shapes.shapes)
        self.session_tokens = nn.ParameterList(nn.Parameter(torch.randn(width) * 0.02) for _ in shapes.shapes)
        self.read_out = nn.ModuleList(nn.Linear(width, shape.n_units) for shape in shapes.shapes)
        for shape, read_out in zip(shapes.shapes, self.read_out):
            nn.init.constant_(read_out.bias, math.log(float(config["initial_rate_hz"]) * shape.bin_size_ms / 1000.0))
            nn.init.normal_(read_out.weight, std=0.02)

        # -- the shared core --
        if config["position"] == "learned":
            self.position = nn.Parameter(torch.zeros(n_bins, width))
            nn.init.normal_(self.position, std=0.02)
        else:
            self.register_buffer("position", sinusoidal_positions(n_bins, width), persistent=False)
        self.prompt_mode = config["prompt"]
        self.prompts = nn.Embedding(max(1, shapes.n_prompts), width)
        nn.init.normal_(self.prompts.weight, std=0.02)
        self.embedding_dropout = nn.Dropout(float(config["dropout_embedding"]))
        self.layers = nn.ModuleList(
            EncoderLayer(width, int(config["heads"]), int(config["ff_size"]), float(config["dropout"]),
                         float(config["dropout_attention"]), bool(config["pre_norm"]), config["activation"])
            for _ in range(int(config["depth"]))
        )
        self.final_norm = nn.LayerNorm(width) if config["pre_norm"] else nn.Identity()
        self.rates_dropout = nn.Dropout(float(config["dropout_rates"]))

        # Prefix tokens (prompt if a token, then session) are seen by every bin and see only each other.
        self.n_prefix = 2 if self.prompt_mode == "token" else 1
        allowed = context_mask(n_bins, int(config["context_forward"]), int(config["context_backward"]))
        if allowed is not None:
            allowed = F.pad(allowed, (self.n_prefix, 0, self.n_prefix, 0), value=False)
            allowed[:, : self.n_prefix] = True
        self.register_buffer("allowed", allowed, persistent=False)

    def core_keys(self) -> tuple[str, ...]:
        return tuple(key for key in self.state_dict() if not key.startswith(PER_SESSION))

    def set_hyperparameters(self, changes: Mapping[str, Any]) -> None:
        """The MutableHyperparameters contract: new dropout rates between epochs."""
        set_dropouts(self, changes)

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor, session: int = 0) -> torch.Tensor:
        batch, n_bins, _ = spikes.shape
        x = self.read_in[session](spikes) + self.position[:n_bins]
        prompt_embedding = self.prompts(prompt.clamp(0, self.prompts.num_embeddings - 1))[:, None, :]
        prefix = [self.session_tokens[session].expand(batch, 1, self.width)]
        if self.prompt_mode == "token":
            prefix.insert(0, prompt_embedding)
        else:
            x = x + prompt_embedding
        x = self.embedding_dropout(torch.cat([*prefix, x], dim=1))
        allowed = self.allowed
        if allowed is not None and allowed.shape[0] != x.shape[1]:  # a session shorter than the longest
            allowed = allowed[: x.shape[1], : x.shape[1]]
        for layer in self.layers:
            x = layer(x, allowed)
        return self.read_out[session](self.rates_dropout(self.final_norm(x[:, self.n_prefix :])))
