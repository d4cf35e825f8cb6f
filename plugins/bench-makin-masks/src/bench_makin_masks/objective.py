"""The Makin lab's masked training (NLB'22) as a bench objective, for any rate model.

Training hides held-in entries in one of the lab's patterns (``bench_makin_masks.masks``), sets
them to zero as the lab does, and scores the model on them. As in every harness objective the
held-out units (never input) and the forward bins (always hidden) are scored in every batch; the
lab scored held-in forward entries only where its mask fell, a difference of weighting only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from bench_makin_masks.masks import AXES, MODES, canonical_mode, hidden_entries
from harness.api import Batch, BenchError, CosmoothingObjective, DatasetTensors, MaskedBatch, masked_heldin_view


def _checked(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings, or a one-line BenchError naming the bad option."""

    def fail(key: str, expected: str) -> BenchError:
        return BenchError(f"objective 'makin': option '{key}' must be {expected}, got {config[key]!r}")

    mode = canonical_mode(config["mode"])
    if mode is None:
        raise fail("mode", f"one of {', '.join(MODES)} (spaces or '_' for '-' are fine)")
    ratio = config["mask_ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 < ratio < 1.0:
        raise fail("mask_ratio", "a number in (0, 1)")
    for key in ("length", "strip_length"):
        if isinstance(config[key], bool) or not isinstance(config[key], int) or config[key] < 1:
            raise fail(key, "a whole number >= 1")
    if config["line_axis"] not in AXES:
        raise fail("line_axis", f"one of {', '.join(AXES)}")
    return {
        "mode": mode,
        "mask_ratio": float(ratio),
        "length": config["length"],
        "strip_length": config["strip_length"],
        "axis": config["line_axis"],
    }


class MakinMasking(CosmoothingObjective):
    """The ``makin`` objective: one prompt id (0), zeroed hidden entries, Poisson loss on them."""

    owner = "makin masking"

    def __init__(self, data: DatasetTensors, config: Mapping[str, Any]):
        settings = _checked(config)
        self.mode = settings.pop("mode")
        self.mask_ratio = settings.pop("mask_ratio")
        self.geometry = settings
        super().__init__(data)

    def hidden_entries(self, n_trials: int, n_bins: int, n_units: int, generator: torch.Generator) -> torch.Tensor:
        """Bool (B, T, I) on the CPU: the held-in entries to hide and score."""
        return hidden_entries(self.mode, n_trials, n_bins, n_units, self.mask_ratio, generator, **self.geometry)

    def training_batch(self, batch: Batch, generator: torch.Generator) -> MaskedBatch:
        n_trials, n_bins, n_heldin = batch.heldin.shape
        hidden = self.hidden_entries(n_trials, n_bins, n_heldin, generator).to(batch.heldin.device)
        return masked_heldin_view(batch, batch.heldin.masked_fill(hidden, 0.0), hidden)


def build(data: DatasetTensors, config: Mapping[str, Any]) -> MakinMasking:
    """The registered factory."""
    return MakinMasking(data, config)
