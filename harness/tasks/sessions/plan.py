"""How the trainer trains on a session set: every session's co-smoothing plan
(harness.tasks.nlb.plan) on its own view of the shared model, their batches interleaved in a
seeded order, so an epoch is one pass over every session's trials. Validation is the mean over
sessions of each session's val co-bps (and objective loss). Imports torch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from harness.sessions import SessionObjectives, SessionSet
from harness.specs import TrainConfig
from harness.tasks.nlb.plan import CoSmoothingPlan
from harness.tasks.sessions.bound import BoundSession



class SessionsPlan:
    """Selects checkpoints on ``val_co_bps``, the mean of the sessions' val co-bps."""

    selection_metric = "val_co_bps"
    selection_label = "val co-bps (mean over sessions)"
    higher_is_better = True

    def __init__(self, data: SessionSet, objectives: SessionObjectives, config: TrainConfig, device: str, seed: int):
        self.plans = [CoSmoothingPlan(session.data, objectives[index], config, device, seed) for index, session in enumerate(data.sessions)]
        self.steps_per_epoch = sum(plan.steps_per_epoch for plan in self.plans)

    def epoch(self, model: torch.nn.Module, generator: torch.Generator) -> Iterator[torch.Tensor]:
        model.train()
        steps = [plan.epoch(BoundSession(model, index), generator) for index, plan in enumerate(self.plans)]
        turns = np.repeat(np.arange(len(self.plans)), [plan.steps_per_epoch for plan in self.plans])
        for index in turns[torch.randperm(len(turns), generator=generator).numpy()]:
            yield next(steps[index])  # each session's plan yields exactly its steps_per_epoch losses

    def validate(self, model: torch.nn.Module) -> dict[str, float]:
        per_session = [plan.validate(BoundSession(model, index)) for index, plan in enumerate(self.plans)]
        keys = set.intersection(*(set(values) for values in per_session))
        return {key: float(np.mean([values[key] for values in per_session])) for key in sorted(keys)}
