"""``bench run``: train one model with one objective on one dataset, score it, record it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from harness import hookimpl
from harness.cli.commands.run_output import console, fold_line, print_record  # noqa: F401  (print_record: importable from here as before)
from harness.cli.options import DeviceOption, SeedOption, SpecOption
from harness.errors import BenchError
from harness.run.executor import ENGINES
from harness.plugin.commands import CommandRegistry
from harness.cli.state import cli_state
from harness.specs import DEFAULT_DATASET, DEFAULT_MODEL, DEFAULT_OBJECTIVE, RunSpec, load_spec, parse_assignments

if TYPE_CHECKING:
    from harness.plugin.host import Host
    from harness.run.context import RunContext



def run_command(
    ctx: typer.Context,
    spec_files: SpecOption = None,
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
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Several seeds, e.g. 0,1,2: one result per seed (instead of --seed).")] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="Where the runs of several folds, seeds or specs train: sequential (here, one after another) or ray (Ray tasks; pip install 'bench-harness\\[ray]').")
    ] = "sequential",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="With --engine ray: an existing cluster (host:port); default a local one for this command.")] = None,
    task_cpus: Annotated[float, typer.Option("--task-cpus", help="With --engine ray: CPUs per run (its torch threads).")] = 1.0,
    task_gpus: Annotated[float, typer.Option("--task-gpus", help="With --engine ray: GPUs per run (a fraction shares one).")] = 0.0,
) -> None:
    """Train and score a model; an interrupted run resumes when started again with the same settings."""
    from harness.plugin.host import resolve_objective
    from harness.run.batch import with_seeds
    from harness.run.execute import execute

    host = cli_state(ctx).host
    if engine not in ENGINES:
        raise BenchError(f"--engine {engine}: unknown; choose one of {', '.join(ENGINES)}")
    seed_list = parse_seeds(seeds, seed)
    # start from the specs given, else from what the model is tuned for; options below still override
    bases = [load_spec(path) for path in spec_files or ()] or [host.default_spec(model)]
    overrides = parse_assignments(assignments)
    specs = [with_options(base, overrides, dataset=dataset, model=model, objective=objective, seed=seed, device=device, folds=folds, fold=fold,
                          init_from=init_from,
                          max_minutes=max_minutes, epochs=epochs, lr=lr, batch_size=batch_size) for base in bases]
    if not spec_files:
        say_defaults(resolve_objective(host, specs[0]), {"model": model is not None, "dataset": dataset is not None, "objective": objective is not None})
    for spec in specs:
        check_settings(host, spec)  # an unknown --set key fails here, before any data loads

    def run_one(one: RunSpec) -> dict:
        with _LiveProgress(one, enabled=progress) as live:
            record, outcome = execute(host, one, rerun=rerun, on_epoch=live.update, on_status=live.say)
        if outcome is None:
            console.print(f"[dim]{record['run_id']} already completed on {record['created']}; showing its record (--rerun trains again)[/]")
        else:
            console.print(f"[dim]{outcome.stopped_because}; {outcome.epochs} epochs in {outcome.wall_seconds:.1f} s[/]")
        return record

    if engine != "sequential" or len(specs) > 1 or seed_list:
        from harness.cli.commands.run_batch import run_batch

        run_batch(host, with_seeds(specs, seed_list), engine=engine, run_one=run_one, rerun=rerun, ensembler=fold_ensembler,
                  ray_address=ray_address, task_cpus=task_cpus, task_gpus=task_gpus)
        return
    run_single(host, specs[0], run_one, rerun, fold_ensembler)


def with_options(spec: RunSpec, overrides: dict, *, max_minutes, epochs, lr, batch_size, **fields) -> RunSpec:
    """``spec`` with the command line's options and ``--set`` assignments over it."""
    return spec.with_overrides(
        **fields,
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


def parse_seeds(seeds: str | None, seed: int | None) -> list[int] | None:
    """``--seeds 0,1,2`` as a list (None without it); it and ``--seed`` exclude each other."""
    if seeds is None:
        return None
    if seed is not None:
        raise BenchError("--seed and --seeds exclude each other: give the one seed in --seeds")
    try:
        parsed = [int(part) for part in seeds.split(",") if part.strip()]
    except ValueError:
        raise BenchError(f"--seeds {seeds}: expected whole numbers separated by commas, e.g. 0,1,2") from None
    if not parsed or len(set(parsed)) != len(parsed):
        raise BenchError(f"--seeds {seeds}: expected distinct seeds, e.g. 0,1,2")
    return parsed


def run_single(host: Host, spec: RunSpec, run_one, rerun: bool, fold_ensembler: str) -> None:
    """One result, here, as ``bench run`` always ran it: a run, one fold, or K folds pooled."""
    from harness.plugin.host import resolve_objective

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
        console.print(f"[bold]fold {one.fold} of {one.folds}[/]")
        record = run_one(one)
        console.print(fold_line(host, one, record))
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
