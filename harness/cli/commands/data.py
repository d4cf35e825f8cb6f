"""``bench data list`` and ``bench data info``: what datasets exist and what they hold."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from harness import hookimpl
from harness.cli.registry import CommandRegistry
from harness.cli.state import cli_state
from harness.contracts import DatasetTensors, Predictions, SplitRates
from harness.plugin.registry import Entry

console = Console(highlight=False, width=160)


def _size(size_bytes: int | None) -> str:
    if size_bytes is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size_bytes < 1024 or unit == "GB":
            return f"{size_bytes:.0f} {unit}" if unit == "B" else f"{size_bytes:.1f} {unit}"
        size_bytes /= 1024
    return "-"


def list_command(ctx: typer.Context) -> None:
    """List registered datasets: source, size, trials, units, bin sizes and where they are."""
    host = cli_state(ctx).host
    table = Table(title="bench datasets")
    for column in ("name", "source", "size", "trials", "units", "bin sizes (ms)", "where", "plugin"):
        table.add_column(column)
    for entry in host.registries.datasets:
        where = "-"
        if entry.locator:
            locate = Entry(kind="dataset", name=entry.name, loader=entry.locator, plugin=entry.plugin).load()
            try:
                where = str(locate(dict(entry.defaults)) or "")
            except Exception as error:  # noqa: BLE001 - a listing must not fail on one dataset
                where = f"? ({error})"
            if not where:
                where = "not on disk yet"
        table.add_row(
            entry.name,
            entry.source or "-",
            _size(entry.size_bytes),
            "-" if entry.n_trials is None else str(entry.n_trials),
            "-" if entry.n_units is None else str(entry.n_units),
            ", ".join(str(b) for b in entry.bin_sizes_ms) or "-",
            where,
            entry.plugin,
        )
    console.print(table)


def true_rate_predictions(data: DatasetTensors) -> Predictions | None:
    """The ground-truth rates as if a model had predicted them: scoring them gives the oracle."""
    splits = {}
    for name in ("train", "val", "eval"):
        rates = data.split(name).true_rates
        if rates is None:
            return None
        T, I = data.n_bins, data.n_heldin
        splits[name] = SplitRates(
            heldin=rates[:, :T, :I],
            heldout=rates[:, :T, I:],
            heldin_forward=rates[:, T:, :I] if data.n_forward else None,
            heldout_forward=rates[:, T:, I:] if data.n_forward else None,
        )
    return Predictions(**splits)


def info_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A registered dataset name or a path.")],
    bin_size_ms: Annotated[Optional[int], typer.Option("--bin-size", help="Bin size in ms, where the dataset offers several.")] = None,
) -> None:
    """Load a dataset and show its splits, units, regions and, with ground truth, the oracle scores."""
    host = cli_state(ctx).host
    data = host.dataset(name, {} if bin_size_ms is None else {"bin_size_ms": bin_size_ms})
    if not isinstance(data, DatasetTensors):  # another task's data (EncodingData): its task describes it
        console.print(host.task_of(data).describe(data))
        console.print(f"task: {data.task}; checksum {data.checksum[:12]}; source: {data.source}")
        for note in data.notes:
            console.print(f"note: {note}")
        return
    table = Table(title=f"{data.name} ({data.bin_size_ms} ms bins, checksum {data.checksum[:12]})")
    for column in ("split", "trials", "held-in", "held-out", "forward", "behaviour", "conditions", "true rates"):
        table.add_column(column)
    for split_name in ("train", "val", "eval"):
        split = data.split(split_name)
        table.add_row(
            split_name,
            str(split.n_trials),
            str(tuple(split.heldin.shape)),
            "withheld" if split.heldout is None else str(tuple(split.heldout.shape)),
            "-" if split.heldin_forward is None else str(tuple(split.heldin_forward.shape)),
            "-" if split.behavior is None else str(tuple(split.behavior.shape)),
            "-" if split.conditions is None else str(len(set(split.conditions.tolist()))),
            "yes" if split.true_rates is not None else "-",
        )
    console.print(table)
    regions = Counter(data.heldin_regions)
    console.print("held-in regions: " + ", ".join(f"{region} {count}" for region, count in regions.items()))
    console.print(f"source: {data.source}")
    for note in data.notes:
        console.print(f"note: {note}")
    oracle = true_rate_predictions(data)
    if oracle is not None:
        for metric, value in host.task_of(data).score(data, oracle).items():
            if value.value is not None:
                label = metric if metric.startswith("oracle") else f"oracle {metric}"
                console.print(f"{label}: {value.value:.4f} ({value.split}, {value.n_trials} trials)")


@hookimpl
def bench_register_commands(cli: CommandRegistry) -> None:
    group = cli.group("data", help="Datasets: list, inspect, download.")
    group.command("list")(list_command)
    group.command("info")(info_command)
