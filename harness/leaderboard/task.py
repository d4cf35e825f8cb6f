"""The task a board asks, resolved through a plugin host: its metric order, baseline model,
metric directions, definitions and report figure. A record's task no installed plugin registers
gets an :class:`UnregisteredTask`, so its board still renders."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


class UnregisteredTask:
    """Stands in for a task no installed plugin registers (say its plugin was uninstalled): the
    records' own primary and validation metrics and directions, no metric order, no baseline row,
    no report figure, no definitions. Its boards still render."""

    metric_order: tuple[str, ...] = ()
    baseline_model: str | None = None
    report_figure: str | None = None

    def __init__(self, recorded: Mapping[str, str]):
        self.name = recorded["name"]
        self.primary_metric = recorded["primary_metric"]
        self.validation_metric = recorded["validation_metric"]

    def higher_is_better(self, metric: str) -> bool:
        return True

    def metric_definitions(self, metrics: Sequence[str]) -> list[str]:
        return []


def default_host() -> Any:
    """A host over the default plugins and the installed ones (what ``bench`` itself loads)."""
    from harness.plugin.host import Host

    return Host()


def board_task(recorded: Mapping[str, str], host: Any) -> Any:
    """The task a board's records posed (their ``task`` entry), from ``host``'s registered tasks,
    else an :class:`UnregisteredTask` built from the entry."""
    if recorded["name"] in host.registries.tasks:
        return host.task(recorded["name"])
    return UnregisteredTask(recorded)


@functools.lru_cache(maxsize=1)
def registered_metric_order() -> tuple[str, ...]:
    """Every registered task's metric order, in registration order: the default table order of
    metrics where no one task is asked (``bench run``'s table, ``bench compare``)."""
    host = default_host()
    order = (name for task in host.registries.tasks.names() for name in host.task(task).metric_order)
    return tuple(dict.fromkeys(order))


def higher_is_better(metric: str, records: Iterable[dict[str, Any]], task: Any) -> bool:
    """Which way ``metric`` improves: the first record that has it says; else its task."""
    for record in records:
        if metric in record["metrics"]:
            return bool(record["metrics"][metric]["higher_is_better"])
    return bool(task.higher_is_better(metric))
