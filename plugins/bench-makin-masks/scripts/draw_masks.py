"""Draw every mode of the ``makin`` objective on one trial (units x bins) into one PNG.

    .venv/bin/python plugins/bench-makin-masks/scripts/draw_masks.py [--output PATH] [--dataset NAME] [--trial N]

The trial's held-in spikes are drawn in grey, the entries each mode hides (and scores) in colour,
with the objective's registered defaults (``--set KEY=VALUE`` overrides one, e.g. line_axis=units).
Uses MC_Maze_Small when its file is in ../shared/data, else the harness' tiny synthetic dataset.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from bench_makin_masks.masks import MODES
from harness.api import Host, yaml_value
from harness.testing import make_tiny_dataset

HERE = Path(__file__).resolve().parents[1]


def load_trial(dataset: str, trial: int) -> tuple[np.ndarray, str]:
    """Held-in spikes (bins, units) of one train trial, and the dataset's name."""
    try:
        data = Host().dataset(dataset)
    except Exception as error:  # noqa: BLE001 - the picture is still worth drawing on synthetic data
        print(f"{dataset} unavailable ({error}); drawing on the tiny synthetic dataset")
        data = make_tiny_dataset()
    return data.train.heldin[trial], data.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=HERE / "masks.png")
    parser.add_argument("--dataset", default="mc_maze_small")
    parser.add_argument("--trial", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="assignments", action="append", default=[], help="KEY=VALUE for the objective")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.colors import ListedColormap

    from bench_makin_masks.objective import MakinMasking
    from bench_makin_masks.plugin import DEFAULTS

    spikes, name = load_trial(args.dataset, args.trial)
    n_bins, n_units = spikes.shape
    overrides = dict(item.split("=", 1) for item in args.assignments)
    config = {**DEFAULTS, **{key: yaml_value(value) for key, value in overrides.items()}}
    # 0: silent, 1: spike, 2: hidden and silent, 3: hidden spike
    colours = ListedColormap(["#ffffff", "#9a9a9a", "#9ecae1", "#08519c"])
    figure, axes = plt.subplots(2, 3, figsize=(13, 7.5), sharex=True, sharey=True, constrained_layout=True)
    for axis, mode in zip(axes.flat, MODES):
        objective = MakinMasking(make_tiny_dataset(), {**config, "mode": mode})
        hidden = objective.hidden_entries(1, n_bins, n_units, torch.Generator().manual_seed(args.seed))[0].numpy()
        picture = (spikes > 0).astype(int) + 2 * hidden.astype(int)
        axis.imshow(picture.T, aspect="auto", cmap=colours, vmin=0, vmax=3, interpolation="nearest", origin="lower")
        label = "dot (the lab's released mask)" if mode == "dot" else mode.replace("-", " ").removesuffix(" l") + (" L" if mode.endswith("-l") else "")
        axis.set_title(f"{label}: {hidden.mean():.0%} hidden", fontsize=11)
    for axis in axes[1]:
        axis.set_xlabel("bin")
    for axis in axes[:, 0]:
        axis.set_ylabel("held-in unit")
    settings = ", ".join(f"{key} {config[key]}" for key in ("mask_ratio", "length", "strip_length", "line_axis"))
    figure.suptitle(f"makin objective modes on {name} train trial {args.trial} ({settings}); grey: spikes, blue: hidden and scored")
    figure.savefig(args.output, dpi=80)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
