"""Registers the ``cutmix`` and ``poisson`` encoding objectives. Light: no torch import here."""

from __future__ import annotations

from harness.api import hookimpl

#: The winner's CutMix settings (alpha 1: the mixing ratio is uniform; half of the windows mixed).
CUTMIX_DEFAULTS = {
    "prob": 0.5,  # chance that a training window is mixed with another
    "alpha": 1.0,  # mixing ratio ~ Beta(alpha, alpha)
    "eps": 1e-8,  # inside the Poisson loss' log
}
POISSON_DEFAULTS = {"eps": 1e-8}

CUTMIX_SEARCH_SPACE = {
    "prob": {"type": "float", "low": 0.0, "high": 1.0},
    "alpha": {"type": "float", "low": 0.2, "high": 2.0, "log": True},
}


@hookimpl
def bench_register_objectives(register) -> None:
    register(
        "cutmix",
        "bench_cutmix.objective:build_cutmix",
        description="CutMix of video windows (box pasted, targets mixed by its area) + Poisson loss, as the Sensorium 2023 winner",
        defaults=CUTMIX_DEFAULTS,
        tasks=("video_encoding",),
        search_space=CUTMIX_SEARCH_SPACE,
    )
    register(
        "poisson",
        "bench_cutmix.objective:build_poisson",
        description="Poisson loss on the video windows as they are (no augmentation)",
        defaults=POISSON_DEFAULTS,
        tasks=("video_encoding",),
    )
