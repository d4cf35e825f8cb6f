"""``bench tune``: a Bayesian hyperparameter search whose trials are ordinary bench runs.

Optuna is imported inside the command, so registering it keeps ``bench --help`` fast.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness import hookimpl
from harness.cli.options import DatasetOption, DeviceOption, SeedOption
from harness.plugin.commands import CommandRegistry
from harness.cli.state import cli_state
from harness.errors import BenchError, SpecError
from harness.plugin.host import Host

console = Console(highlight=False, soft_wrap=True)  # tables as wide as the terminal, messages unwrapped


def tune_command(
    ctx: typer.Context,
    spec_file: Annotated[Optional[Path], typer.Option("--spec", help="A search spec (kind: search) or a run spec to search around.")] = None,
    dataset: DatasetOption = None,
    models: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="A model to search (repeatable: several make families).")] = None,
    objectives: Annotated[Optional[list[str]], typer.Option("--objective", help="An objective to search (repeatable).")] = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    folds: Annotated[Optional[int], typer.Option("--folds", help="Score each trial by K-fold cross-validation (its pooled validation metric), as bench run --folds K; 0: the one split. Default: the task's K where the dataset withholds its eval targets (5 on mc_maze_small).")] = None,
    fixed: Annotated[Optional[list[str]], typer.Option("--set", help="Fix a parameter instead of sampling it, e.g. --set train.steps=2000 --set ndt.depth=2.")] = None,
    trials: Annotated[Optional[int], typer.Option("--trials", "-n", help="Trials in the study (all workers together).")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Wall-clock budget of this worker's part of the study.")] = None,
    trial_minutes: Annotated[Optional[float], typer.Option("--trial-minutes", help="Wall-clock budget of each trial.")] = None,
    sampler: Annotated[Optional[str], typer.Option("--sampler", help="tpe (default), gp, random, or pbt (population-based training; with --engine ray).")] = None,
    sampler_seed: Annotated[Optional[int], typer.Option("--sampler-seed", help="Seed of the sampler (default 0).")] = None,
    pruner: Annotated[Optional[str], typer.Option("--pruner", help="median (default), hyperband or none.")] = None,
    storage: Annotated[Optional[str], typer.Option("--storage", help="A database URL, e.g. postgresql://user@host/db (default: SQLite under BENCH_HOME).")] = None,
    study_name: Annotated[Optional[str], typer.Option("--study-name", help="The study to create or join (default: from the search spec).")] = None,
    heartbeat: Annotated[float, typer.Option("--heartbeat", help="Seconds between a running trial's heartbeats; a trial silent for three is run again.")] = 30.0,
    ensemble: Annotated[Optional[str], typer.Option("--ensemble", help="Then ensemble the top N runs (a number, or 'auto': N chosen on val).")] = None,
    ensembler: Annotated[str, typer.Option("--ensembler", "-e", help="The ensembler plugin for --ensemble.")] = "mean",
    top: Annotated[int, typer.Option("--top", help="Rows in the table of best trials.")] = 10,
    best_spec: Annotated[Optional[Path], typer.Option("--best-spec", help="Write the best trial's run spec here (for bench run --spec).")] = None,
    baseline: Annotated[Optional[bool], typer.Option("--baseline/--no-baseline", help="Start a new study with the configuration as it stands (the plugins' defaults) as its first trial.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="sequential (Optuna here, or shared through --storage) or ray (Ray Tune: --sampler tpe or pbt; pip install 'bench-harness\\[ray]').")] = "sequential",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="With --engine ray: an existing cluster (host:port); default a local one for this command.")] = None,
    task_cpus: Annotated[float, typer.Option("--task-cpus", help="With --engine ray: CPUs per trial (its torch threads).")] = 1.0,
    task_gpus: Annotated[float, typer.Option("--task-gpus", help="With --engine ray: GPUs per trial (a fraction shares one).")] = 0.0,
) -> None:
    """Search hyperparameters with Optuna: each trial is a bench run (recorded, resumable); run it again, or on more machines with --storage, to continue or share the study."""
    from harness.search.study import default_storage_url, make_pruner, make_sampler, objective_label, open_storage, open_study
    from harness.search.worker import Budgets, Worker, ensemble_top, protocol_search, selection_label
    from harness.search.space import build_plan

    host = cli_state(ctx).host
    if ensemble is not None and ensemble != "auto" and not (ensemble.isdigit() and int(ensemble) >= 2):
        raise BenchError(f"--ensemble {ensemble}: expected a number >= 2 or 'auto'")
    search = search_from_options(
        host, spec_file, dataset=dataset, models=models, objectives=objectives, seed=seed, device=device, folds=folds, fixed=fixed,
        trials=trials, max_minutes=max_minutes, trial_minutes=trial_minutes, sampler=sampler, sampler_seed=sampler_seed, pruner=pruner,
        baseline=baseline,
    )
    if engine not in ("sequential", "ray"):
        raise BenchError(f"--engine {engine}: unknown; choose sequential or ray")
    if engine == "ray" and (storage or ensemble or study_name):
        raise BenchError("--engine ray keeps its study in Ray Tune's folder under BENCH_HOME: --storage, --study-name and --ensemble are for the Optuna engine (bench ensemble RUN_ID... combines its runs)")
    if search.sampler["name"] == "pbt" and engine != "ray":
        raise BenchError("--sampler pbt: population-based training runs on Ray Tune; add --engine ray")
    if search.sampler["name"] == "pbt":  # a member trains on one split: its weights move between members mid-run
        search = replace(search, folds=0)
    search, task = protocol_search(host, search)  # what the study optimises, which way, on how many folds
    plan = build_plan(host, search)
    name = study_name or search.study or default_study_name(search, spec_file)
    if engine == "ray":
        from harness.cli.commands.tune_ray import tune_on_ray

        tune_on_ray(host, plan, search, task, name, address=ray_address, task_cpus=task_cpus, task_gpus=task_gpus, best_spec=best_spec, top=top)
        return
    url = storage or default_storage_url()
    study = open_study(open_storage(url, heartbeat), name, plan, make_sampler(search.sampler, source=search.source), make_pruner(search.pruner, source=search.source), task=task)
    console.print(
        f"study [bold]{escape(name)}[/] ({url.split(':', 1)[0]}): {search.trials} trials of "
        f"{', '.join(f.label for f in search.families)} on {search.base.dataset}, sampler {search.sampler['name']}, pruner {search.pruner['name']}, "
        f"{study.direction.name.lower()} {objective_label(study)}; selects on {selection_label(search, task)}"
    )
    worker = Worker(host, plan, study, Budgets(search.trials, search.max_minutes, search.trial_max_minutes), storage_url=url, heartbeat_seconds=heartbeat, say=lambda m: console.print(escape(m)))
    report = worker.run()
    console.print(f"[dim]this worker ran {len(report.ran)} trial(s) in {report.wall_seconds / 60:.1f} min; {report.stopped_because}[/]")
    print_study(study, top)
    if best_spec is not None:
        write_best_spec(study, best_spec)
    if ensemble is not None:
        from harness.cli.commands.run import print_record

        record = ensemble_top(host, study, ensemble if ensemble == "auto" else int(ensemble), ensembler, say=lambda m: console.print(escape(m)))
        print_record(record)


def search_from_options(host: Host, spec_file: Path | None, **options: Any):
    """The search spec the command line asks for: a search spec file, a run spec to search
    around, or --model/--objective/--dataset like ``bench run``; options override the file."""
    from dataclasses import replace

    from harness.search.spec import Family, SearchSpec, choice_setting, is_search_file, load_search_spec
    from harness.specs import load_spec, yaml_value

    if spec_file is not None and is_search_file(spec_file):
        search = load_search_spec(spec_file)
    elif spec_file is not None:
        base = load_spec(spec_file)
        search = SearchSpec(base=base, families=(Family(base.model, base.objective),), source=str(spec_file))
    else:
        base = host.default_spec((options["models"] or [None])[0])
        search = SearchSpec(base=base, families=(Family(base.model, base.objective),))
    base = search.base.with_overrides(dataset=options["dataset"], seed=options["seed"], device=options["device"])
    families = search.families
    if options["models"] or options["objectives"]:
        models = options["models"] or sorted({f.model for f in families})
        objectives = options["objectives"] or sorted({f.objective for f in families if f.objective}) or [None]
        families = tuple(
            Family(model, None if host.registries.models.get(model).direct_fit else objective)
            for model, objective in dict.fromkeys(itertools.product(models, objectives))
        )
        families = tuple(dict.fromkeys(families))
    fixed = dict(search.fixed)
    for assignment in options["fixed"] or []:
        key, sep, raw = assignment.partition("=")
        if not sep or "." not in key:
            raise SpecError("--set", assignment, "expected NAME=VALUE with NAME like train.steps or ndt.depth")
        fixed[key] = yaml_value(raw)
    sampler = dict(search.sampler)
    if options["sampler"] is not None:
        sampler = {"seed": sampler.get("seed", 0), **choice_setting(options["sampler"], ("tpe", "gp", "random", "pbt"), "--sampler", "name")}
    if options["sampler_seed"] is not None:
        sampler["seed"] = options["sampler_seed"]
    pruner = search.pruner if options["pruner"] is None else choice_setting(options["pruner"], ("median", "hyperband", "none"), "--pruner", "name")
    budgets = {
        "trials": options["trials"],
        "max_minutes": options["max_minutes"],
        "trial_max_minutes": options["trial_minutes"],
    }
    if options["folds"] is not None and (options["folds"] == 1 or options["folds"] < 0):
        raise BenchError(f"--folds {options['folds']}: expected 0 (the dataset's own split) or a fold count >= 2")
    for key, value in budgets.items():
        if value is not None and value <= 0:
            raise BenchError(f"--{key.replace('_max_minutes', '-minutes').replace('_', '-')}: expected a number > 0, found {value}")
    return replace(
        search,
        base=base,
        families=families,
        fixed=fixed,
        sampler=sampler,
        pruner=pruner,
        baseline=search.baseline if options.get("baseline") is None else options["baseline"],
        folds=search.folds if options["folds"] is None else options["folds"],
        **{key: value for key, value in budgets.items() if value is not None},
    )


def default_study_name(search, spec_file: Path | None) -> str:
    """The search spec's file name, else the dataset and the families searched."""
    from harness.search.spec import is_search_file

    if spec_file is not None and is_search_file(spec_file):
        return spec_file.stem
    dataset = Path(search.base.dataset).stem if "/" in search.base.dataset else search.base.dataset
    return f"{dataset}-" + "+".join(family.label.replace("/", "-") for family in search.families)


def print_study(study, top: int) -> None:
    """Counts by state, the best trials, and why trials failed."""
    from harness.search.study import objective_label
    from harness.search.worker import fail_reason, ranked_trials, slot_of

    trials = study.get_trials(deepcopy=False)
    states = [t.state.name for t in trials if not t.user_attrs.get("surplus")]
    counts = ", ".join(f"{states.count(s)} {s.lower()}" for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING") if states.count(s))
    console.print(f"study {escape(study.study_name)}: {len(states)} trials ({counts or 'none yet'})")
    ranked = ranked_trials(study)[:top]
    if ranked:
        label = objective_label(study)
        table = Table(title=f"best trials of {study.study_name} ({label} of each run's best checkpoint)", title_justify="left")
        for column in ("rank", "trial", "family", label, "epochs", "parameters", "run id"):
            table.add_column(column)
        for rank, trial in enumerate(ranked, 1):
            params = ", ".join(f"{name}={_short(value)}" for name, value in trial.params.items() if name != "family")
            table.add_row(
                str(rank),
                str(trial.number) + ("" if slot_of(trial) == trial.number else f" (retry of {slot_of(trial)})"),
                escape(str(trial.user_attrs.get("family", "-"))),
                f"{trial.value:.4f}",
                str(trial.user_attrs.get("epochs", "-")) + (" (cut short)" if trial.user_attrs.get("cut_short") else ""),
                escape(params),
                escape(str(trial.user_attrs.get("run_id", "-"))),
            )
        console.print(table)
    for trial in trials:
        if trial.state.name == "FAIL" and not trial.user_attrs.get("surplus"):
            console.print(f"[dim]trial {trial.number} failed: {escape(fail_reason(trial, trials))}[/]")


def write_best_spec(study, path: Path) -> None:
    """The best trial's run as a run spec: the same settings, seed and budget, no trial number,
    labelled "tuned" so that its runs get a leaderboard row of their own."""
    from harness.store.atomic import write_text
    from harness.store.records import find_record
    from harness.search.spec import trial_spec_text
    from harness.search.study import objective_label
    from harness.search.worker import ranked_trials

    ranked = [t for t in ranked_trials(study) if "run_id" in t.user_attrs]
    if not ranked:
        raise BenchError(f"--best-spec: study '{study.study_name}' has no complete trial yet")
    best = ranked[0]
    record = find_record(best.user_attrs["run_id"])
    header = f"# The best trial ({best.number}, {objective_label(study)} {best.value:.4f}) of bench tune study '{study.study_name}'"
    write_text(path, trial_spec_text(record, "tuned", header))
    console.print(f"wrote {path}: the best trial's run spec (bench run --spec {path} --seed N)")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@hookimpl
def bench_register_commands(cli: CommandRegistry) -> None:
    cli.app.command("tune")(tune_command)
