"""``bench tune --engine ray``: the study on Ray Tune (``harness.search.ray_tune``), its table of
trials, and the best one's spec. Ray is imported only here, only for ``--engine ray``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.errors import BenchError
from harness.plugin.host import Host

console = Console(highlight=False, soft_wrap=True)


def tune_on_ray(host: Host, plan: Any, search: Any, task: Any, study: str, *, address: str | None, task_cpus: float, task_gpus: float, best_spec: Path | None, top: int) -> None:
    try:
        from harness.search.ray_tune import run_tune
    except ImportError as error:
        raise BenchError(f"--engine ray needs Ray Tune: pip install 'bench-harness[ray]' ({error})") from None
    from harness.search.worker import selection_label

    sampler = search.sampler["name"]
    console.print(
        f"study [bold]{escape(study)}[/] (Ray Tune): {search.trials} {'members' if sampler == 'pbt' else 'trials'} of "
        f"{', '.join(f.label for f in search.families)} on {search.base.dataset}, sampler {sampler}; selects on {selection_label(search, task)}"
    )
    outcome = run_tune(
        host, plan, study=study, sampler=search.sampler, trials=search.trials, maximize=task.higher_is_better,
        address=address, task_cpus=task_cpus, task_gpus=task_gpus, max_minutes=search.max_minutes, baseline=search.baseline,
        say=lambda message: console.print(f"[dim]{escape(message)}[/]"),
    )
    table = Table(title=f"{study}: {'members' if sampler == 'pbt' else 'trials'}, best first ({selection_label(search, task)})", title_justify="left")
    for column in ("rank", "trial", selection_label(search, task), "run id", "changes mid-run"):
        table.add_column(column)
    from harness.store.records import read_records

    records = {record["run_id"]: record for record in read_records()}  # the store, read once
    finished = [row for row in outcome.trials if row["finished"] and row["run_id"]]
    for rank, row in enumerate(finished[:top], 1):
        changes = len((records.get(row["run_id"]) or {}).get("spec", {}).get("schedule") or [])
        table.add_row(str(rank), str(row["trial"]), f"{row['score']:.4f}", escape(row["run_id"]), str(changes))
    console.print(table)
    for row in outcome.trials:
        if row["error"]:
            console.print(f"[dim]trial {row['trial']} failed: {escape(row['error'])}[/]")
    console.print(f"[dim]{len(finished)} of {len(outcome.trials)} finished in {outcome.wall_seconds / 60:.1f} min[/]")
    if best_spec is not None:
        if not finished:
            raise BenchError(f"--best-spec: study '{study}' has no finished trial")
        from harness.search.spec import trial_spec_text
        from harness.store.atomic import write_text

        best = records.get(finished[0]["run_id"])
        if best is None:
            raise BenchError(f"--best-spec: run {finished[0]['run_id']} is not in the results store")
        # labelled pbt or tpe: a leaderboard row of its own beside the defaults
        header = f"# The best {'member' if sampler == 'pbt' else 'trial'} (trial {finished[0]['trial']}, {finished[0]['score']:.4f}) of bench tune --engine ray study '{study}'"
        write_text(best_spec, trial_spec_text(best, sampler, header))
        console.print(f"wrote {best_spec}: its run spec (bench run --spec {best_spec} --folds 5)")
