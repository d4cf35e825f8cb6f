"""Registers the ``dwiseneuro`` encoding model. Light on purpose: no torch import until it is built."""

from __future__ import annotations

from harness.api import hookimpl

#: Every hyperparameter of the model; a run's ``model_config`` may override any of them. The
#: winner's layout (features (64,64,64,64,128,128,128,256,256), strides (2,1,1,1,2,1,1,2,1),
#: expansion 7, SE ratio 32, cortex (1024, 2048, 4096), 64x64 frames) scaled down for small frames
#: and 2 CPU cores: see the README for what was measured.
DEFAULTS = {
    "features": [8, 16, 32, 64],  # channels of each inverted residual block (a block widens to the next)
    "strides": [2, 2, 1, 1],  # spatial stride of each block's depth-wise convolution
    "spatial_kernel": 3,
    "temporal_kernel": 5,  # frames
    "causal": True,  # temporal convolutions see only earlier frames (the winner's were symmetric)
    "expansion": 2,  # inverted-residual expansion ratio
    "se_reduce_ratio": 8,  # squeeze-and-excitation bottleneck: expanded channels // ratio
    "cortex": [128, 256],  # widths of the grouped 1x1 "cortex" layers after spatial pooling
    "groups": 2,  # groups of the cortex and readout convolutions (channel shuffle between them)
    "softplus_beta": 1.0,  # fixed; the winner's 0.07 suits responses ~15x larger (see the README)
    # The winner's regularisers (readout dropout 0.4, DropPath 0.1) are options; in a 15-minute CPU
    # budget the model underfits and they cost more than they give (README: 62.6% -> 67.5% of the
    # oracle without them at 25 epochs, 73.1% also without CutMix).
    "readout_dropout": 0.0,  # Dropout1d on the cortex channels before each readout (winner: 0.4)
    "drop_path": 0.0,  # stochastic depth, growing linearly over the blocks (winner: 0.1)
    "window": 16,  # frames per training window (the task reads it from here)
    # Scored frames are predicted by windows 4 frames apart, each giving its last 4 frames (the
    # task reads it): with causal convolutions every such frame still sees 12+ earlier frames,
    # and prediction costs a quarter of the frame-by-frame slide (minutes per run on a CPU).
    "predict_stride": 4,
    "behavior": True,  # behaviour and pupil centre as extra input channels
    # Position codes added before each block: "grid" (rows and columns at frequencies fitted to the
    # frame) learned faster than the winner's 3D sine codes ("winner") on small frames (README).
    "position": "grid",
}

#: What ``bench tune`` samples. Block widths are whole presets of four blocks (the strides stay the
#: defaults'); the readout's beta and the trainer's peak learning rate on log scales.
SEARCH_SPACE = {
    "features": {"type": "categorical", "choices": [[8, 16, 32, 64], [16, 32, 64, 128], [16, 32, 64, 192]]},
    "expansion": {"type": "int", "low": 2, "high": 4},
    "temporal_kernel": {"type": "categorical", "choices": [3, 5, 7]},
    "cortex": {"type": "categorical", "choices": [[128, 256], [256, 512], [128, 256, 512]]},
    "causal": {"type": "categorical", "choices": [True, False]},
    "softplus_beta": {"type": "float", "low": 0.05, "high": 3.0, "log": True},
    "readout_dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "drop_path": {"type": "float", "low": 0.0, "high": 0.3},
    "window": {"type": "categorical", "choices": [8, 16, 24]},
    "position": {"type": "categorical", "choices": ["winner", "grid"]},
    "train.lr": {"type": "float", "low": 1e-3, "high": 2e-2, "log": True},
    "train.weight_decay": {"type": "float", "low": 1e-3, "high": 0.2, "log": True},
}


@hookimpl
def bench_register_models(register) -> None:
    register(
        "dwiseneuro",
        "bench_dwiseneuro.model:build",
        description="DwiseNeuro (Sensorium 2023 winner), scaled down: (2+1)D depth-wise inverted residual core, cortex, per-mouse softplus readouts",
        defaults=DEFAULTS,
        tasks=("video_encoding",),
        # The Poisson loss without CutMix: CutMix (the winner's, `--objective cutmix`) regularises
        # long training on real data; a 15-minute run underfits and learns faster without it.
        default_objective="poisson",
        # AdamW with warmup + cosine and an EMA of the weights, as the winner trained (lr 3e-4 per
        # 4 samples, weight decay 0.05, EMA 0.999 over ~47k updates). In a 15-minute CPU budget
        # more, smaller updates learn faster (batch 8 beat 16 at equal time; 1e-2 beat 3e-3), the
        # EMA looks back ~100 updates; 72 epochs (66 updates each on sensorium_synthetic, ~12.5 s
        # with validation on one free core) plan the cosine to end near a 15-minute budget.
        # Validation every 2nd epoch (~6 s each).
        train_defaults={"lr": 1e-2, "weight_decay": 0.05, "batch_size": 8, "epochs": 72, "warmup_epochs": 1, "ema_decay": 0.99, "eval_every": 2},
        search_space=SEARCH_SPACE,
    )
