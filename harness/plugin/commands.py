"""The command registry a ``bench_register_commands`` hook receives: the root app and named command groups."""

from __future__ import annotations

import typer


class CommandRegistry:
    """Hands plugins the root typer app and sub-command groups (``bench data ...``)."""

    def __init__(self, app: typer.Typer):
        self.app = app
        self._groups: dict[str, typer.Typer] = {}

    def group(self, name: str, help: str = "") -> typer.Typer:
        """The sub-command group ``bench NAME``, created on first use and shared afterwards."""
        if name not in self._groups:
            group = typer.Typer(help=help or None, no_args_is_help=True, rich_markup_mode="rich")
            self._groups[name] = group
            self.app.add_typer(group, name=name)
        return self._groups[name]
