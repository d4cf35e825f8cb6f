"""Per-invocation state that commands reach through ``typer.Context.obj``."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from harness.plugin.host import Host


@dataclass
class CliState:
    host: Host
    verbose: bool = False


def cli_state(ctx: typer.Context) -> CliState:
    """The state of this ``bench`` invocation, from any command's context."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        raise RuntimeError("bench command called outside harness.cli.main")
    return root.obj
