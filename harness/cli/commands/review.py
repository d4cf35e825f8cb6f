"""``bench report``, ``bench rescore`` and ``bench compare``: looking at finished runs.

Heavy imports (numpy, h5py, matplotlib, nlb_tools) happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness import hookimpl
from harness.plugin.commands import CommandRegistry
from harness.cli.state import cli_state
from harness.cli.commands.results import StoreOption
from harness.errors import BenchError

console = Console(highlight=False, width=160)

RunArgument = Annotated[str, typer.Argument(help="A run id (or a unique prefix), or 'latest'.")]


def report_command(
    ctx: typer.Context,
    run_id: RunArgument = "latest",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Where to write the PNG (default: the task's report figure in the run dir).")] = None,
    store: StoreOption = None,
) -> None:
    """Draw a run's report, where its task draws one (NLB co-smoothing: rasters against predicted
    rates, PSTHs, per-unit co-bps, the val curve)."""
    from harness.store.atomic import write_bytes
    from harness.store.records import find_record, predictions_path, record_task

    host = cli_state(ctx).host
    record = find_record(run_id, store)
    task = host.task(record_task(record)["name"])
    if task.report_figure is None:
        raise BenchError(f"bench report: task {task.name} draws no report figure")
    data = host.recorded_dataset(record["dataset"], f"run {record['run_id']} was")
    figure = task.render_report(record, data, task.load_predictions(predictions_path(record)))
    path = output if output is not None else Path(record["paths"]["run_dir"]) / task.report_figure
    write_bytes(path, figure)
    console.print(f"wrote {path} ({len(figure) // 1024} KiB); bench leaderboard shows it on the run's page")


def rescore_command(
    ctx: typer.Context,
    run_id: Annotated[Optional[str], typer.Argument(help="A run id (or a unique prefix), or 'latest'.")] = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Every record in the store.")] = False,
    store: StoreOption = None,
) -> None:
    """Score finished runs again from their saved predictions, adding the metrics their records lack."""
    import warnings

    from harness.run.rescore import rescore
    from harness.store.records import find_record, read_records

    if all_runs == (run_id is not None):
        raise BenchError("give one run id, or --all for every record in the store")
    if all_runs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            records = read_records(store)
    else:
        records = [find_record(run_id, store)]
    host = cli_state(ctx).host
    failed = 0
    for record in records:
        try:
            added = rescore(host, record, store)
        except BenchError as error:
            failed += 1
            console.print(f"[red]{record['run_id']}: not rescored:[/] {escape(str(error))}")
            continue
        console.print(f"{record['run_id']}: " + (f"added {', '.join(added)}" if added else "nothing to add"))
    if failed:
        raise BenchError(f"{failed} of {len(records)} runs could not be rescored (see above)")


def compare_command(
    # typer renders help as rich markup: the brackets are escaped, or rich reads them as tags
    first: Annotated[str, typer.Argument(help=escape("A: a run id (or prefix, or 'latest') or MODEL[/OBJECTIVE[/ENSEMBLER]]."))],
    second: Annotated[str, typer.Argument(help="B: the same kinds as A.")],
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Only runs on this dataset.")] = None,
    store: StoreOption = None,
) -> None:
    """Two runs or groups side by side per metric, with the seed spread: is the difference noise?"""
    from harness.leaderboard.compare import NOISE_STANDARD_ERRORS, comparison_rows, resolve

    from harness.store.records import cut_short, read_records

    a, b = resolve(first, store, dataset), resolve(second, store, dataset)
    by_id = {record["run_id"]: record for record in read_records(store)} if any("folds" in r for r in a.records + b.records) else {}
    datasets = {(r["dataset"]["name"], r["dataset"]["checksum"]) for r in a.records + b.records}
    table = Table(title=f"A: {a.label}   B: {b.label}", title_justify="left")
    for column in ("metric", "A", "B", "B - A", "verdict"):
        table.add_column(column, justify="left" if column in ("metric", "verdict") else "right")
    for row in comparison_rows(a, b):
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)
    console.print(
        f"[dim]mean ± sd over seeds; a difference under {NOISE_STANDARD_ERRORS:g} standard errors "
        "(sqrt(sd_A²/n_A + sd_B²/n_B)) is within noise; two K-fold results on the same folds are judged by "
        "their paired per-fold differences (mean ± its standard error over folds)[/]"
    )
    for name, side in (("A", a), ("B", b)):  # a result the wall-clock cap cut short stands for less training than its budget
        reasons = [reason for record in side.records if (reason := cut_short(record, by_id))]
        if reasons:
            console.print(f"[yellow]warning:[/] {name} was {escape(reasons[0])}: the boards list it unranked")
    if len(datasets) > 1:
        console.print("[yellow]warning:[/] A and B were not scored on the same data: " + ", ".join(f"{n} ({c[:8]})" for n, c in sorted(datasets)))


@hookimpl
def bench_register_commands(cli: CommandRegistry) -> None:
    cli.app.command("report")(report_command)
    cli.app.command("rescore")(rescore_command)
    cli.app.command("compare")(compare_command)
