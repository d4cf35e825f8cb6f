"""Registers the ``ndt`` model. Light on purpose: no torch import until a model is built."""

from __future__ import annotations

from harness import hookimpl

#: Every hyperparameter of the model; a run's ``model_config`` may override any of them.
#: Sized for 2 CPU cores on MC_Maze_Small (180 bins, 107 + 35 units): about 0.3 M parameters.
DEFAULTS = {
    "embedding": "linear",  # "linear", or NDT1's scaled "identity" (width = number of held-in units)
    "width": 128,
    "depth": 2,
    "heads": 4,
    "ff_size": 256,
    "activation": "gelu",
    "pre_norm": True,
    "position": "sinusoidal",  # or "learned"
    "prompt": "token",  # a prepended prompt token, or "add" the prompt embedding to every bin
    "context_forward": -1,  # bins after each bin it may attend to; -1: unlimited
    "context_backward": -1,
    "dropout": 0.3,  # residual and feed-forward dropout
    "dropout_attention": 0.2,
    "dropout_embedding": 0.3,
    "dropout_rates": 0.3,  # before the readout to rates
    "initial_rate_hz": 10.0,  # the readout's starting rate for every unit
}


@hookimpl
def bench_register_models(register) -> None:
    register(
        "ndt",
        "bench_ndt.model:build",
        description="Neural Data Transformer (NDT1): a transformer over time bins, masked-modelling trained",
        defaults=DEFAULTS,
    )
