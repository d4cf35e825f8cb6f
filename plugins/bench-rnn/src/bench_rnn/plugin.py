"""Registers ``rnnf``, ``neural-roberta`` and ``r-roberta``. Light on purpose: no torch import here.

Defaults start from the lab's MC_Maze_Small configuration and search table (hidden 32-64,
dropout 0.46-0.6, lr 5e-4 to 1.5e-2, L2 0 to 5e-7) and were re-tuned on MC_Maze_Small (60 train /
15 val trials) on 2 CPU cores; the plugin README gives the runs behind them.
"""

from __future__ import annotations

from harness.api import hookimpl

#: Options every model of the family shares (a run's ``model_config`` may override any of them).
_GRU = {
    "layers": 2,  # stacked GRU layers (the lab: 2; 3 on dmfc_rsg)
    "bidirectional": True,
    "output": "exp",  # the last nonlinearity: "exp", or "sigmoid" (rates below 1 spike per bin)
    "initial_rate_hz": 10.0,  # the readout's starting rate for every unit
}

RNNF_DEFAULTS = {
    **_GRU,
    "hidden": 64,  # GRU units per direction
    "dropout": 0.5,  # at the input, between GRU layers and before the readout (the lab's p, p1, p2)
}

NEURAL_ROBERTA_DEFAULTS = {
    **_GRU,
    "hidden": 40,
    "dropout": 0.47,  # the lab's p, p1, p2, p3
    "heads": 2,  # attention heads; must divide the number of units (the encoder's width)
    "encoder_dropout": 0.1,  # RoBERTa's own attention and residual dropout
    "norm": "pre",  # "pre" or RoBERTa's "post" layer norm (post-norm did not learn here: README)
}

R_ROBERTA_DEFAULTS = {
    **_GRU,
    "rnnf_hidden": RNNF_DEFAULTS["hidden"],
    "rnnf_dropout": RNNF_DEFAULTS["dropout"],
    "roberta_hidden": NEURAL_ROBERTA_DEFAULTS["hidden"],
    "roberta_dropout": NEURAL_ROBERTA_DEFAULTS["dropout"],
    "heads": NEURAL_ROBERTA_DEFAULTS["heads"],
    "encoder_dropout": NEURAL_ROBERTA_DEFAULTS["encoder_dropout"],
    "norm": NEURAL_ROBERTA_DEFAULTS["norm"],
}

#: The lab's search table, as ranges `bench tune` may sample (plus the trainer's learning rate
#: and L2, which the lab tuned with the model).
_TRAIN_SPACE = {
    "train.lr": {"type": "float", "low": 5e-4, "high": 1.5e-2, "log": True},
    "train.weight_decay": {"type": "float", "low": 1e-8, "high": 1e-2, "log": True},
}
_GRU_SPACE = {
    "layers": {"type": "int", "low": 1, "high": 3},
    "bidirectional": {"type": "categorical", "choices": [True, False]},
}
RNNF_SPACE = {
    **_TRAIN_SPACE,
    **_GRU_SPACE,
    "hidden": {"type": "int", "low": 32, "high": 64, "step": 8},
    "dropout": {"type": "float", "low": 0.3, "high": 0.7},
}
NEURAL_ROBERTA_SPACE = {
    **RNNF_SPACE,
    "encoder_dropout": {"type": "float", "low": 0.0, "high": 0.3},
    "norm": {"type": "categorical", "choices": ["pre", "post"]},
}
R_ROBERTA_SPACE = {
    **_TRAIN_SPACE,
    **_GRU_SPACE,
    "rnnf_hidden": RNNF_SPACE["hidden"],
    "rnnf_dropout": RNNF_SPACE["dropout"],
    "roberta_hidden": RNNF_SPACE["hidden"],
    "roberta_dropout": RNNF_SPACE["dropout"],
    "encoder_dropout": NEURAL_ROBERTA_SPACE["encoder_dropout"],
    "norm": NEURAL_ROBERTA_SPACE["norm"],
}

#: Trainer settings each model is tuned for (see the plugin README for the runs behind them).
#: A GRU on a CPU is slow to train (the 180-bin recurrence runs step by step), so the epoch
#: budget is what fits ten minutes on one core: the cosine schedule then ends near the budget.
#: The lab's L2 (5e-7, through Adam) is too small to matter; AdamW's decay here is as light.
_TRAIN = {"weight_decay": 1e-4, "batch_size": 16, "warmup_epochs": 5, "patience": 0, "heldin_only_trials": True}
RNNF_TRAIN = {**_TRAIN, "lr": 0.01, "epochs": 200}
NEURAL_ROBERTA_TRAIN = {**_TRAIN, "lr": 0.005, "epochs": 80}
R_ROBERTA_TRAIN = {**_TRAIN, "lr": 0.005, "epochs": 45}


@hookimpl
def bench_register_models(register) -> None:
    register(
        "rnnf",
        "bench_rnn.model:build_rnnf",
        description="Makin lab RNNf: bidirectional GRU -> feed-forward -> exp over all units and bins",
        defaults=RNNF_DEFAULTS,
        train_defaults=RNNF_TRAIN,
        search_space=RNNF_SPACE,
    )
    register(
        "neural-roberta",
        "bench_rnn.model:build_neural_roberta",
        description="Makin lab Neural RoBERTa: GRU -> feed-forward -> one RoBERTa encoder layer -> feed-forward -> exp",
        defaults=NEURAL_ROBERTA_DEFAULTS,
        train_defaults=NEURAL_ROBERTA_TRAIN,
        search_space=NEURAL_ROBERTA_SPACE,
    )
    register(
        "r-roberta",
        "bench_rnn.model:build_r_roberta",
        description="Makin lab r-RoBERTa: the mean of an RNNf's and a Neural RoBERTa's rates, trained together",
        defaults=R_ROBERTA_DEFAULTS,
        train_defaults=R_ROBERTA_TRAIN,
        search_space=R_ROBERTA_SPACE,
    )
