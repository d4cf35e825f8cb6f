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


def markdown(rows: Sequence[Mapping[str, Any]], trials: Sequence[str], target: str) -> str:
    header = f"| objective | start | " + " | ".join(f"{t} trials" for t in trials) + " |"
    lines = [f"co-bps on {DATASET}:{target} (% of oracle)", "", header, "|---|---|" + "---:|" * len(trials)]
    for row in rows:
        cells = []
        for t in trials:
            value, share = row[t]
            cells.append("n/a" if value is None else f"{value:.3f}" + ("" if share is None else f" ({share:.0f}%)"))
        lines.append(f"| {row['objective']} | {row['start']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from harness.plugin.host import Host

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="half the updates, the group ablation at 4 sessions: ~40 CPU-minutes a seed")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: every code path in minutes, numbers meaningless")
    parser.add_argument("--target", default="t00", help="the held-out session fine-tuned and scored")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = settings(args.smoke, args.quick)
    rows = table(Host(), config, args.target, args.seed)
    print(markdown(rows, config["trials"], args.target))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
