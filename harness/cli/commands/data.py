"""``bench data list`` and ``bench data info``: what datasets exist and what they hold."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from harness import hookimpl
from harness.cli.console import make_console
from harness.plugin.commands import CommandRegistry
from harness.cli.state import cli_state
from harness.contracts import DatasetTensors, Predictions, SplitRates
from harness.plugin.registry import DatasetEntry, Entry

def _size(size_bytes: float | None) -> str:
    if size_bytes is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size_bytes < 1024 or unit == "GB":
            return f"{size_bytes:.0f} {unit}" if unit == "B" else f"{size_bytes:.1f} {unit}"
        size_bytes /= 1024
    return "-"


def disk_size(path: Path) -> int:
    """Bytes a file, or every file below a folder, takes on disk."""
    if path.is_file():
        return path.stat().st_size
    return sum(child.stat().st_size for child in path.rglob("*") if child.is_file())


def where_and_size(entry: DatasetEntry) -> tuple[str, str, str]:
    """(on disk, size, where): whether the dataset's files are here, their size on disk (else
    the size the plugin declares for a download), and the path, "" where there is none."""
    if not entry.locator:  # e.g. a file format: the data are wherever --dataset PATH says
        return "--dataset PATH", "-", ""
    locate = Entry(kind="dataset", name=entry.name, loader=entry.locator, plugin=entry.plugin).load()
    try:
        where = str(locate(dict(entry.defaults)) or "")
    except Exception as error:  # noqa: BLE001 - a listing must not fail on one dataset
        return "unknown", "-", f"? ({error})"
    if where and Path(where).exists():
        return "yes", _size(disk_size(Path(where))), where
    missing = "not downloaded" if entry.downloader else "made on first use"
    return missing, "-" if entry.size_bytes is None else f"{_size(entry.size_bytes)} to fetch", ""


def list_command(ctx: typer.Context) -> None:
    """List registered datasets: source, size on disk, trials, units, bin sizes and where their
    files are (whole paths, below the table)."""
    host = cli_state(ctx).host
    console = make_console()
    table = Table(title="bench datasets", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    entries = list(host.registries.datasets)
    for column in ("name", "source", "size", "trials", "units", "bins (ms)", "on disk", "plugin"):
        table.add_column(
            column,
            justify="right" if column in ("size", "trials", "units") else "left",
            overflow="fold",
            max_width=24 if column == "source" else None,  # a long source folds, not the numbers
            no_wrap=column in ("name", "size", "on disk"),  # the name is what --dataset takes: one line
        )
    places = []
    for entry in entries:
        on_disk, size, where = where_and_size(entry)
        table.add_row(
            entry.name,
            entry.source or "-",
            size,
            "-" if entry.n_trials is None else str(entry.n_trials),
            "-" if entry.n_units is None else str(entry.n_units),
            ", ".join(str(b) for b in entry.bin_sizes_ms) or "-",
            on_disk,
            entry.plugin,
        )
        if where:
            places.append((entry.name, where))
    console.print(table)
    if places:  # paths on lines of their own, so no table cell cuts them
        console.print("\nwhere the files are:")
        width = max(len(name) for name, _ in places)
        for name, where in places:
            console.print(f"  {name:<{width}}  {where}", soft_wrap=True)


#: The axes of the spike tensors and of the behaviour, in order: the line under the table names them.
SPIKE_AXES = ("trials", "bins", "units")
BEHAVIOUR_AXES = ("trials", "bins", "dims")


def shape(tensor) -> str:
    """``75 x 140 x 107``: a tensor's shape, read with the axes named under the table."""
    return " x ".join(str(size) for size in tensor.shape)


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
    console = make_console()
    data = host.dataset(name, {} if bin_size_ms is None else {"bin_size_ms": bin_size_ms})
    if not isinstance(data, DatasetTensors):  # another task's data (EncodingData): its task describes it
        console.print(host.task_of(data).describe(data))
        console.print(f"task: {data.task}; checksum {data.checksum[:12]}; source: {data.source}")
        for note in data.notes:
            console.print(f"note: {note}")
        return
    table = Table(
        title=f"{data.name} ({data.bin_size_ms} ms bins, checksum {data.checksum[:12]})",
        title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
    )
    rows = []
    for split_name in ("train", "val", "eval"):
        split = data.split(split_name)
        rows.append((
            split_name,
            str(split.n_trials),
            shape(split.heldin),
            "withheld" if split.heldout is None else shape(split.heldout),
            "-" if split.heldin_forward is None else shape(split.heldin_forward),
            "-" if split.behavior is None else shape(split.behavior),
            "-" if split.conditions is None else str(len(set(split.conditions.tolist()))),
            "yes" if split.true_rates is not None else "-",
        ))
    columns = ("split", "trials", "held-in", "held-out", "forward", "behaviour", "conditions", "true rates")
    widths = [max(len(cell) for cell in cells) for cells in zip(columns, *rows)]
    fits = console.width >= sum(widths) + 2 * (len(columns) - 1)
    for index, column in enumerate(columns):
        # a shape keeps its line where the terminal has the room; the axes are named under the table
        keep = fits and 2 <= index <= 5
        table.add_column(column, justify="right" if column in ("trials", "conditions") else "left", no_wrap=column in ("split", "trials") or keep)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"shapes are {' x '.join(SPIKE_AXES)} (behaviour: {' x '.join(BEHAVIOUR_AXES)})", soft_wrap=True)
    regions = Counter(data.heldin_regions)
    console.print("held-in regions: " + ", ".join(f"{region} {count}" for region, count in regions.items()))
    console.print(f"source: {data.source}")
    for note in data.notes:
        console.print(f"note: {note}")
    oracle = true_rate_predictions(data)
    if oracle is not None:
        printed = set()
        for metric, value in host.task_of(data).score(data, oracle).items():
            label = metric if metric.startswith("oracle") else f"oracle {metric}"
            if value.value is not None and label not in printed:  # "oracle co-bps" is scored under both names
                printed.add(label)
                console.print(f"{label}: {value.value:.4f} ({value.split}, {value.n_trials} trials)")


@hookimpl
def bench_register_commands(cli: CommandRegistry) -> None:
    group = cli.group("data", help="Datasets: list, inspect, download.")
    group.command("list")(list_command)
    group.command("info")(info_command)
