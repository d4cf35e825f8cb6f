"""Registers the ``ndt`` model. Light on purpose: no torch import until a model is built."""

from __future__ import annotations

from harness.api import hookimpl

#: Every hyperparameter of the model; a run's ``model_config`` may override any of them.
#: Tuned on MC_Maze_Small (60 train / 15 val trials, 2 CPU cores). On 60 trials a transformer
#: memorises the held-out spikes long before it generalises, so the model is small (about 25 k
#: parameters) and regularised mostly by dropout on the rates (NDT's strongest lever); fixed
#: sinusoidal positions learn the time course far faster than learned ones. No attention dropout:
#: on a CPU its mask over every attention weight took a third of each step, and without it the
#: same 600 epochs scored as well (0.211 vs 0.208 val co-bps, mean of the last 50 epochs).
DEFAULTS = {
    "embedding": "linear",  # "linear", or NDT1's scaled "identity" (width = number of held-in units)
    "width": 32,
    "depth": 2,
    "heads": 2,
    "ff_size": 64,
    "activation": "gelu",
    "pre_norm": True,
    "position": "sinusoidal",  # or "learned"
    "prompt": "token",  # a prepended prompt token, or "add" the prompt embedding to every bin
    "context_forward": -1,  # bins after each bin it may attend to; -1: unlimited
    "context_backward": -1,
    "dropout": 0.1,  # residual and feed-forward dropout
    "dropout_attention": 0.0,
    "dropout_embedding": 0.1,
    "dropout_rates": 0.5,  # before the readout to rates
    "initial_rate_hz": 10.0,  # the readout's starting rate for every unit
}


#: What ``bench tune`` samples, around the defaults above. Widths are multiples of 16 and heads
#: 1, 2 or 4, so every combination divides; dropout on the rates is NDT's strongest regulariser
#: on small data, so it gets the widest range. Trainer settings: the peak learning rate (log
#: scale) and weight decay; the update budget stays the spec's (a search compares equal budgets).
#: ``mutable``: what a population-based search may change mid-run (dropout rates, the learning
#: rate and weight decay; sizes fix the weights' shapes).
SEARCH_SPACE = {
    "width": {"type": "int", "low": 16, "high": 64, "step": 16},
    "depth": {"type": "int", "low": 1, "high": 3},
    "heads": {"type": "categorical", "choices": [1, 2, 4]},
    "ff_size": {"type": "int", "low": 32, "high": 128, "step": 32},
    "dropout": {"type": "float", "low": 0.0, "high": 0.4, "mutable": True},
    "dropout_embedding": {"type": "float", "low": 0.0, "high": 0.4, "mutable": True},
    "dropout_rates": {"type": "float", "low": 0.1, "high": 0.7, "mutable": True},
    "train.lr": {"type": "float", "low": 2e-3, "high": 3e-2, "log": True, "mutable": True},
    "train.weight_decay": {"type": "float", "low": 1e-3, "high": 0.3, "log": True, "mutable": True},
}


@hookimpl
def bench_register_models(register) -> None:
    register(
        "ndt",
        "bench_ndt.model:build",
        description="Neural Data Transformer (NDT1): a transformer over time bins, masked-modelling trained",
        defaults=DEFAULTS,
        # A model this small needs a high learning rate and many updates (on MC_Maze_Small, 7000
        # updates = 1000 epochs, val co-bps still rises until ~700 epochs), the whole cosine
        # schedule (stopping early while the rate is high left lorenz at its noisy plateau), and
        # learns the dynamics better from every trial's held-in spikes.
        train_defaults={"lr": 0.01, "steps": 7000, "patience": 0, "heldin_only_trials": True},
        search_space=SEARCH_SPACE,
        # Over a session set: per-session read-in, read-out and token around a shared core
        # (bench_ndt.sessions), which --init-from carries to a new session.
        sessions=True,
    )
