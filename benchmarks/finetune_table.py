"""The fine-tuning table (issue #23): co-bps on a held-out synthetic session, and % of the oracle
(the true rates' co-bps), against the number of fine-tuning trials, for NDT trained from scratch
on that session and NDT pretrained on 1, 4 or 16 sessions of ``lorenz_sessions`` then fine-tuned
(``--init-from``), with NDT's random masks or MtM's; pretraining sessions near (same dynamics),
far (other dynamics) or both.

    .venv/bin/python benchmarks/finetune_table.py                 # the full table (hours of CPU)
    .venv/bin/python benchmarks/finetune_table.py --quick         # what fits a session: ~40 CPU-minutes a seed
    .venv/bin/python benchmarks/finetune_table.py --smoke         # a tiny run of every code path (minutes)

Every cell is an ordinary run (pretraining: a run on a session set; fine-tuning: a run on the
target session with ``--init-from`` and ``train.max_train_trials``), so records, resume and
reuse work as for any run: run it again and finished runs are shown, not retrained. Sets of k
sessions: near ``s00..``, far ``f00..`` (there are four), both = the k near plus up to k far.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

DATASET = "lorenz_sessions"
#: Far sessions of the default set (near ones: 16).
N_FAR = 4


def pretraining_sessions(group: str, k: int, n_far: int = N_FAR) -> list[str]:
    near = [f"s{i:02d}" for i in range(k)]
    far = [f"f{i:02d}" for i in range(min(k, n_far))]
    return {"near": near, "far": far, "both": near + far}[group]


def settings(smoke: bool, quick: bool = False) -> dict[str, Any]:
    if quick:  # half the updates; the near/far/both ablation at 4 sessions only
        return {
            "dataset_config": {},
            "model_config": {},
            "pretrain_steps": 3000, "finetune_steps": 1000, "freeze_core_steps": 100,
            "trials": ["10", "25", "50", "all"], "starts": [("near", 1), ("near", 4), ("near", 16), ("far", 4), ("both", 4)],
            "objectives": ["random", "mtm"],
        }
    if smoke:
        return {
            "dataset_config": {"n_near": 2, "n_far": 1, "n_conditions": 4, "units_min": 10, "units_max": 16},
            "model_config": {"width": 16, "ff_size": 32, "depth": 1},
            "pretrain_steps": 30, "finetune_steps": 20, "freeze_core_steps": 5,
            "trials": ["10", "all"], "sizes": [1], "groups": ["near", "both"], "objectives": ["random", "mtm"],
        }
    return {
        "dataset_config": {},
        "model_config": {},
        "pretrain_steps": 6000, "finetune_steps": 2000, "freeze_core_steps": 200,
        "trials": ["10", "25", "50", "all"], "sizes": [1, 4, 16], "groups": ["near", "far", "both"], "objectives": ["random", "mtm"],
    }


def pretraining_starts(config: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(group, number of sessions) of each pretraining run: the listed ``starts``, else every
    group at every size."""
    return list(config.get("starts") or [(group, k) for group in config["groups"] for k in config["sizes"]])


def run(host, spec) -> Mapping[str, Any]:
    from harness.run.execute import execute

    record, outcome = execute(host, spec, on_status=lambda message: None)
    print(f"  {'trained' if outcome else 'stored '} {record['run_id']}", flush=True)
    return record


def table(host, config: Mapping[str, Any], target: str, seed: int) -> list[dict[str, Any]]:
    from harness.specs import RunSpec

    base = host.default_spec("ndt")
    train = dataclasses.replace(base.train, steps=config["finetune_steps"], patience=0)

    def spec(sessions: Sequence[str], objective: str, **changes: Any) -> RunSpec:
        return RunSpec(
            dataset=DATASET, model="ndt", objective=objective, seed=seed,
            dataset_config={**config["dataset_config"], "sessions": list(sessions)},
            model_config=dict(config["model_config"]), train=changes.pop("train", train), **changes,
        )

    rows = []
    for objective in config["objectives"]:
        starts: list[tuple[str, str | None]] = [("scratch", None)]
        for group, k in pretraining_starts(config):
            sessions = pretraining_sessions(group, k, int(config["dataset_config"].get("n_far", N_FAR)))
            pretrain = spec(sessions, objective, train=dataclasses.replace(train, steps=config["pretrain_steps"]))
            starts.append((f"{group} x{len(sessions)}", run(host, pretrain)["run_id"]))
        for label, init_from in starts:
            row = {"objective": objective, "start": label}
            for trials in config["trials"]:
                few = 0 if trials == "all" else int(trials)
                freeze = config["freeze_core_steps"] if init_from else 0
                one = spec([target], objective, init_from=init_from, train=dataclasses.replace(train, max_train_trials=few, freeze_core_steps=freeze))
                metrics = run(host, one)["metrics"]
                co_bps, oracle = metrics["co-bps"]["value"], (metrics.get("oracle co-bps") or {}).get("value")
                row[trials] = (co_bps, None if not oracle or co_bps is None else 100.0 * co_bps / oracle)
            rows.append(row)
    return rows


def over_seeds(tables: Sequence[Sequence[Mapping[str, Any]]], trials: Sequence[str]) -> list[dict[str, Any]]:
    """The tables of several seeds as one: each cell the list of its seeds' (co-bps, % of oracle)."""
    rows = []
    for same in zip(*tables):
        row = {"objective": same[0]["objective"], "start": same[0]["start"]}
        row.update({t: [one[t] for one in same] for t in trials})
        rows.append(row)
    return rows


def _stat(values: Sequence[float]) -> str:
    mean = statistics.fmean(values)
    return f"{mean:.3f}" if len(values) < 2 else f"{mean:.3f} ± {statistics.stdev(values):.3f}"


def markdown(rows: Sequence[Mapping[str, Any]], trials: Sequence[str], target: str, seeds: int) -> str:
    """Mean ± sd over seeds of co-bps, and the mean % of the oracle, for each cell."""
    header = "| objective | pretrained on | " + " | ".join(f"{t} trials" for t in trials) + " |"
    title = f"co-bps on {DATASET}:{target}, mean ± sd over {seeds} seed(s) (% of the oracle's)"
    lines = [title, "", header, "|---|---|" + "---:|" * len(trials)]
    for row in rows:
        cells = []
        for t in trials:
            values = [value for value, _ in row[t] if value is not None]
            shares = [share for _, share in row[t] if share is not None]
            cells.append("n/a" if not values else _stat(values) + (f" ({statistics.fmean(shares):.0f}%)" if shares else ""))
        lines.append(f"| {row['objective']} | {row['start']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: Sequence[Mapping[str, Any]], trials: Sequence[str], target: str, path: str) -> None:
    """co-bps against fine-tuning trials, one panel per objective, a line per start (mean ± sd)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = list(dict.fromkeys(row["objective"] for row in rows))
    figure, axes = plt.subplots(1, len(objectives), figsize=(5 * len(objectives), 4), sharey=True, squeeze=False)
    for axis, objective in zip(axes[0], objectives):
        for row in (row for row in rows if row["objective"] == objective):
            values = [[v for v, _ in row[t] if v is not None] for t in trials]
            means = [statistics.fmean(v) if v else float("nan") for v in values]
            sds = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]
            axis.errorbar(range(len(trials)), means, yerr=sds, marker="o", capsize=3, label=row["start"])
        axis.set_xticks(range(len(trials)), list(trials))
        axis.set_xlabel(f"fine-tuning trials of {target}")
        axis.set_title(f"pretrained with {objective} masking")
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("co-bps on the held-out session")
    axes[0][-1].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    from harness.plugin.host import Host

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="half the updates, the group ablation at 4 sessions: ~40 CPU-minutes a seed")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: every code path in minutes, numbers meaningless")
    parser.add_argument("--target", default="t00", help="the held-out session fine-tuned and scored")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (finished runs are reused, not retrained)")
    parser.add_argument("--plot", default=None, help="also draw the table as a PNG here")
    args = parser.parse_args(argv)
    config = settings(args.smoke, args.quick)
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    host = Host()
    rows = over_seeds([table(host, config, args.target, seed) for seed in seeds], config["trials"])
    print(markdown(rows, config["trials"], args.target, len(seeds)))
    if args.plot:
        plot(rows, config["trials"], args.target, args.plot)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
