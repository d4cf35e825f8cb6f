"""Objectives for the video encoding task: the Poisson loss, alone or with CutMix.

CutMix as the Sensorium 2023 winner used it: with probability ``prob`` a training window is
mixed with another window of the same mouse. A mixing ratio ``lam`` drawn from Beta(alpha, alpha)
sizes a box (sides sqrt(lam) of the frame's, centre uniform, clipped at the edges); the box is
pasted from the partner onto every frame of the window, and the targets are mixed by the box's
actual share of the frame: (1 - share) * own + share * partner's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from harness.api import BenchError, EncodingBatch, EncodingData


def poisson_loss(predicted: torch.Tensor, targets: torch.Tensor, eps: float) -> torch.Tensor:
    """Mean over entries of ``pred - y * log(pred + eps)`` (the winner's Poisson NLL on rates,
    without the constant log(y!))."""
    return (predicted - targets * torch.log(predicted + eps)).mean()


class PoissonObjective:
    """Trains on the windows as they are; the loss is :func:`poisson_loss`."""

    def __init__(self, config: Mapping[str, Any]):
        self.eps = _number(config, "eps", 0.0, 1.0, "poisson", low_open=True)

    def training_batch(self, batch: EncodingBatch, generator: torch.Generator) -> EncodingBatch:
        return batch

    def loss(self, predicted: torch.Tensor, batch: EncodingBatch) -> torch.Tensor:
        if batch.responses is None:
            raise BenchError("poisson loss: the batch has no responses (an inference batch cannot be scored)")
        if predicted.shape != batch.responses.shape:
            raise BenchError(f"poisson loss: predicted responses {tuple(predicted.shape)} do not match the targets {tuple(batch.responses.shape)}")
        return poisson_loss(predicted, batch.responses, self.eps)


@dataclasses.dataclass(frozen=True)
class Box:
    """Rows top:bottom and columns left:right of a frame (half-open)."""

    top: int
    bottom: int
    left: int
    right: int

    def share(self, height: int, width: int) -> float:
        return (self.bottom - self.top) * (self.right - self.left) / (height * width)


def random_box(height: int, width: int, lam: float, rng: np.random.Generator) -> Box:
    """A box of sides ~sqrt(lam) of the frame's around a uniform centre, clipped to the frame (so
    its share of the frame is at most ``lam``, less near an edge)."""
    side = np.sqrt(lam)
    cut_height, cut_width = int(height * side), int(width * side)
    centre_row, centre_column = int(rng.integers(height)), int(rng.integers(width))
    return Box(
        top=int(np.clip(centre_row - cut_height // 2, 0, height)),
        bottom=int(np.clip(centre_row + cut_height // 2, 0, height)),
        left=int(np.clip(centre_column - cut_width // 2, 0, width)),
        right=int(np.clip(centre_column + cut_width // 2, 0, width)),
    )


class CutMixObjective(PoissonObjective):
    """CutMix on the frames (module docstring), then the Poisson loss."""

    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        self.prob = _number(config, "prob", 0.0, 1.0, "cutmix")
        self.alpha = _number(config, "alpha", 0.0, 100.0, "cutmix", low_open=True)

    def training_batch(self, batch: EncodingBatch, generator: torch.Generator) -> EncodingBatch:
        if batch.responses is None:
            raise BenchError("cutmix: a training batch needs responses to mix")
        n = batch.video.shape[0]
        if n < 2 or self.prob == 0.0:
            return batch
        # Every draw comes from the trainer's CPU generator: one seed for numpy's Beta sampler,
        # so a run is reproducible under its seed whatever the device.
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        height, width = batch.video.shape[-2:]
        video, behavior, responses = batch.video.clone(), batch.behavior.clone(), batch.responses.clone()
        for i in range(n):
            if rng.random() >= self.prob:
                continue
            partner = (i + 1 + int(rng.integers(n - 1))) % n  # another window of this batch (this mouse)
            box = random_box(height, width, float(rng.beta(self.alpha, self.alpha)), rng)
            share = box.share(height, width)
            if share == 0.0:
                continue
            video[i, :, box.top : box.bottom, box.left : box.right] = batch.video[partner, :, box.top : box.bottom, box.left : box.right]
            responses[i] = (1 - share) * batch.responses[i] + share * batch.responses[partner]
            # The winner's behaviour channels were image planes, so the box carried the partner's
            # behaviour over its area; as a (b, t, B) vector it is mixed by the same share.
            behavior[i] = (1 - share) * batch.behavior[i] + share * batch.behavior[partner]
        return dataclasses.replace(batch, video=video, behavior=behavior, responses=responses)


def _number(config: Mapping[str, Any], key: str, low: float, high: float, owner: str, *, low_open: bool = False) -> float:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low < value if low_open else low <= value) or value > high:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise BenchError(f"{owner}: option '{key}' must be a number in {interval}, got {value!r}")
    return float(value)


def build_cutmix(data: EncodingData, config: Mapping[str, Any]) -> CutMixObjective:
    """The registered ``cutmix`` factory (the data is not needed: CutMix mixes within a batch)."""
    return CutMixObjective(config)


def build_poisson(data: EncodingData, config: Mapping[str, Any]) -> PoissonObjective:
    """The registered ``poisson`` factory."""
    return PoissonObjective(config)
