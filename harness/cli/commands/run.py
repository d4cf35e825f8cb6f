"""``bench run``: train one model with one objective on one dataset, score it, record it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness import hookimpl
from harness.cli.options import DeviceOption, SeedOption, SpecOption
from harness.plugin.commands import CommandRegistry
from harness.cli.state import cli_state
from harness.specs import DEFAULT_DATASET, DEFAULT_MODEL, DEFAULT_OBJECTIVE, RunSpec, load_spec, parse_assignments

if TYPE_CHECKING:
    from harness.plugin.host import Host
    from harness.run.context import RunContext

console = Console(highlight=False)


def run_command(
    ctx: typer.Context,
    spec_file: SpecOption = None,
    dataset: Annotated[
        Optional[str],
        typer.Option(
            "--dataset",
            "-d",
            help=f"A registered dataset name (bench data list) or a path to a data file or folder (default: {DEFAULT_DATASET}, synthetic and built in).",
        ),
    ] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help=f"A registered model (bench plugins; default: {DEFAULT_MODEL}).")] = None,
    objective: Annotated[
        Optional[str],
        typer.Option("--objective", help=f"A registered training objective (default: the model's own, else {DEFAULT_OBJECTIVE}).")
    ] = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Wall-clock budget (resumed attempts add up).")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Epoch budget (replaces a spec's or model's step budget).")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Peak learning rate.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Trials per batch.")] = None,
    assignments: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="Override one setting of the dataset, model, objective or trainer, e.g. --set model.depth=2 --set train.patience=20 (repeatable; an unknown key is refused with the known ones)."),
    ] = None,
    folds: Annotated[
        Optional[int], typer.Option("--folds", help="K-fold cross-validation over train + val: K runs, pooled into one result.")
    ] = None,
    fold: Annotated[
        Optional[int], typer.Option("--fold", help="With --folds: run only this fold (0..K-1); pools once every fold is done.")
    ] = None,
    fold_ensembler: Annotated[str, typer.Option("--fold-ensembler", help="Ensembler of the fold models' eval rates.")] = "mean",
    init_from: Annotated[
        Optional[str],
        typer.Option("--init-from", help="Fine-tune: start from the shared core of this finished run (a model registered for sessions; its run id)."),
    ] = None,
    rerun: Annotated[bool, typer.Option("--rerun", help="Train again even if this exact run already completed.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show the live progress bar.")] = True,
) -> None:
    """Train and score a model; an interrupted run resumes when started again with the same settings."""
    from harness.plugin.host import resolve_objective
    from harness.run.execute import execute

    host = cli_state(ctx).host
    if spec_file is not None:
        spec = load_spec(spec_file)
    else:  # start from what the model is tuned for; options below still override
        spec = host.default_spec(model)
    overrides = parse_assignments(assignments)
    spec = spec.with_overrides(
        dataset=dataset,
        model=model,
        objective=objective,
        seed=seed,
        device=device,
        folds=folds,
        fold=fold,
        init_from=init_from,
        dataset_config={**spec.dataset_config, **overrides.get("dataset", {})},
        model_config={**spec.model_config, **overrides.get("model", {})},
        objective_config={**spec.objective_config, **overrides.get("objective", {})},
        train={
            "max_minutes": max_minutes,
            "epochs": epochs,
            "steps": 0 if epochs is not None else None,  # an explicit epoch budget replaces a step budget
            "lr": lr,
            "batch_size": batch_size,
            **overrides.get("train", {}),
        },
    )
    if spec_file is None:
        say_defaults(resolve_objective(host, spec), {"model": model is not None, "dataset": dataset is not None, "objective": objective is not None})
    check_settings(host, spec)  # an unknown --set key fails here, before any data loads

    def run_one(one: RunSpec) -> dict:
        with _LiveProgress(one, enabled=progress) as live:
            record, outcome = execute(host, one, rerun=rerun, on_epoch=live.update, on_status=live.say)
        if outcome is None:
            console.print(f"[dim]{record['run_id']} already completed on {record['created']}; showing its record (--rerun trains again)[/]")
        else:
            console.print(f"[dim]{outcome.stopped_because}; {outcome.epochs} epochs in {outcome.wall_seconds:.1f} s[/]")
        return record

    if not spec.folds:
        print_record(run_one(spec))
        return
    from harness.run.crossval import cross_validate, finished_folds, pool_folds

    host.registries.ensemblers.get(fold_ensembler)  # an unknown name fails before any training
    spec = resolve_objective(host, spec)  # fold run ids name the objective a run really uses
    if spec.fold is not None:  # one fold (e.g. folds spread over machines); pool when all are done
        print_record(run_one(spec))
        done = finished_folds(host, spec)
        if any(record is None for record in done):
            console.print(f"{sum(r is not None for r in done)} of {spec.folds} folds done; the last one pools them")
            return
        print_record(pool_folds(host, spec, done, fold_ensembler))
        return

    def run_fold(one: RunSpec) -> dict:
        from harness.store.records import record_task

        console.print(f"[bold]fold {one.fold} of {one.folds}[/]")
        record = run_one(one)
        validation = record_task(record)["validation_metric"]
        metric = record["metrics"].get(validation, {})
        value = metric.get("value")
        label = host.task(record_task(record)["name"]).validation_label
        console.print(f"fold {one.fold}: {label} {'n/a' if value is None else f'{value:.4f}'} on its own {metric.get('n_trials', 0)} trials")
        return record

    print_record(cross_validate(host, spec, rerun=rerun, ensembler=fold_ensembler, run_fold=run_fold))


def check_settings(host: Host, spec: RunSpec) -> None:
    """Refuse a config key the dataset, model or objective does not have (one line naming it and
    the known ones) without loading anything: the registry entries' defaults say what exists."""
    from harness.plugin.host import merged_config
    from harness.plugin.host import resolve_objective

    host.resolve_dataset(spec.dataset, spec.dataset_config)
    spec = resolve_objective(host, spec)
    merged_config(host.registries.models.get(spec.model), spec.model_config)
    if spec.objective is not None:
        merged_config(host.registries.objectives.get(spec.objective), spec.objective_config)


def say_defaults(spec: RunSpec, given: dict[str, bool]) -> None:
    """One line naming what ``bench run`` picked because the command line did not say (a default
    run on the built-in dataset trains for minutes: the user should know what it is)."""
    picked = {"model": spec.model, "dataset": spec.dataset, "objective": spec.objective}
    picked = {key: value for key, value in picked.items() if not given[key] and value is not None}
    if picked:
        options = "/".join(f"--{key}" for key in picked)
        console.print(f"[dim]defaults: {', '.join(f'{key} {value}' for key, value in picked.items())} ({options} to pick others)[/]")


def print_record(record: dict) -> None:
    """The record as a compact table (metric, value, split, trials): each distinct note is printed
    once below it as a numbered footnote, so no row wraps."""
    from harness.leaderboard.board import ordered_metrics
    from harness.store.records import record_task

    table = Table(title=f"{record['run_id']}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("split")
    table.add_column("trials", justify="right")
    notes: list[str] = []
    for name in ordered_metrics(record["metrics"]):
        metric = record["metrics"][name]
        value = "n/a" if metric["value"] is None else f"{metric['value']:.4f}"
        marker = ""
        if metric.get("note"):
            if metric["note"] not in notes:
                notes.append(metric["note"])
            marker = f" [{notes.index(metric['note']) + 1}]"
        table.add_row(escape(name), value + marker, metric["split"], str(metric["n_trials"]))
    console.print(table)
    for number, note in enumerate(notes, start=1):
        console.print(f"[dim]\\[{number}] {escape(note)}[/]")
    task = record_task(record)
    primary = task["primary_metric"]
    headline = record["metrics"].get(primary) or record["metrics"].get(task["validation_metric"])
    if headline and headline["value"] is not None:
        console.print(f"{primary}: {headline['value']:.4f} ({headline['split']} split, {headline['n_trials']} trials)")
    for name in task_headlines(record):
        line = record["metrics"][name]
        console.print(f"{name}: {line['value']:.4f} ({line['split']} split, {line['n_trials']} trials)")
    folds = record.get("folds")
    if folds:
        per_fold = ", ".join("n/a" if v is None else f"{v:.4f}" for v in folds["per_fold"].get(primary, []))
        spread = folds["spread"].get(primary)
        console.print(f"per fold {primary}: {per_fold}" + ("" if spread is None else f" (sd {spread:.4f})"))
    console.print(f"run dir: {record['paths']['run_dir']}")


def task_headlines(record: dict) -> list[str]:
    """Metrics printed under the primary one: its oracle (the ceiling a synthetic dataset knows)
    and the share of it reached, where the record has them."""
    primary = record_task_primary(record)
    return [name for name in (f"oracle {primary}", "% of oracle") if (record["metrics"].get(name) or {}).get("value") is not None]


def record_task_primary(record: dict) -> str:
    from harness.store.records import record_task

    return record_task(record)["primary_metric"]


class _LiveProgress:
    """A rich progress bar with the live loss and the metric the run's plan selects by (val
    co-bps for NLB, val correlation for encoding)."""

    def __init__(self, spec: RunSpec, enabled: bool):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  {task.fields[metric]} {task.fields[bps]}  best {task.fields[best]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self.task = self.progress.add_task(f"{spec.model}/{spec.objective}", total=spec.train.epochs, loss="-", metric="val", bps="-", best="-")

    def __enter__(self) -> _LiveProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def update(self, run: RunContext, epoch: int, metrics: dict[str, float]) -> None:
        selection = run.plan.selection_metric
        self.progress.update(
            self.task,
            total=metrics.get("epochs_planned"),
            completed=epoch + 1,
            loss=f"{metrics['train_loss']:.4f}",
            metric=run.plan.selection_label,
            bps=f"{metrics[selection]:.4f}",
            best=f"{metrics[f'best_{selection}']:.4f}",
        )

    def say(self, message: str) -> None:
        self.progress.console.print(f"[dim]{message}[/]")


@hookimpl
def bench_register_commands(cli: CommandRegistry) -> None:
    cli.app.command("run")(run_command)
