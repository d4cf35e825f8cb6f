"""``bench plugins``: what is installed, from which distribution, and what each registers."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from harness import hookimpl
from harness.plugin.commands import CommandRegistry
from harness.cli.state import cli_state
from harness.plugin.manager import load_report
from harness.plugin.registry import KINDS

console = Console(highlight=False)


def plugins_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    builtins: Annotated[bool, typer.Option("--all", help="Include the built-in core plugins.")] = False,
) -> None:
    """List plugins with their distribution, version and what they register."""
    host = cli_state(ctx).host
    report = load_report(host.manager)
    registered: dict[str, list[str]] = {}
    for kind in KINDS:
        for entry in host.registries.by_kind(kind):
            registered.setdefault(entry.plugin, []).append(f"{kind}:{entry.name}")
    rows = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "registers": registered.get(info.name, []),
        }
        for info in report.loaded
        if builtins or not info.builtin
    ]
    if as_json:
        typer.echo(json.dumps({"plugins": rows, "failed": report.failed, "skipped": report.skipped}, indent=2))
        return
    table = Table(title="bench plugins")
    for column in ("plugin", "distribution", "version", "registers"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["distribution"], row["version"], ", ".join(row["registers"]) or "-")
    for name, error in report.failed.items():
        table.add_row(name, "[red]failed to load[/]", "", error)
    for name in report.skipped:
        table.add_row(name, "[dim]disabled[/]", "", "")
    console.print(table)


@hookimpl
def bench_register_commands(cli: CommandRegistry) -> None:
    cli.app.command("plugins")(plugins_command)
