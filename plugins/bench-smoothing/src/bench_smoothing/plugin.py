"""Registers the ``smoothing`` model. Light on purpose: no torch or sklearn until it is built."""

from __future__ import annotations

from harness.api import hookimpl

#: The grids are searched on the val split by ``fit_direct``; a run may narrow or widen them.
DEFAULTS = {
    "kernel_sd_ms": [40, 60, 80],  # Gaussian kernel widths (NLB's tuned values for MC_Maze: 40-60 ms)
    "alpha": [0.01, 0.03, 0.1],  # L2 penalty of the Poisson GLM on standardised features
    "log_offset": 1e-4,  # added to smoothed counts before the log (as NLB's baseline)
    "rate_floor": 1e-4,  # spikes per bin: smoothed held-in rates and forward rates never go below
    "max_iter": 1000,  # lbfgs iterations per held-out unit
}


@hookimpl
def bench_register_models(register) -> None:
    register(
        "smoothing",
        "bench_smoothing.model:build",
        description="NLB'21 baseline: Gaussian-smoothed held-in spikes, Poisson GLM to held-out units (closed form)",
        defaults=DEFAULTS,
        direct_fit=True,
    )
