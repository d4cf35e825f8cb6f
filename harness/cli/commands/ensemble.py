"""``bench ensemble``: combine finished runs' predictions with a registered ensembler."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from harness import hookimpl
from harness.cli.options import DatasetOption
from harness.plugin.commands import CommandRegistry
from harness.cli.state import cli_state
from harness.cli.commands.results import StoreOption
from harness.errors import BenchError


def parse_settings(assignments: list[str] | None) -> dict:
    """``--set top=3`` as {"top": 3} (values read as YAML)."""
    from harness.specs import yaml_value

    settings = {}
    for assignment in assignments or []:
        key, sep, raw = assignment.partition("=")
        if not sep or not key:
            raise BenchError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set top=3")
        settings[key] = yaml_value(raw)
    return settings


def ensemble_command(
    ctx: typer.Context,
    run_ids: Annotated[Optional[list[str]], typer.Argument(help="Run ids (or unique prefixes) to combine; default: every run the filters match.")] = None,
    ensembler: Annotated[str, typer.Option("--ensembler", "-e", help="A registered ensembler (bench plugins).")] = "mean",
    dataset: DatasetOption = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Only runs of this model.")] = None,
    objective: Annotated[Optional[str], typer.Option("--objective", help="Only runs trained with this objective.")] = None,
    assignments: Annotated[Optional[list[str]], typer.Option("--set", help="An ensembler setting, e.g. --set top=3 (repeatable).")] = None,
    folds: Annotated[int, typer.Option("--folds", help="Cross-fit its val scores over this many folds of val trials (where its task cross-fits).")] = 5,
    store: StoreOption = None,
) -> None:
    """Combine finished runs into an ensemble; it is scored and recorded like a run (bench leaderboard shows it).

    Its task scores it: NLB co-smoothing cross-fits its val metrics (the ensembler fitted on the
    other folds of val trials predicts each fold) and records the in-sample val co-bps beside
    them; video encoding's ensemblers fit nothing on val, so it is scored as any run. The
    predictions kept for bench submit come from one fit on all val trials.
    """
    from harness.cli.commands.run import print_record
    from harness.run.ensembles import ensemble_runs, select_members
    from harness.store.records import find_record, read_records

    host = cli_state(ctx).host
    host.registries.ensemblers.get(ensembler)  # an unknown name fails here, with suggestions
    if run_ids:
        members = [find_record(run_id, store) for run_id in run_ids]
    else:
        if dataset is None:
            raise BenchError("name the runs to combine, or pick them with --dataset (and --model / --objective)")
        members = select_members(read_records(store), dataset=dataset, model=model, objective=objective)
    record = ensemble_runs(host, members, ensembler, parse_settings(assignments), store, folds=folds)
    print_record(record)


@hookimpl
def bench_register_commands(cli: CommandRegistry) -> None:
    cli.app.command("ensemble")(ensemble_command)
