"""``bench results``, ``bench leaderboard``, ``bench submit`` and ``bench score``.

Everything heavy (numpy, h5py, nlb_tools, matplotlib) is imported inside the commands, so
registering them keeps ``bench --help`` fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from harness import hookimpl
from harness.cli.registry import CommandRegistry
from harness.cli.state import cli_state
from harness.contracts import COSMOOTHING_TASK

console = Console(highlight=False, width=160)

StoreOption = Annotated[
    Optional[Path],
    typer.Option("--store", help="The results store to read (default: $BENCH_HOME/results)."),
]


def _value(record: dict, metric: str) -> str:
    entry = record["metrics"].get(metric)
    if entry is None or entry["value"] is None:
        return "-"
    return f"{entry['value']:.4f} ({entry['split']})"


def _task_values(record: dict) -> tuple[str, str]:
    """The record's primary and validation metrics (co-bps and val_co_bps for NLB), named in the
    cell when they are another task's."""
    from harness.store.records import LEGACY_TASK, record_task

    task = record_task(record)
    cells = []
    for key in ("primary_metric", "validation_metric"):
        cell = _value(record, task[key])
        cells.append(cell if task[key] == LEGACY_TASK[key] or cell == "-" else f"{cell} {task[key]}")
    return cells[0], cells[1]


def results_command(
    store: StoreOption = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Only runs on this dataset.")] = None,
) -> None:
    """List the run records in the results store, oldest first."""
    from harness.store.home import results_dir
    from harness.store.records import read_records

    records = [r for r in read_records(store) if dataset is None or r["dataset"]["name"] == dataset]
    table = Table(title=f"bench results ({store or results_dir()})")
    for column in ("run id", "created", "dataset", "model", "objective", "seed", "co-bps", "val_co_bps", "train time"):
        table.add_column(column)
    for record in records:
        table.add_row(
            record["run_id"],
            record["created"],
            record["dataset"]["name"],
            record["model"],
            record["objective"] or "-",
            str(record["seed"]),
            *_task_values(record),
            f"{record['wall_seconds']:.1f} s",
        )
    console.print(table)
    if not records:
        console.print("no run records" + (f" on dataset {dataset}" if dataset else "") + " yet: bench run adds them")


def leaderboard_command(
    store: StoreOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the leaderboards to.")] = Path("leaderboards"),
) -> None:
    """Regenerate the leaderboards (Markdown tables, PNG plots, record copies) from the results store."""
    from harness.leaderboard.board import SITE_FOLDER, generate

    written = generate(store, output)
    site = output / SITE_FOLDER
    tables = [path for path in written if path.parent == output]
    copies = [path for path in written if path.parent == output / "records" and path.suffix == ".json"]
    pages = [path for path in written if site in path.parents and path.suffix == ".html"]
    for path in tables:
        console.print(f"wrote {path}")
    console.print(f"copied {len(copies)} run records to {output / 'records'}")
    console.print(f"wrote {len(pages)} pages of the site: open {site / 'index.html'}")


def submit_command(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="A run id (or a unique prefix), or 'latest'.")] = "latest",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Submission file or folder (default: <run id>-submission, with the task's suffix: .h5 for NLB).")] = None,
    store: StoreOption = None,
) -> None:
    """Write a run's predictions in its task's submission layout: an NLB/EvalAI h5 file for NLB
    co-smoothing; for video encoding a folder with one file per mouse of the eval trials' ids,
    neuron ids and predictions (the Sensorium 2023 competition's layout)."""
    from harness.store.records import find_record, predictions_path

    host = cli_state(ctx).host
    record = find_record(run_id, store)
    data = host.recorded_dataset(record["dataset"], f"run {record['run_id']} was")
    task = host.task_of(data)
    predictions = task.load_predictions(predictions_path(record))
    output = output if output is not None else Path(f"{record['run_id']}-submission{task.submission_suffix}")
    shapes = task.write_submission(data, predictions, output)
    console.print(f"wrote {output}: {task.submission_description(data)} from run {record['run_id']}")
    for name, shape in shapes.items():
        console.print(f"  {name} {shape}")


def score_command(
    ctx: typer.Context,
    submission: Annotated[Path, typer.Argument(help="A submission file (bench submit writes one).")],
    target: Annotated[Path, typer.Argument(help="A target file of the task (NLB: an eval-target h5 with at least eval_spikes_heldout).")],
    task_name: Annotated[str, typer.Option("--task", help="The task whose submission layout the file has.")] = COSMOOTHING_TASK,
) -> None:
    """Score a submission file against a target file, as its task does (NLB: with nlb_tools)."""
    from harness.errors import BenchError

    task = cli_state(ctx).host.task(task_name)
    scores = task.score_submission(submission, target)
    if scores is None:
        raise BenchError(f"bench score: task {task.name} scores no submission files")
    table = Table(title=f"{submission.name} against {target.name}")
    for column in ("dataset", "metric", "value"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for group, metrics in scores.items():
        for metric, value in metrics.items():
            arrow = "↑" if task.higher_is_better(metric) else "↓"
            table.add_row(group, f"{metric} {arrow}", f"{value:.4f}")
    console.print(table)


@hookimpl
def bench_register_commands(cli: CommandRegistry) -> None:
    cli.app.command("results")(results_command)
    cli.app.command("leaderboard")(leaderboard_command)
    cli.app.command("submit")(submit_command)
    cli.app.command("score")(score_command)
