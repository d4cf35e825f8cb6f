"""``bench run`` with several results: specs x ``--seeds``, each K-fold one its fold runs, through
the engine ``--engine`` names (``harness.run.batch``). Ray is imported only for ``--engine ray``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from harness.cli.commands.run_output import console, fold_line, print_record
from harness.errors import BenchError
from harness.run.executor import Ended, Failure, SequentialExecutor
from harness.specs import RunSpec

if TYPE_CHECKING:
    from harness.plugin.host import Host


def run_batch(
    host: Host,
    specs: Sequence[RunSpec],
    *,
    engine: str,
    run_one: Callable[[RunSpec], dict],
    rerun: bool,
    ensembler: str,
    ray_address: str | None,
    task_cpus: float,
    task_gpus: float,
) -> None:
    """Make every result; print each (one: its table; several: one line each); fail naming the
    runs that failed, after the others finished."""
    from harness.run.batch import run_results

    if engine == "ray":
        try:
            from harness.run.ray_engine import RayExecutor
        except ImportError as error:
            raise BenchError(f"--engine ray needs Ray: pip install 'bench-harness[ray]' ({error})") from None
        executor = RayExecutor(host, address=ray_address, task_cpus=task_cpus, task_gpus=task_gpus, rerun=rerun, say=lambda m: console.print(f"[dim]{escape(m)}[/]"))
    else:
        def run_and_say(one: RunSpec) -> dict:
            if one.fold is not None:
                console.print(f"[bold]fold {one.fold} of {one.folds}[/]")
            return run_one(one)

        executor = SequentialExecutor(run_and_say)

    def ended(one: RunSpec, result: Ended) -> None:
        if isinstance(result, Failure):
            console.print(f"[red]failed[/] {result.run_id}: {escape(result.reason.splitlines()[0])}")
        elif engine == "ray":
            console.print(f"done {result['run_id']}" + (f" ({fold_line(host, one, result)})" if one.fold is not None else ""))
        elif one.fold is not None:
            console.print(fold_line(host, one, result))

    outcomes = run_results(host, specs, executor, rerun=rerun, ensembler=ensembler, on_ended=ended)
    finished = [outcome for outcome in outcomes if outcome.record is not None]
    if len(outcomes) == 1 and finished:
        print_record(finished[0].record)
    elif finished:
        print_summary([outcome.record for outcome in finished])
    failures = [failure for outcome in outcomes for failure in outcome.failures]
    if failures:
        names = ", ".join(sorted({failure.run_id for failure in failures}))
        raise BenchError(f"{len(finished)} of {len(outcomes)} results made; runs that failed (their runs/<id>/failure.json says why): {names}")


def print_summary(records: Sequence[dict]) -> None:
    """One line per result: its run id and primary metric (and the fold sd of a K-fold one)."""
    from harness.store.records import record_task

    table = Table(title_justify="left")
    for column in ("run", "metric", "value", "sd over folds"):
        table.add_column(column, justify="right" if column in ("value", "sd over folds") else "left", overflow="fold")
    for record in records:
        primary = record_task(record)["primary_metric"]
        metric = record["metrics"].get(primary) or record["metrics"].get(record_task(record)["validation_metric"]) or {}
        value = metric.get("value")
        spread = (record.get("folds") or {}).get("spread", {}).get(primary)
        table.add_row(escape(record["run_id"]), escape(primary), "n/a" if value is None else f"{value:.4f}", "" if spread is None else f"{spread:.4f}")
    console.print(table)
