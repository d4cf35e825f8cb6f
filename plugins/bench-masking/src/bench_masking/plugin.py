"""Registers the ``random`` objective. Light on purpose: no torch import until it is built."""

from __future__ import annotations

from harness.api import hookimpl

#: Every setting of the objective; a run's ``objective_config`` may override any of them.
DEFAULTS = {
    "mode": "timestep",  # hide whole bins ("timestep"), whole units ("neuron") or entries ("full")
    "mask_ratio": 0.25,  # share of held-in entries hidden and scored
    "max_span": 1,  # hidden spans of 1 .. max_span consecutive bins (timestep and full modes)
    "zero_ratio": 0.8,  # of hidden entries, the share set to zero ...
    "random_ratio": 0.5,  # ... of the rest, the share set to random counts; the others keep their value
}


#: What ``bench tune`` samples. Spans of consecutive bins exist only when whole bins or single
#: entries are hidden, so ``max_span`` is sampled only for those modes (a conditional parameter).
SEARCH_SPACE = {
    "mode": {"type": "categorical", "choices": ["timestep", "neuron", "full"]},
    "mask_ratio": {"type": "float", "low": 0.1, "high": 0.5},
    "max_span": {"type": "int", "low": 1, "high": 5, "condition": {"mode": ["timestep", "full"]}},
    "zero_ratio": {"type": "float", "low": 0.5, "high": 1.0},
    "random_ratio": {"type": "float", "low": 0.0, "high": 0.7},
}


@hookimpl
def bench_register_objectives(register) -> None:
    register(
        "random",
        "bench_masking.objective:build",
        description="NDT masked modelling: random bins / units / entries hidden and predicted",
        defaults=DEFAULTS,
        search_space=SEARCH_SPACE,
    )
