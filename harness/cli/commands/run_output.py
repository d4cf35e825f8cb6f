"""What ``bench run`` prints of a record: its table of metrics, footnotes and headline figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from harness.plugin.host import Host
    from harness.specs import RunSpec

console = Console(highlight=False)


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


def fold_line(host: Host, spec: RunSpec, record: dict) -> str:
    """What one finished fold scored on its own val trials."""
    from harness.store.records import record_task

    metric = record["metrics"].get(record_task(record)["validation_metric"], {})
    value = metric.get("value")
    label = host.task(record_task(record)["name"]).validation_label
    return f"fold {spec.fold}: {label} {'n/a' if value is None else f'{value:.4f}'} on its own {metric.get('n_trials', 0)} trials"
