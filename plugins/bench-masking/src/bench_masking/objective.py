"""NDT's masked modelling (Ye & Pandarinath 2021) as a bench objective, for any rate model.

Training hides a random share of held-in entries (whole time bins, whole units, or single
entries, optionally in spans of consecutive bins) and scores the model on them. As NDT does for
co-smoothing, the held-out units (never part of the input) and the forward bins (always hidden)
are scored in every batch too, so the readout learns them from the visible held-in activity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch.nn import functional as F

from harness.api import Batch, CosmoothingObjective, DatasetTensors, MaskedBatch, masked_heldin_view

MODES = ("timestep", "neuron", "full")


def expand_spans(starts: torch.Tensor, span: int) -> torch.Tensor:
    """Bool (N, T): bin t is masked when a span of ``span`` bins starting at t - span + 1 .. t is."""
    if span <= 1:
        return starts
    padded = F.pad(starts.float()[:, None, :], (span - 1, 0))
    return F.max_pool1d(padded, kernel_size=span, stride=1)[:, 0, :] > 0


def replace_hidden(spikes: torch.Tensor, hidden: torch.Tensor, zero_ratio: float, random_ratio: float, generator: torch.Generator) -> torch.Tensor:
    """BERT-style corruption: of the hidden entries a share is zeroed, a share of the rest gets
    random counts (0 .. the batch's largest count), the remainder keeps its true value.

    Random draws come from the CPU ``generator`` and move to the spikes' device afterwards.
    """
    draw = torch.rand((2, *spikes.shape), generator=generator).to(spikes.device)
    zeroed = hidden & (draw[0] < zero_ratio)
    randomised = hidden & ~zeroed & (draw[1] < random_ratio)
    top = int(spikes.max().item()) if spikes.numel() else 0
    noise = torch.randint(0, top + 1, spikes.shape, generator=generator).to(spikes.device, spikes.dtype)
    out = spikes.masked_fill(zeroed, 0.0)
    return torch.where(randomised, noise, out)


class RandomMasking(CosmoothingObjective):
    """The ``random`` objective: NDT's masked modelling with one prompt id (0)."""

    owner = "random masking"

    def __init__(self, data: DatasetTensors, config: Mapping[str, Any]):
        if config["mode"] not in MODES:
            raise ValueError(f"random masking: mode must be one of {', '.join(MODES)}, got {config['mode']!r}")
        for key in ("mask_ratio", "zero_ratio", "random_ratio"):
            if not 0.0 <= float(config[key]) <= 1.0:
                raise ValueError(f"random masking: {key} must be in [0, 1], got {config[key]!r}")
        if int(config["max_span"]) < 1:
            raise ValueError(f"random masking: max_span must be >= 1, got {config['max_span']!r}")
        self.mode = config["mode"]
        self.mask_ratio = float(config["mask_ratio"])
        self.max_span = int(config["max_span"])
        self.zero_ratio = float(config["zero_ratio"])
        self.random_ratio = float(config["random_ratio"])
        super().__init__(data)

    def hidden_entries(self, n_trials: int, n_bins: int, n_units: int, generator: torch.Generator) -> torch.Tensor:
        """Bool (B, T, I) on the CPU: the held-in entries to hide and score."""
        if self.mode == "neuron":  # whole units, every bin
            units = torch.rand(n_trials, n_units, generator=generator) < self.mask_ratio
            return units[:, None, :].expand(n_trials, n_bins, n_units)
        span = int(torch.randint(1, self.max_span + 1, (1,), generator=generator))
        # Span starts are rarer for longer spans so the hidden share stays near mask_ratio.
        rows = n_trials if self.mode == "timestep" else n_trials * n_units
        starts = torch.rand(rows, n_bins, generator=generator) < self.mask_ratio / span
        spans = expand_spans(starts, span)
        if self.mode == "timestep":  # whole bins, every unit
            return spans[:, :, None].expand(n_trials, n_bins, n_units)
        return spans.view(n_trials, n_units, n_bins).transpose(1, 2)

    def training_batch(self, batch: Batch, generator: torch.Generator) -> MaskedBatch:
        n_trials, n_bins, n_heldin = batch.heldin.shape
        hidden = self.hidden_entries(n_trials, n_bins, n_heldin, generator).to(batch.heldin.device)
        visible = replace_hidden(batch.heldin, hidden, self.zero_ratio, self.random_ratio, generator)
        return masked_heldin_view(batch, visible, hidden)


def build(data: DatasetTensors, config: Mapping[str, Any]) -> RandomMasking:
    """The registered factory."""
    return RandomMasking(data, config)
