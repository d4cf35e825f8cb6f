"""Moving splits to the model and rates back: batches in, Predictions out."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from harness.contracts import Batch, DatasetTensors, MaskedBatch, Predictions, Split, SplitRates
from harness.tasks.nlb.views import bits_per_spike, cosmoothing_view


def _tensor(array: np.ndarray | None, shape: tuple[int, ...], device: str) -> torch.Tensor:
    if array is None:  # withheld targets (e.g. eval held-out spikes): zeros, never scored
        return torch.zeros(shape, dtype=torch.float32, device=device)
    return torch.as_tensor(np.asarray(array, dtype=np.float32), device=device)


def make_batch(split: Split, index: np.ndarray, data: DatasetTensors, device: str) -> Batch:
    """The trials at ``index`` as a Batch on ``device``."""
    n = len(index)
    T, F, I, O = data.n_bins, data.n_forward, data.n_heldin, data.n_heldout

    def pick(array: np.ndarray | None) -> np.ndarray | None:
        return None if array is None else array[index]

    return Batch(
        heldin=_tensor(pick(split.heldin), (n, T, I), device),
        heldout=_tensor(pick(split.heldout), (n, T, O), device),
        heldin_forward=_tensor(pick(split.heldin_forward), (n, F, I), device),
        heldout_forward=_tensor(pick(split.heldout_forward), (n, F, O), device),
    )


def batches(split: Split, data: DatasetTensors, device: str, size: int) -> Iterator[Batch]:
    """The split's trials in order, ``size`` at a time."""
    for start in range(0, split.n_trials, size):
        yield make_batch(split, np.arange(start, min(start + size, split.n_trials)), data, device)


def training_pool(data: DatasetTensors, heldin_only_trials: bool) -> tuple[Split, np.ndarray]:
    """The trials to train on and which of them have held-out and forward targets.

    With ``heldin_only_trials`` the val and eval trials join with their held-in spikes only: their
    other arrays are zeros and must be kept out of the loss (the trainer does).
    """
    labelled = np.ones(data.train.n_trials, dtype=bool)
    if not heldin_only_trials:
        return data.train, labelled
    extra = [data.val, data.eval]
    T, F, O = data.n_bins, data.n_forward, data.n_heldout

    def stack(name: str, shape_tail: tuple[int, ...]) -> np.ndarray:
        train_array = getattr(data.train, name)
        zeros = [np.zeros((split.n_trials, *shape_tail), dtype=train_array.dtype) for split in extra]
        return np.concatenate([train_array, *zeros], axis=0)

    pool = Split(
        heldin=np.concatenate([data.train.heldin, *(split.heldin for split in extra)], axis=0),
        heldout=stack("heldout", (T, O)),
        heldin_forward=stack("heldin_forward", (F, data.n_heldin)) if F else None,
        heldout_forward=stack("heldout_forward", (F, O)) if F else None,
    )
    return pool, np.concatenate([labelled, np.zeros(sum(split.n_trials for split in extra), dtype=bool)])


def cosmoothing_mask(batch: Batch) -> torch.Tensor:
    """Held-out units over observed bins: the entries co-bps scores."""
    targets = batch.targets()
    mask = torch.zeros_like(targets, dtype=torch.bool)
    mask[:, : batch.heldin.shape[1], batch.heldin.shape[2] :] = True
    return mask


@torch.no_grad()
def predict_split(
    model: torch.nn.Module, view: Callable[[Batch], MaskedBatch], split: Split, data: DatasetTensors, device: str, size: int = 64
) -> SplitRates:
    model.eval()
    pieces = []
    for batch in batches(split, data, device, size):
        masked = view(batch)
        pieces.append(torch.exp(model(masked.inputs, masked.prompt)).double().cpu().numpy())
    rates = np.concatenate(pieces, axis=0)
    T, I = data.n_bins, data.n_heldin
    return SplitRates(
        heldin=rates[:, :T, :I],
        heldout=rates[:, :T, I:],
        heldin_forward=rates[:, T:, :I] if data.n_forward else None,
        heldout_forward=rates[:, T:, I:] if data.n_forward else None,
    )


def predict_all(model: torch.nn.Module, view: Callable[[Batch], MaskedBatch], data: DatasetTensors, device: str) -> Predictions:
    return Predictions(**{name: predict_split(model, view, data.split(name), data, device) for name in ("train", "val", "eval")})


@torch.no_grad()
def masked_bps(model: torch.nn.Module, view: Callable[[Batch], MaskedBatch], batch: Batch, mask: torch.Tensor | None = None) -> float:
    """Bits per spike of the model under ``view``, over ``mask`` (default: the view's loss mask)."""
    model.eval()
    masked = view(batch)
    log_rates = model(masked.inputs, masked.prompt)
    return bits_per_spike(log_rates, masked.targets, masked.loss_mask if mask is None else mask)


def default_view(batch: Batch) -> MaskedBatch:
    """For models without an objective (closed-form baselines): the NLB co-smoothing view."""
    return cosmoothing_view(batch)
