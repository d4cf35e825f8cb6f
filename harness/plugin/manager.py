"""Plugin manager factory: a fresh, validated manager per invocation.

Built-in plugins (the core commands) and third-party plugins come through the same path: modules
registered on a pluggy manager. Third-party and in-tree plugin packages are found through the
``bench`` entry-point group. A plugin whose import fails costs one warning, never the whole CLI.

Switches (environment variable or the matching CLI option):
  BENCH_PLUGINS=a,b            load only these entry-point plugins (built-ins always load)
  BENCH_DISABLE_PLUGINS=a,b    never load these
  BENCH_TRACE_PLUGINS=1        print every hook call to stderr
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from harness import ENTRY_POINT_GROUP, PROJECT_NAME, __version__
from harness.plugin import hookspecs

#: Core plugins, always loaded: the built-in tasks and CLI commands.
DEFAULT_PLUGINS = (
    "harness.tasks",
    "harness.cli.commands.run",
    "harness.cli.commands.plugins",
    "harness.cli.commands.validate",
    "harness.cli.commands.data",
    "harness.cli.commands.results",
    "harness.cli.commands.ensemble",
    "harness.cli.commands.review",
    "harness.cli.commands.tune",
)


class PluginLoadWarning(UserWarning):
    """A plugin distribution could not be imported; the rest keeps working."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    builtin: bool


@dataclass
class LoadReport:
    loaded: list[PluginInfo] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def _names_from_env(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def make_plugin_manager(
    allow: Iterable[str] | None = None,
    block: Iterable[str] = (),
    *,
    entry_point_plugins: bool = True,
    extra_plugins: Iterable[object] = (),
    trace: bool | None = None,
) -> pluggy.PluginManager:
    """Build a fresh manager: hook specs, built-ins, entry-point plugins, then ``extra_plugins``.

    ``allow`` (None means all) and ``block`` name entry-point plugins; the environment variables
    BENCH_PLUGINS and BENCH_DISABLE_PLUGINS add to them. ``extra_plugins`` lets a test register a
    throw-away plugin for its own manager only.
    """
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    report = LoadReport()
    manager.bench_load_report = report  # type: ignore[attr-defined]

    for module_name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name)
        report.loaded.append(PluginInfo(module_name, "bench-harness", __version__, builtin=True))

    env_allow = _names_from_env("BENCH_PLUGINS")
    allowed = None if allow is None and env_allow is None else set(allow or ()) | set(env_allow or ())
    blocked = set(block) | (_names_from_env("BENCH_DISABLE_PLUGINS") or set())
    if entry_point_plugins:
        _load_entry_points(manager, report, allowed, blocked)

    for plugin in extra_plugins:
        manager.register(plugin)
        name = manager.get_name(plugin) or repr(plugin)
        report.loaded.append(PluginInfo(name, "(registered in-process)", "", builtin=False))

    manager.check_pending()  # a misspelled hook name fails here, not silently
    if trace if trace is not None else os.environ.get("BENCH_TRACE_PLUGINS"):
        manager.trace.root.setwriter(lambda message: sys.stderr.write(f"[bench trace] {message}"))
        manager.enable_tracing()
    return manager


def _load_entry_points(manager: pluggy.PluginManager, report: LoadReport, allowed, blocked) -> None:
    seen: set[str] = set()
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        name = entry_point.name
        if name in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(name)
        if name in blocked or (allowed is not None and name not in allowed):
            manager.set_blocked(name)
            report.skipped.append(name)
            continue
        distribution = entry_point.dist.name if entry_point.dist else "?"
        version = entry_point.dist.version if entry_point.dist else "?"
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=name)
        except Exception as error:  # noqa: BLE001 - any failure of a plugin must not stop the CLI
            message = f"{type(error).__name__}: {error}"
            report.failed[name] = message
            warnings.warn(
                f"bench plugin '{name}' from distribution '{distribution}' failed to load and is "
                f"skipped: {message}",
                PluginLoadWarning,
                stacklevel=2,
            )
            continue
        report.loaded.append(PluginInfo(name, distribution, version, builtin=False))


def load_report(manager: pluggy.PluginManager) -> LoadReport:
    return getattr(manager, "bench_load_report", LoadReport())
