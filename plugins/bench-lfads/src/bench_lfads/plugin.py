"""Registers the ``lfads`` model. Light on purpose: no torch import until a model is built."""

from __future__ import annotations

from harness.api import hookimpl

#: Every hyperparameter of the model; a run's ``model_config`` may override any of them.
#: lfads-torch's MC_Maze_Small config (generator 100, factors 40, IC 100, inferred inputs 4,
#: encoders 100/80, lr 4e-3, batch 64) is shrunk here to what 2 CPU cores train in minutes. The
#: controller is off by default: stepping it bin by bin cost 3-4 times the whole rest of a
#: training step on one CPU thread (MC_Maze_Small, 180 bins); ``co_size: 4`` turns it on.
DEFAULTS = {
    "encoder_size": 64,  # bidirectional GRU over held-in spikes -> initial condition
    "ic_size": 64,  # dimensions of the initial condition's posterior
    "generator_size": 64,
    "factors": 24,  # low-dimensional read of the generator state; at most generator_size
    "ci_encoder_size": 32,  # bidirectional GRU feeding the controller (0 turns the controller off)
    "controller_size": 32,
    "co_size": 0,  # inferred inputs to the generator per bin (lfads-torch: 4); 0: no controller
    "ci_lag": 1,  # bins by which the controller's encoding lags the bin it explains
    "dropout": 0.1,  # on inputs, encoder states, generator states and controller inputs
    "cell_clip": 5.0,  # bound on the generator's and controller's state (>= 1)
    "ic_prior_variance": 0.1,
    "ic_post_var_min": 1e-4,
    "co_prior_tau": 10.0,  # bins: the AR(1) prior's time constant for inferred inputs
    "co_prior_variance": 0.1,
    # Weights of the loss terms the model adds (each ramped from 0). The reconstruction is a mean
    # over entries (180 bins x 142 units a trial) and the KL a sum over a trial's dimensions, so
    # 1e-4 let the initial condition carry 1-2 nats (val co-bps 0.136 after 1000 updates); 1e-6
    # is the low end of lfads-torch's PBT range (its single-run configs use 0).
    "kl_ic_weight": 1e-6,
    "kl_co_weight": 1e-6,
    "l2_gen_weight": 1e-3,
    "l2_con_weight": 1e-3,
    "kl_start": 0,  # ... in optimizer updates: ramps start here and reach full weight after *_ramp updates
    "kl_ramp": 300,
    "l2_start": 0,
    "l2_ramp": 300,
    "initial_rate_hz": 10.0,  # the readout's starting rate for every unit
}

#: What ``bench tune`` may sample: lfads-torch's PBT ranges for the regularisers, sizes around the
#: defaults. ``mutable``: what a population-based search may change mid-run, as AutoLFADS does
#: (the learning rate, dropout, KL and L2 weights; sizes fix the weights' shapes).
SEARCH_SPACE = {
    "generator_size": {"type": "int", "low": 32, "high": 128, "step": 32},
    "factors": {"type": "int", "low": 8, "high": 32, "step": 8},
    "dropout": {"type": "float", "low": 0.0, "high": 0.6, "mutable": True},
    "kl_ic_weight": {"type": "float", "low": 1e-6, "high": 1e-3, "log": True, "mutable": True},
    "co_size": {"type": "categorical", "choices": [0, 4]},
    "kl_co_weight": {"type": "float", "low": 1e-6, "high": 1e-3, "log": True, "condition": {"co_size": 4}, "mutable": True},
    "l2_gen_weight": {"type": "float", "low": 1e-4, "high": 1.0, "log": True, "mutable": True},
    "l2_con_weight": {"type": "float", "low": 1e-4, "high": 1.0, "log": True, "condition": {"co_size": 4}, "mutable": True},
    "train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True, "mutable": True},
}


@hookimpl
def bench_register_models(register) -> None:
    register(
        "lfads",
        "bench_lfads.model:build",
        description="LFADS: sequential VAE (bidirectional GRU encoder, controller, generator GRU, factors)",
        defaults=DEFAULTS,
        search_space=SEARCH_SPACE,
        train_defaults=TRAIN_DEFAULTS,
    )


#: Trainer settings LFADS is tuned for on MC_Maze_Small (see the README for the runs behind them).
#: lfads-torch trains with Adam at 4e-3 on batches of 64 without weight decay; batches of 32 keep
#: 3-4 updates per epoch on MC_Maze_Small's 100 trials (train, val and eval held-in spikes).
TRAIN_DEFAULTS = {
    "lr": 5e-3,
    "batch_size": 32,
    "weight_decay": 0.0,
    "steps": 2000,
    "warmup_epochs": 3,
    "patience": 0,
    "heldin_only_trials": True,
}
