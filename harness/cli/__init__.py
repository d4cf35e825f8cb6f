"""The ``bench`` command line: a typer app composed from plugins, one plugin manager per call."""

from __future__ import annotations

import logging
import os
import sys
import traceback
import warnings
from collections.abc import Sequence

import typer
from rich.console import Console
from rich.markup import escape

from harness import __version__
from harness.plugin.commands import CommandRegistry
from harness.cli.state import CliState
from harness.errors import BenchError
from harness.plugin.host import Host, HostRecipe

stderr = Console(stderr=True, highlight=False, soft_wrap=True)

_PLUGIN_SWITCHES = ("--plugins", "--disable-plugin")
#: The exit code of a command stopped by Ctrl-C (128 + SIGINT).
_INTERRUPTED = 130


def _click_errors() -> tuple[type[Exception], ...]:
    """The usage-error base classes the installed typer raises: recent typer ships its own copy
    of click (``typer._click``), older typer raises click's own; either kind is shown the click way."""
    kinds: list[type[Exception]] = []
    try:
        from typer._click.exceptions import ClickException as vendored

        kinds.append(vendored)
    except ImportError:
        pass
    try:
        from click import ClickException

        kinds.append(ClickException)
    except ImportError:
        pass
    return tuple(kinds)


def _preparse(argv: Sequence[str]) -> tuple[set[str] | None, set[str], bool]:
    """Read the plugin switches before the app exists: they decide which commands it has."""
    allow: set[str] | None = None
    block: set[str] = set()
    verbose = False
    arguments = list(argv)
    for index, argument in enumerate(arguments):
        if argument in ("--verbose", "-v"):
            verbose = True
        for switch in _PLUGIN_SWITCHES:
            value = None
            if argument == switch and index + 1 < len(arguments):
                value = arguments[index + 1]
            elif argument.startswith(switch + "="):
                value = argument.split("=", 1)[1]
            if value is None:
                continue
            names = {name.strip() for name in value.split(",") if name.strip()}
            if switch == "--plugins":
                allow = (allow or set()) | names
            else:
                block |= names
    return allow, block, verbose


def _show_plugin_notes(verbose: bool) -> None:
    """Show the harness' and plugins' INFO notes (e.g. a skipped mask) on stderr; other
    libraries only from WARNING on, unless --verbose."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("note: %(message)s"))
    if not verbose:
        handler.addFilter(lambda record: record.levelno >= logging.WARNING or record.name.startswith(("bench", "harness")))
    handler.bench_notes = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    # Replace only our own handler from an earlier call in this process (tests call main often).
    root.handlers = [h for h in root.handlers if not getattr(h, "bench_notes", False)] + [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def _print_version(value: bool) -> None:
    # An eager option callback: it runs while the options are parsed, before click asks for a
    # command, so `bench --version` needs none.
    if value:
        typer.echo(f"bench-harness {__version__}")
        raise typer.Exit()


def build_app(host: Host) -> typer.Typer:
    app = typer.Typer(
        name="bench",
        help="Benchmark latent variable models of neural population spiking (NLB'21 metrics).",
        no_args_is_help=True,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        plugins: str = typer.Option(None, "--plugins", help="Load only these plugins (comma-separated; env BENCH_PLUGINS)."),
        disable_plugin: list[str] = typer.Option(None, "--disable-plugin", help="Do not load this plugin (repeatable; env BENCH_DISABLE_PLUGINS)."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks and debug logs."),
        version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True, callback=_print_version),
    ) -> None:
        pass

    host.manager.hook.bench_register_commands(cli=CommandRegistry(app))
    return app


def main(argv: Sequence[str] | None = None, *, host: Host | None = None) -> int:
    """Run ``bench`` with ``argv``; returns the exit code. ``host`` lets tests inject plugins."""
    argv = list(sys.argv[1:] if argv is None else argv)
    allow, block, verbose = _preparse(argv)
    _show_plugin_notes(verbose)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if host is None:
                host = HostRecipe(None if allow is None else frozenset(allow), frozenset(block)).build()
            app = build_app(host)
        for warning in caught:
            stderr.print(f"[yellow]warning:[/] {escape(str(warning.message))}")
        command = typer.main.get_command(app)
        # Not standalone, so errors end here in one line; an explicit Exit comes back as its code.
        code = command.main(args=argv, prog_name="bench", standalone_mode=False, obj=CliState(host=host, verbose=verbose))
        if code == _INTERRUPTED:  # typer turns Ctrl-C into Exit(130) before it reaches us
            raise KeyboardInterrupt
        return code if isinstance(code, int) else 0
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.Abort:
        stderr.print("aborted")
        return 130
    except _click_errors() as error:  # a usage error: click's usage line, hint and message; exit 2
        error.show(file=sys.stderr)
        return error.exit_code
    except BenchError as error:
        if verbose:
            traceback.print_exc()
        stderr.print(f"[red]error:[/] {escape(str(error))}")
        return 1
    except KeyboardInterrupt:
        stderr.print("interrupted: the last checkpoint is kept; run the same command again to resume")
        return _INTERRUPTED
    except Exception as error:  # noqa: BLE001 - every failure ends in one line, traceback on request
        if verbose or os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()
        stderr.print(f"[red]error:[/] {escape(f'{type(error).__name__}: {error}')} (run with --verbose for the traceback)")
        return 1


def entry() -> None:
    sys.exit(main())
