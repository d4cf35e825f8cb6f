"""Benchmarks that print figures (nothing here asserts a time).

    .venv/bin/python benchmarks/run_benchmarks.py help          # `bench --help` wall time (target < 0.5 s)
    .venv/bin/python benchmarks/run_benchmarks.py throughput    # NDT and LFADS trials/s (forward+backward), peak memory
    .venv/bin/python benchmarks/run_benchmarks.py curves        # val co-bps vs wall time: mtm and random on MC_Maze_Small
    .venv/bin/python benchmarks/run_benchmarks.py curves --model lfads --seeds 3 --reuse   # LFADS x cd (specs/lfads_cd_*.yaml)
    .venv/bin/python benchmarks/run_benchmarks.py synthetic     # default run on lorenz vs its oracle co-bps
    .venv/bin/python benchmarks/run_benchmarks.py rnn           # RNNf, Neural RoBERTa, r-RoBERTa: trials/s, peak memory, 10-min runs
    .venv/bin/python benchmarks/run_benchmarks.py throughput --model rnnf --objective makin   # one model alone
    .venv/bin/python benchmarks/run_benchmarks.py synthetic --model lfads --dataset chaotic_rnn
    .venv/bin/python benchmarks/run_benchmarks.py all
    .venv/bin/python benchmarks/run_benchmarks.py curves --seeds 3 --reuse  # report stored runs, train none
    .venv/bin/python benchmarks/run_benchmarks.py folds --reuse [--target eval_target.h5]
        # 5-fold mtm and random on MC_Maze_Small: pooled co-bps, per-fold values, spread, the fold
        # ensemble's submission scored against a withheld target when one is given (not in `all`)

The same script runs unchanged on a GPU machine (the trainer picks CUDA when present); the device
is printed with every figure. Runs are recorded in the results store like any `bench run`.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The Makin lab's family (plugins/bench-rnn), measured beside NDT.
RNN_MODELS = ("rnnf", "neural-roberta", "r-roberta")
BENCH = str(Path(sys.executable).parent / "bench")


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def bench_help(repeats: int = 7) -> None:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([BENCH, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    print(f"bench --help: median {statistics.median(times):.3f} s, min {min(times):.3f} s over {repeats} runs (target < 0.5 s)")


def throughput(dataset: str = "mc_maze_small", objective: str = "mtm", batch_size: int | None = None, steps: int = 30, model: str = "ndt") -> None:
    """Training steps per second of ``model`` as ``bench run`` builds it: from its spec in
    specs/ when there is one, else from the model's registered defaults and trainer settings."""
    import dataclasses
    import resource

    import numpy as np
    import torch

    from harness.contracts import AuxiliaryLosses
    from harness.plugin.host import Host
    from harness.tasks.nlb.predict import make_batch
    from harness.specs import load_spec

    host = Host()
    spec_path = REPO / "specs" / f"{model}_{objective}_{dataset}.yaml"
    if spec_path.exists():
        spec = load_spec(spec_path)
    else:
        spec = host.default_spec(model).with_overrides(dataset=dataset, objective=objective)
    batch_size = batch_size or spec.train.batch_size
    data = host.dataset(spec.dataset, spec.dataset_config)
    objective_ = host.objective(objective, data, spec.objective_config)
    built = host.model(model, dataclasses.replace(data.shape(), n_prompts=objective_.n_prompts), spec.model_config)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    built.to(device).train()
    optimizer = torch.optim.AdamW(built.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    batch = make_batch(data.train, np.arange(batch_size) % data.train.n_trials, data, device)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def step() -> None:
        masked = objective_.training_batch(batch, generator)
        loss = objective_.loss(built(masked.inputs, masked.prompt), masked)
        if isinstance(built, AuxiliaryLosses):
            loss = loss + sum(built.auxiliary_losses(0, 1).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    n_parameters = sum(p.numel() for p in built.parameters())
    print(f"device: {device_name()}")
    print(f"{model} on {dataset} ({objective}): {n_parameters:,} parameters, batch {batch_size}")
    print(f"  train throughput: {steps * batch_size / seconds:.1f} trials/s ({1000 * seconds / steps:.1f} ms per step, forward+backward)")
    if device == "cuda":
        print(f"  peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.1f} MiB")
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"  peak process RSS: {peak / 1024:.1f} MiB (grew {(peak - rss_before) / 1024:.1f} MiB while training)")


def _run_spec(spec_path: Path, reuse: bool, **overrides) -> dict:
    from harness.run.execute import execute
    from harness.plugin.host import Host
    from harness.specs import load_spec

    spec = load_spec(spec_path).with_overrides(**overrides)
    started = time.perf_counter()
    record, outcome = execute(Host(), spec, rerun=not reuse)
    if outcome is None:
        print(f"  ({record['run_id']}: the stored record of {record['created']})")
    else:
        print(f"  ({record['run_id']}: {time.perf_counter() - started:.0f} s including data and scoring)")
    return record


#: The model/objective pairs ``curves`` trains for each model (a spec in specs/ for each).
CURVE_OBJECTIVES = {"ndt": ("mtm", "random"), "lfads": ("cd",)}


def curves(dataset: str = "mc_maze_small", seeds: int = 1, reuse: bool = False, model: str = "ndt") -> None:
    print(f"device: {device_name()}")
    for objective in CURVE_OBJECTIVES[model]:
        for seed in range(seeds):
            record = _run_spec(REPO / "specs" / f"{model}_{objective}_{dataset}.yaml", reuse, seed=seed)
            history = record["history"]
            marks = [30, 60, 120, 180, 240, 300, 360, 450, 600, 750, 900]
            points = []
            for mark in marks:
                seen = [h["best_val_co_bps"] for h in history if h["elapsed"] <= mark]
                if seen:
                    points.append(f"{mark:>4.0f}s {seen[-1]:.3f}")
            metrics = record["metrics"]
            print(f"{model}/{objective} seed {seed}: best val co-bps {metrics['val_co_bps']['value']:.4f} "
                  f"after {record['epochs']} epochs, {record['wall_seconds']:.0f} s training ({record['stopped_because']})")
            print("  best val co-bps by wall time: " + " | ".join(points))
            masks = {k: v["value"] for k, v in metrics.items() if k.startswith("bps[")}
            if masks:
                print("  mask bps (val): " + ", ".join(f"{k} {v:.3f}" for k, v in masks.items()))


def synthetic(dataset: str = "lorenz", objective: str = "mtm", reuse: bool = False, model: str = "ndt", max_minutes: float | None = None) -> None:
    from harness.cli.commands.data import true_rate_predictions
    from harness.plugin.host import Host
    from harness.tasks.nlb.metrics import score
    print(f"device: {device_name()}")
    host = Host()
    data = host.dataset(dataset)
    oracle = score(data, true_rate_predictions(data))
    from harness.run.execute import execute

    # what `bench run --model MODEL --objective OBJ --dataset DATASET` trains: the model's tuned settings
    spec = host.default_spec(model).with_overrides(dataset=dataset, objective=objective, train={"max_minutes": max_minutes})
    record, _ = execute(host, spec, rerun=not reuse)
    metrics = record["metrics"]
    model_bps, oracle_bps = metrics["co-bps"]["value"], oracle["co-bps"].value
    print(f"{model}/{objective} on {dataset}: co-bps {model_bps:.4f} vs oracle {oracle_bps:.4f} "
          f"= {100 * model_bps / oracle_bps:.1f}% of oracle ({metrics['co-bps']['split']} split), {record['wall_seconds']:.0f} s")
    for name in ("rate R2", "fp-bps", "vel R2", "psth R2"):
        if name in metrics and metrics[name]["value"] is not None:
            print(f"  {name}: {metrics[name]['value']:.4f}")


def folds(dataset: str = "mc_maze_small", k: int = 5, reuse: bool = False, target: Path | None = None) -> None:
    import tempfile

    from harness.run.crossval import cross_validate
    from harness.run.execute import execute
    from harness.plugin.host import Host
    from harness.specs import load_spec
    from harness.tasks.nlb.submission import load_predictions, score_submission, write_submission

    print(f"device: {device_name()}")
    host = Host()
    for objective in ("mtm", "random"):
        spec = load_spec(REPO / "specs" / f"ndt_{objective}_{dataset}.yaml").with_overrides(folds=k)
        record = cross_validate(host, spec, rerun=not reuse, run_fold=lambda one: execute(host, one, rerun=not reuse)[0])
        metrics, spread = record["metrics"], record["folds"]["spread"]
        per_fold = ", ".join(f"{v:.4f}" for v in record["folds"]["per_fold"]["co-bps"])
        print(f"ndt/{objective} {k}-fold ({record['run_id']}): pooled co-bps {metrics['co-bps']['value']:.4f} over "
              f"{metrics['co-bps']['n_trials']} trials, per fold {per_fold} (sd {spread['co-bps']:.4f}); "
              f"{record['wall_seconds'] / 60:.1f} min of training over {k} folds")
        if target is not None:
            data = host.recorded_dataset(record["dataset"], f"run {record['run_id']} was")
            with tempfile.TemporaryDirectory() as folder:
                submission = Path(folder) / "submission.h5"
                write_submission(data, load_predictions(record["paths"]["predictions"]), submission)
                for group, scores in score_submission(submission, target).items():
                    print(f"  fold ensemble on {group} withheld eval: " + ", ".join(f"{m} {v:.4f}" for m, v in scores.items()))


def rnn_family(dataset: str = "mc_maze_small", objective: str = "random", reuse: bool = False) -> None:
    """Each model's throughput (in its own process, so peak memory is its own), then the run that
    `bench run --model M --objective random --dataset mc_maze_small --max-minutes 10` trains."""
    for model in RNN_MODELS:
        subprocess.run([sys.executable, __file__, "throughput", "--model", model, "--objective", objective], check=True)
    from harness.run.execute import execute
    from harness.plugin.host import Host
    from harness.tasks.nlb.predict import training_pool

    host = Host()
    data = host.dataset(dataset)
    for model in RNN_MODELS:
        spec = host.default_spec(model).with_overrides(dataset=dataset, objective=objective, train={"max_minutes": 10})
        record, outcome = execute(host, spec, rerun=not reuse)
        source = f"the stored record of {record['created']}" if outcome is None else "trained now"
        metrics = record["metrics"]
        pool, _ = training_pool(data, spec.train.heldin_only_trials)
        per_second = record["epochs"] * pool.n_trials / record["wall_seconds"]
        print(
            f"{model}/{objective}: val co-bps {metrics['co-bps']['value']:.4f}, vel R2 {metrics['vel R2']['value']:.3f}, "
            f"{record['n_parameters']:,} parameters, {record['epochs']} epochs in {record['wall_seconds']:.0f} s "
            f"= {per_second:.1f} trials/s with validation ({record['stopped_because']}; {record['run_id']}, {source})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["help", "throughput", "curves", "synthetic", "folds", "rnn", "all"])
    parser.add_argument("--model", help="throughput of this model alone (default: NDT, LFADS); the model for curves and synthetic (default ndt)")
    parser.add_argument("--objective", default="random", help="the objective for --model")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="report runs already in the results store instead of training again")
    parser.add_argument("--target", type=Path, help="folds: an NLB eval-target h5 with the withheld held-out spikes")
    parser.add_argument("--dataset", default="lorenz", help="the synthetic dataset for synthetic")
    parser.add_argument("--max-minutes", type=float, default=None, help="time budget of the synthetic run")
    args = parser.parse_args()
    if args.which == "folds":
        folds(reuse=args.reuse, target=args.target)
    if args.which in ("help", "all"):
        bench_help()
    if args.which == "throughput" and args.model:
        throughput("mc_maze_small", args.objective, model=args.model)
    elif args.which in ("throughput", "all"):
        throughput("mc_maze_small", "mtm")
        throughput("mc_maze_small", "random")
        throughput("mc_maze_small", "cd", model="lfads")
    if args.which in ("synthetic", "all"):
        model = args.model or "ndt"
        synthetic(args.dataset, CURVE_OBJECTIVES[model][0], reuse=args.reuse, model=model, max_minutes=args.max_minutes)
    if args.which in ("curves", "all"):
        curves(seeds=args.seeds, reuse=args.reuse, model=args.model or "ndt")
    if args.which in ("rnn", "all"):
        rnn_family(reuse=args.reuse)


if __name__ == "__main__":
    main()
