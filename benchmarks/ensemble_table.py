"""The ensembler table: every ensembler over one pool of finished runs, in-sample against
cross-fitted val co-bps (and withheld eval co-bps where they were scored outside).

    .venv/bin/python benchmarks/ensemble_table.py --dataset mc_maze_small --build   # run bench ensemble for each row, then print
    .venv/bin/python benchmarks/ensemble_table.py --dataset mc_maze_small           # print from the stored records only
    .venv/bin/python benchmarks/ensemble_table.py --dataset mc_maze_small --submit /work/submissions
    .venv/bin/python benchmarks/ensemble_table.py --dataset mc_maze_small --withheld scores.json

The pool is every complete single run on the dataset except the smoothing baseline (``--models``
narrows or widens it). ``--build`` runs ``bench ensemble`` once per row of ROWS (records land in
$BENCH_HOME like any ensemble); ``--submit DIR`` writes each ensemble's NLB submission file with
``bench submit``; ``--withheld FILE`` reads a JSON object {run id: eval co-bps} scored on the
withheld trials and adds a column, plus how well each val figure orders the ensemblers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH = str(Path(sys.executable).parent / "bench")
BASELINE_MODEL = "smoothing"

#: The ensemblers compared, as (ensembler, settings); ``mean`` top-N is added with N half the pool.
ROWS: list[tuple[str, dict[str, Any]]] = [
    ("mean", {}),
    ("stacking", {}),  # Poisson fit on log-rates, ridge
    ("stacking", {"penalty": "lasso"}),
    ("stacking", {"space": "rates"}),  # Poisson fit on rates (a weighted mixture), ridge
    ("stacking", {"fit": "least-squares", "space": "rates"}),  # scikit-learn Ridge(positive=True)
    ("stacking", {"fit": "least-squares", "space": "rates", "penalty": "lasso"}),  # Lasso(positive=True)
    ("per-neuron", {"top": 1}),
    ("per-neuron", {}),  # top=2
]


def pool(records: Sequence[Mapping[str, Any]], dataset: str, models: set[str] | None) -> list[Mapping[str, Any]]:
    return [
        r
        for r in records
        if r["ensembler"] is None
        and r["spec"].get("fold") is None  # one fold of a bench run --folds result
        and "folds" not in r  # a pooled K-fold record
        and r["status"] == "complete"
        and r["dataset"]["name"] == dataset
        and (r["model"] in models if models else r["model"] != BASELINE_MODEL)
    ]


def value(record: Mapping[str, Any], metric: str) -> float | None:
    entry = record["metrics"].get(metric)
    return None if entry is None else entry["value"]


def build(members: Sequence[str], store: str | None, folds: int) -> None:
    for ensembler, settings in [*ROWS[:1], ("mean", {"top": max(1, len(members) // 2)}), *ROWS[1:]]:
        command = [BENCH, "ensemble", *members, "--ensembler", ensembler, "--folds", str(folds)]
        command += [f"--set={key}={value}" for key, value in settings.items()]
        command += ["--store", store] if store else []
        print("$", " ".join(command[1:]), file=sys.stderr, flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def ensembles_of(records: Sequence[Mapping[str, Any]], members: Sequence[str]) -> list[Mapping[str, Any]]:
    """The newest record of each ensembler label over exactly these members."""
    wanted = sorted(members)
    newest: dict[str, Mapping[str, Any]] = {}
    for record in records:  # oldest first
        if record["ensembler"] and sorted(record["spec"].get("members", [])) == wanted:
            newest[record["spec"].get("label", record["ensembler"])] = record
    return list(newest.values())


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Rank agreement of two orderings of the same items (1: same order, -1: reversed)."""
    pairs = [(i, j) for i in range(len(a)) for j in range(i + 1, len(a))]
    sign = lambda x: (x > 0) - (x < 0)  # noqa: E731
    agree = sum(sign(a[i] - a[j]) * sign(b[i] - b[j]) for i, j in pairs)
    return agree / len(pairs) if pairs else float("nan")


def table(single: Sequence[Mapping[str, Any]], ensembles: Sequence[Mapping[str, Any]], withheld: Mapping[str, float]) -> str:
    def withheld_of(record: Mapping[str, Any]) -> float | None:
        return next((score for run_id, score in withheld.items() if record["run_id"].startswith(run_id)), None)

    with_withheld = any(withheld_of(r) is not None for r in [*single, *ensembles])
    header = ["ensembler", "in-sample val co-bps", "cross-fitted val co-bps", "optimism"]
    header += ["withheld eval co-bps"] if with_withheld else []
    header += ["record"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 2) + "---|"]

    def fmt(x: float | None) -> str:
        return "—" if x is None else f"{x:.4f}"

    for record in sorted(ensembles, key=lambda r: -(value(r, "val_co_bps") or float("-inf"))):
        in_sample, crossed = value(record, "val_co_bps (in-sample)"), value(record, "val_co_bps")
        optimism = None if in_sample is None or crossed is None else in_sample - crossed
        cells = [record["spec"].get("label", record["ensembler"]), fmt(in_sample), fmt(crossed), fmt(optimism)]
        cells += [fmt(withheld_of(record))] if with_withheld else []
        cells += [f"`{record['run_id']}`"]
        lines.append("| " + " | ".join(cells) + " |")
    scores = [value(r, "val_co_bps") for r in single]
    scores = [s for s in scores if s is not None]
    for label, figure, chosen in (
        ("single runs, mean", statistics.fmean(scores), None),
        ("single runs, best on val", max(scores), max(single, key=lambda r: value(r, "val_co_bps") or float("-inf"))),
    ):
        cells = [label, "—", fmt(figure), "—"]
        cells += [fmt(withheld_of(chosen) if chosen else None)] if with_withheld else []
        cells += [f"`{chosen['run_id']}`" if chosen else f"{len(scores)} runs"]
        lines.append("| " + " | ".join(cells) + " |")

    scored = [r for r in ensembles if withheld_of(r) is not None]
    if len(scored) >= 3:
        truth = [withheld_of(r) for r in scored]
        lines += [
            "",
            f"Ordering of the {len(scored)} ensembles against their withheld eval co-bps (Kendall tau): "
            f"in-sample {kendall_tau([value(r, 'val_co_bps (in-sample)') for r in scored], truth):.3f}, "
            f"cross-fitted {kendall_tau([value(r, 'val_co_bps') for r in scored], truth):.3f}.",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mc_maze_small")
    parser.add_argument("--models", help="comma-separated models in the pool (default: all but the smoothing baseline)")
    parser.add_argument("--store", help="results store (default: $BENCH_HOME/results)")
    parser.add_argument("--folds", type=int, default=5, help="cross-fitting folds for --build")
    parser.add_argument("--build", action="store_true", help="run bench ensemble for every row first")
    parser.add_argument("--submit", type=Path, help="write each ensemble's submission file into this folder")
    parser.add_argument("--withheld", type=Path, help="JSON {run id (or prefix): withheld eval co-bps}")
    args = parser.parse_args()

    from harness.store.records import read_records

    models = set(args.models.split(",")) if args.models else None
    members = [r["run_id"] for r in pool(read_records(args.store), args.dataset, models)]
    if len(members) < 2:
        sys.exit(f"the pool on {args.dataset} has {len(members)} finished runs; an ensemble needs at least two")
    if args.build:
        build(members, args.store, args.folds)
    records = read_records(args.store)
    single = [r for r in records if r["run_id"] in members]
    ensembles = ensembles_of(records, members)
    if args.submit:
        args.submit.mkdir(parents=True, exist_ok=True)
        for record in ensembles:
            command = [BENCH, "submit", record["run_id"], "--output", str(args.submit / f"{record['run_id']}.h5")]
            command += ["--store", args.store] if args.store else []
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            print(f"wrote {args.submit / (record['run_id'] + '.h5')} ({record['spec'].get('label')})", file=sys.stderr)
    withheld = json.loads(args.withheld.read_text()) if args.withheld else {}
    print(f"Pool: {len(members)} runs on {args.dataset}: " + ", ".join(f"`{m}`" for m in members))
    print()
    print(table(single, ensembles, withheld))


if __name__ == "__main__":
    main()
