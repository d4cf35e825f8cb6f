"""Registers the ``makin`` objective. Light on purpose: no torch import until it is built."""

from __future__ import annotations

from harness.api import hookimpl

#: Every setting of the objective; a run's ``objective_config`` may override any of them.
DEFAULTS = {
    # "dot" (single entries: the lab's released mask), or one of its five named variants:
    # "dot-line", "dot-strip-line", "strip-line", "dot-l", "strip-l" (see bench_makin_masks.masks)
    "mode": "dot",
    "mask_ratio": 0.27,  # share of held-in entries hidden and scored (the lab's CD_RATIO)
    "length": 10,  # entries along a line, or along each arm of an L
    "strip_length": 3,  # entries in each strip of the dot-strip pattern
    "line_axis": "time",  # a line follows one unit over bins ("time") or one bin over units ("units")
}

SEARCH_SPACE = {
    "mode": {"type": "categorical", "choices": ["dot", "dot-line", "dot-strip-line", "strip-line", "dot-l", "strip-l"]},
    "mask_ratio": {"type": "float", "low": 0.2, "high": 0.35},  # the lab tried 0.25, 0.27, 0.30
    "length": {"type": "int", "low": 4, "high": 30},  # unused by "dot"
    "line_axis": {"type": "categorical", "choices": ["time", "units"]},
}


@hookimpl
def bench_register_objectives(register) -> None:
    register(
        "makin",
        "bench_makin_masks.objective:build",
        description="Makin lab masking: zeroed dots, or lines / L shapes drawn dotted, dash-dot or solid",
        defaults=DEFAULTS,
        search_space=SEARCH_SPACE,
    )
