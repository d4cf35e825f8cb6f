"""Few-shot training: a run trained on only some of a dataset's train trials."""

from __future__ import annotations

from harness.contracts import DatasetTensors
from harness.errors import BenchError

#: Seed of the order train trials are dropped in. Fixed (not the run's seed), so scratch and
#: pretrained runs at N trials train on the same trials, and the first 10 are among the first 25.
TRIAL_ORDER_SEED = 0


def limit_train_trials(data: DatasetTensors, n_trials: int) -> DatasetTensors:
    """``data`` with its train split cut to ``n_trials`` trials: the first of a seeded order,
    kept in their own order. Val and eval stay whole (they score the run)."""
    import numpy as np

    available = data.train.n_trials
    if n_trials < 1 or n_trials > available:
        raise BenchError(f"train.max_train_trials {n_trials}: dataset '{data.name}' has {available} train trials")
    order = np.random.default_rng(TRIAL_ORDER_SEED).permutation(available)
    return data.with_splits(train=data.train.take(np.sort(order[:n_trials])))
