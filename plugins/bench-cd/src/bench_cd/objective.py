"""Coordinated dropout (Keshtkaran & Pandarinath 2019) as a bench objective, for any rate model,
and plain autoencoding (the LFADS objective without it) to measure it against.

``cd``: each training batch drops a share ``cd_rate`` of the observed held-in entries (each
entry independently): they are zeroed in the input and the kept ones are scaled by
1 / (1 - cd_rate), so the input's expected sum is unchanged and the co-smoothing view (nothing
dropped, nothing rescaled) is what the model saw on average. The loss counts the dropped held-in
entries only, never the kept ones, so a model cannot lower it by copying its input to its output.
The held-out units and the forward bins are never input, so copying cannot help there either;
they are scored in every batch (as lfads-torch lets their gradients pass), which is how the
readout learns them.

``autoencode``: every observed held-in entry is input and every entry (held-in, held-out,
forward) is scored, LFADS's original objective. A model big enough can lower the held-in part by
passing spikes through; that is the overfitting coordinated dropout prevents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from harness.api import Batch, BenchError, CosmoothingObjective, DatasetTensors, MaskedBatch, cosmoothing_view, masked_heldin_view


def checked_rate(rate: Any) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1:
        raise BenchError(f"cd: option 'cd_rate' must be a number in (0, 1), got {rate!r}")
    return float(rate)


class CoordinatedDropout(CosmoothingObjective):
    """The ``cd`` objective."""

    def __init__(self, data: DatasetTensors, config: Mapping[str, Any]):
        super().__init__(data)
        self.cd_rate = checked_rate(config["cd_rate"])

    def set_hyperparameters(self, changes: Mapping[str, Any]) -> None:
        """A new rate between epochs (the MutableHyperparameters contract)."""
        if set(changes) - {"cd_rate"}:
            raise BenchError(f"cd: only 'cd_rate' changes mid-run, got {', '.join(sorted(changes))}")
        self.cd_rate = checked_rate(changes.get("cd_rate", self.cd_rate))

    def training_batch(self, batch: Batch, generator: torch.Generator) -> MaskedBatch:
        dropped = (torch.rand(batch.heldin.shape, generator=generator) < self.cd_rate).to(batch.heldin.device)
        kept = torch.where(dropped, torch.zeros_like(batch.heldin), batch.heldin / (1 - self.cd_rate))
        return masked_heldin_view(batch, kept, dropped)


class Autoencode(CosmoothingObjective):
    """The ``autoencode`` objective (no coordinated dropout)."""

    def training_batch(self, batch: Batch, generator: torch.Generator) -> MaskedBatch:
        view = cosmoothing_view(batch)
        view.loss_mask[:] = True
        return view


def build_cd(data: DatasetTensors, config: Mapping[str, Any]) -> CoordinatedDropout:
    """The registered factory of ``cd``."""
    return CoordinatedDropout(data, config)


def build_autoencode(data: DatasetTensors, config: Mapping[str, Any]) -> Autoencode:
    """The registered factory of ``autoencode``."""
    return Autoencode(data)
