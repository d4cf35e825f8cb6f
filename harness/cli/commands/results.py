"""``bench results``, ``bench leaderboard``, ``bench submit`` and ``bench score``.

Everything heavy (numpy, h5py, nlb_tools, matplotlib) is imported inside the commands, so
registering them keeps ``bench --help`` fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from harness import hookimpl
from harness.plugin.commands import CommandRegistry
from harness.cli.state import cli_state
from harness.contracts import COSMOOTHING_TASK

console = Console(highlight=False, width=160)

StoreOption = Annotated[
    Optional[Path],
    typer.Option("--store", help="The results store to read (default: $BENCH_HOME/results)."),
]


def _value(record: dict, metric: str, with_split: bool = True) -> str:
    entry = record["metrics"].get(metric)
    if entry is None or entry["value"] is None:
        return "-"
    return f"{entry['value']:.4f}" + (f" {entry['split']}" if with_split else "")


def _metric_column(table: Table, records: list[dict], metric: str) -> bool:
    """Add ``metric``'s column, named by the split its values were scored on when all share one
    (then the cells are bare numbers); returns whether each cell must name its split."""
    splits = {record["metrics"][metric]["split"] for record in records if (record["metrics"].get(metric) or {}).get("value") is not None}
    header = metric if len(splits) != 1 else f"{metric} ({next(iter(splits))})"
    per_cell = len(splits) > 1
    widest = max(len(_value(record, metric, per_cell)) for record in records)
    table.add_column(header, justify="right", min_width=widest)  # the header may wrap, a number is never cut
    return per_cell


def _variant(record: dict) -> str:
    """What tells a run apart from the others of its model x objective: its spec label or search
    trial; for an ensemble its label (the ensembler and its settings, by default); for pooled
    folds the ensembler of the fold models."""
    from harness.leaderboard.board import row_variant

    ensembler = record.get("ensembler")
    if not ensembler:
        return row_variant(record) or "-"
    if record.get("folds"):
        variant = row_variant(record)
        return f"folds by {ensembler}" + (f", {variant}" if variant else "")
    label = str(record["spec"].get("label") or ensembler)
    return label if label.startswith(ensembler) else f"{label} ({ensembler})"


def results_command(
    store: StoreOption = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Only runs on this dataset.")] = None,
    wide: Annotated[
        bool, typer.Option("--wide", help="Also show when each run was made, its dataset, model, objective and seed, on one line each.")
    ] = False,
) -> None:
    """List the run records in the results store, oldest first: one table per task, its columns
    named by the task's metrics. Run ids are shown whole (bench compare and bench report take them)."""
    from harness.cli.console import make_console
    from harness.store.home import results_dir
    from harness.leaderboard.board import format_seconds
    from harness.store.records import read_records, record_task

    console = make_console(wide=wide)
    where = store or results_dir()
    records = [r for r in read_records(store) if dataset is None or r["dataset"]["name"] == dataset]
    if not records:
        console.print(f"no run records{f' on dataset {dataset}' if dataset else ''} in {where} yet: bench run adds them", soft_wrap=True)
        return
    console.print(f"results store: {where}", soft_wrap=False, overflow="fold")  # a long path folds at the width
    by_task: dict[tuple[str, str, str], list[dict]] = {}
    for record in records:
        task = record_task(record)
        by_task.setdefault((task["name"], task["primary_metric"], task["validation_metric"]), []).append(record)
    for (task_name, primary, validation), group in by_task.items():
        table = Table(title=f"bench results: {task_name}", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        # The run id is what the other commands take: never cut; folded onto a second line only
        # where the terminal is too narrow for it and the numbers beside it.
        longest = max(len(r["run_id"]) for r in group)
        needed = longest + 12 + max(len(_value(r, primary)) for r in group) + 8 + 3
        if wide or console.width >= needed:
            table.add_column("run id", no_wrap=True, min_width=longest)
        else:
            table.add_column("run id", overflow="fold")
        if wide:
            for column in ("created", "dataset", "model", "objective", "seed"):
                table.add_column(column, no_wrap=True)
        # wider than this the label folds: the run id and the numbers keep their room
        table.add_column("label / ensembler", overflow="fold", min_width=min(max(len(_variant(r)) for r in group), 12), max_width=None if wide else 14)
        metrics = [primary, validation] if wide else [primary]  # the validation metric on request
        with_split = [_metric_column(table, group, metric) for metric in metrics]
        table.add_column("train time", justify="right", min_width=max(len(format_seconds(r["wall_seconds"])) for r in group))
        for record in group:
            details = []
            if wide:
                details = [record["created"], record["dataset"]["name"], record["model"], record["objective"] or "-", str(record["seed"])]
            table.add_row(
                record["run_id"],
                *details,
                _variant(record),
                *(_value(record, metric, split) for metric, split in zip(metrics, with_split)),
                format_seconds(record["wall_seconds"]),
            )
        console.print(table)


def leaderboard_command(
    ctx: typer.Context,
    store: StoreOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the leaderboards to.")] = Path("leaderboards"),
) -> None:
    """Regenerate the leaderboards (Markdown tables, PNG plots, the static site, record copies) from the results store."""
    from harness.leaderboard import SITE_FOLDER, generate

    written = generate(store, output, host=cli_state(ctx).host)  # each board asks its task through the CLI's plugins
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
