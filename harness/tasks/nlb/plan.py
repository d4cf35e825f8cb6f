"""How the trainer trains on the NLB co-smoothing task: batches of whole trials under the
objective's masks, held-in-only trials kept out of the loss where they have no targets, sample
validation, and val co-bps under the co-smoothing view each epoch. Imports torch (only the
trainer builds it, through :meth:`harness.tasks.nlb.task.CoSmoothingTask.training_plan`)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from harness.contracts import DatasetTensors, Objective
from harness.tasks.nlb.predict import cosmoothing_mask, make_batch, masked_bps, training_pool
from harness.tasks.nlb.sample_validation import SampleValidation
from harness.specs import TrainConfig


class CoSmoothingPlan:
    """Selects checkpoints on ``val_co_bps`` (higher is better); ``val_loss`` is the objective's
    loss on val under fixed masks, ``sv_bps`` the sample-validation bps when it is on."""

    selection_metric = "val_co_bps"
    selection_label = "val co-bps"
    higher_is_better = True

    def __init__(self, data: DatasetTensors, objective: Objective, config: TrainConfig, device: str, seed: int):
        self.data, self.objective, self.config, self.device = data, objective, config, device
        self.pool, self.labelled = training_pool(data, config.heldin_only_trials)
        self.steps_per_epoch = max(1, math.ceil(self.pool.n_trials / config.batch_size))
        self.val_batch = make_batch(data.val, np.arange(data.val.n_trials), data, device)
        self.val_mask = cosmoothing_mask(self.val_batch)
        self.sample_validation = None
        if config.sample_validation:
            self.sample_validation = SampleValidation(config.sample_validation, self.pool.n_trials, data.n_bins, data.n_heldin, seed)

    def epoch(self, model: torch.nn.Module, generator: torch.Generator) -> Iterator[torch.Tensor]:
        data, objective, size = self.data, self.objective, self.config.batch_size
        model.train()
        order = torch.randperm(self.pool.n_trials, generator=generator).numpy()
        for start in range(0, len(order), size):
            index = order[start : start + size]
            masked = objective.training_batch(make_batch(self.pool, index, data, self.device), generator)
            if self.sample_validation is not None:
                self.sample_validation.withhold(masked, index)
            unlabelled = torch.as_tensor(~self.labelled[index], device=self.device)
            if unlabelled.any():  # held-in-only trials: their held-out and forward targets are unknown
                masked.loss_mask[unlabelled, :, data.n_heldin :] = False
                masked.loss_mask[unlabelled, data.n_bins :, :] = False
            yield objective.loss(model(masked.inputs, masked.prompt), masked)

    def validate(self, model: torch.nn.Module) -> dict[str, float]:
        metrics = {"val_co_bps": masked_bps(model, self.objective.inference_batch, self.val_batch, self.val_mask)}
        if self.sample_validation is not None:
            metrics["sv_bps"] = self.sample_validation.bps(model, self.objective.inference_batch, self.pool, self.data, self.device)
        metrics["val_loss"] = validation_loss(model, self.objective, self.val_batch)
        return metrics


def validation_loss(model: torch.nn.Module, objective: Objective, batch) -> float:
    """The training objective's loss on the val trials, under the same masks every epoch (drawn
    from a generator of its own, so the training draws are untouched): the second checkpoint
    criterion AE Studio kept beside val co-bps."""
    model.eval()
    with torch.no_grad():
        masked = objective.training_batch(batch, torch.Generator().manual_seed(0))
        return float(objective.loss(model(masked.inputs, masked.prompt), masked))
