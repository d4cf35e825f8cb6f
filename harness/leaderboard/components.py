"""What a board says about the components its rows name: each registered model's, objective's
and ensembler's one-line description (so "neural-roberta" and "r-roberta" are explained under
the board), and the plugin distribution that registered it (so a run page lists the plugins the
run used, not every one installed beside them). Read from a plugin host's registries; a name no
installed plugin registers has neither, and the board still renders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: A record's fields that name components, and the registry kind of each.
KINDS = (("model", "models"), ("objective", "objectives"), ("ensembler", "ensemblers"))


@dataclass(frozen=True)
class Component:
    kind: str
    name: str
    description: str
    #: The distribution that registered it ("bench-ndt"); "" for a built-in one
    distribution: str


def registered_components(host: Any) -> dict[tuple[str, str], Component]:
    """(kind, name) -> the registered component, for models, objectives, ensemblers and datasets."""
    from harness.plugin.manager import load_report

    distributions = {info.name: info.distribution for info in load_report(host.manager).loaded if not info.builtin}
    found = {}
    registries = host.registries
    for kind, registry in (*KINDS, ("dataset", "datasets")):
        entries = getattr(registries, registry)
        for name in entries.names():
            entry = entries.get(name)
            found[(kind, name)] = Component(kind, name, entry.description, distributions.get(entry.plugin, ""))
    return found


def names_in(record: Mapping[str, Any], kind: str) -> list[str]:
    """The component names a record's ``kind`` field holds: an ensemble's "lfads+ndt" is two."""
    value = record.get(kind)
    return [part for part in str(value).split("+") if part] if value else []


def used_components(record: Mapping[str, Any], known: Mapping[tuple[str, str], Component]) -> list[Component]:
    """The registered components a run used: its model(s), objective(s), ensembler and dataset."""
    used = [known[(kind, name)] for kind, _ in KINDS for name in names_in(record, kind) if (kind, name) in known]
    dataset = ("dataset", record["dataset"]["name"])
    return used + ([known[dataset]] if dataset in known else [])


def described(records: Iterable[Mapping[str, Any]], known: Mapping[tuple[str, str], Component]) -> list[Component]:
    """The components the records name that have a description, models first, each once."""
    seen: dict[tuple[str, str], Component] = {}
    records = list(records)
    for kind, _ in KINDS:
        for name in sorted({name for record in records for name in names_in(record, kind)}):
            component = known.get((kind, name))
            if component is not None and component.description:
                seen[(kind, name)] = component
    return list(seen.values())
