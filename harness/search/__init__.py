"""``bench tune``: Bayesian hyperparameter search where every trial is an ordinary run.

    spec.py    search specs (YAML): families, what to sample, budgets
    space.py   a search space from the registry's declarations, sampled per trial
    study.py   Optuna storage (SQLite under BENCH_HOME, or a server URL), samplers, pruners
    worker.py  the trial loop: a run per trial, pruning from the task's selection metric, top-N ensembles

The trial worker's names were importable from ``harness.search`` before it became this package;
they still are for one release.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    import warnings

    from harness.search import worker

    value = getattr(worker, name)
    warnings.warn(f"harness.search.{name} moved to harness.search.worker", DeprecationWarning, stacklevel=2)
    return value
