"""The mask-variant table: rnnf trained with every ``makin`` mode and every ``random`` mode.

    # train what is missing of one cell (or all), then print the table of what is stored
    .venv/bin/python plugins/bench-makin-masks/scripts/mask_table.py --cell makin:strip-l --seeds 0 1 2
    # print the table only
    .venv/bin/python plugins/bench-makin-masks/scripts/mask_table.py --report
    # a reduced budget is a different experiment (another run id): say so with --epochs
    .venv/bin/python plugins/bench-makin-masks/scripts/mask_table.py --epochs 60 --max-minutes 3

Each cell is an ordinary run (`bench run --model rnnf --objective OBJ --set objective.mode=MODE`,
labelled MODE so that it is a leaderboard row of its own) with rnnf's registered trainer settings,
recorded in BENCH_HOME's results store; a completed run is reported, not trained again. run_mask_table.sh queues every cell x seed two at a time.
"""

from __future__ import annotations

import argparse
import statistics

from harness.api import Host, completed_record, execute, run_identity

MODEL = "rnnf"
CELLS = (
    ("makin", "dot"),
    ("makin", "dot-line"),
    ("makin", "dot-strip-line"),
    ("makin", "strip-line"),
    ("makin", "dot-l"),
    ("makin", "strip-l"),
    ("random", "timestep"),
    ("random", "neuron"),
    ("random", "full"),
)


def spec_for(host: Host, objective: str, mode: str, seed: int, args: argparse.Namespace):
    train = {"max_minutes": args.max_minutes}
    if args.epochs:  # an explicit epoch budget replaces a step budget, as `bench run --epochs` does
        train.update(epochs=args.epochs, steps=0)
    # labelled by its mode: each cell is a leaderboard row of its own (rnnf [dot-l] x makin), not
    # one more seed of the rnnf x makin row
    return host.default_spec(MODEL).with_overrides(
        dataset=args.dataset, objective=objective, objective_config={"mode": mode}, seed=seed, train=train, label=mode
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mc_maze_small")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cell", action="append", help="OBJECTIVE:MODE to train (repeatable; default every cell)")
    parser.add_argument("--epochs", type=int, default=0, help="a reduced epoch budget (default: rnnf's registered one)")
    parser.add_argument("--max-minutes", type=float, default=10.0)
    parser.add_argument("--report", action="store_true", help="train nothing, print what is stored")
    args = parser.parse_args()

    host = Host()
    wanted = CELLS if not args.cell else tuple(tuple(cell.split(":", 1)) for cell in args.cell)
    if not args.report:
        for objective, mode in wanted:
            for seed in args.seeds:
                record, _ = execute(host, spec_for(host, objective, mode, seed, args))
                print(f"{objective}:{mode} seed {seed}: val co-bps {record['metrics']['co-bps']['value']:.4f} ({record['run_id']})")

    budget = f"{args.epochs} epochs" if args.epochs else "rnnf's registered budget"
    print(f"\n{MODEL} on {args.dataset}, val co-bps ({budget}, at most {args.max_minutes:g} min each)\n")
    print("| objective | mode | val co-bps (mean ± sd) | seeds | per seed | wall s (mean) |")
    print("|---|---|---|---|---|---|")
    for objective, mode in CELLS:
        records = [completed_record(run_identity(host, spec_for(host, objective, mode, seed, args))) for seed in args.seeds]
        records = [record for record in records if record is not None]
        if not records:
            print(f"| {objective} | {mode} | not run | 0 | | |")
            continue
        values = [record["metrics"]["co-bps"]["value"] for record in records]
        spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
        each = " / ".join(f"{value:.4f}" for value in values)
        wall = statistics.fmean(record["wall_seconds"] for record in records)
        print(f"| {objective} | {mode} | {statistics.fmean(values):.4f}{spread} | {len(values)} | {each} | {wall:.0f} |")


if __name__ == "__main__":
    main()
