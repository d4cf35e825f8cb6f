"""``bench data download``: added to the core's ``data`` group through bench_register_commands."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Optional

import typer


def download_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The dataset to fetch (bench data list shows those with a DANDI source).")],
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="Folder to download into (default: BENCH_HOME/data/NAME).")
    ] = None,
) -> None:
    """Download a dataset's files from DANDI (resumable, checksum-verified)."""
    from harness.api import cli_state
    from harness.api import BenchError

    entry = cli_state(ctx).host.registries.datasets.get(name)  # unknown names get suggestions
    if not entry.downloader:
        raise BenchError(f"dataset '{name}' (plugin {entry.plugin}) has nothing to download (it reads local files or generates its data on first use)")
    # A downloader is "module:function" called as function(name, destination) (None: the default).
    module_name, _, function_name = entry.downloader.partition(":")
    download = getattr(importlib.import_module(module_name), function_name)
    download(name, output)


def add_data_commands(data_group: typer.Typer) -> None:
    data_group.command("download")(download_command)
