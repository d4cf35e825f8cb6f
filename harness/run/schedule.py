"""Hyperparameters that change mid-run: a spec's ``schedule``, checked against what the plugins
declare mutable and applied by the trainer between epochs.

A population-based search (``bench tune --engine ray --sampler pbt``) changes a member's
learning rate, dropout or KL weight as it trains; the member's record keeps those changes as its
spec's ``schedule``, so the same schedule replays on other folds or seeds (``bench run --spec``
with it). Entries are in optimizer updates: ``{"at": 600, "set": {"lfads.dropout": 0.25}}``
holds from the first epoch that starts at or after update 600, whatever the batch count.

Models and objectives take new values through the ``MutableHyperparameters`` contract; the
trainer itself takes ``train.lr``, ``train.weight_decay`` and ``train.grad_clip``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.contracts import MutableHyperparameters
from harness.errors import BenchError, SpecError
from harness.plugin.host import Host
from harness.specs import RunSpec


def mutable_names(host: Host, model: str, objective: str | None) -> dict[str, str]:
    """Every hyperparameter a run of ``model`` x ``objective`` may change mid-run, by its search
    name (``lfads.dropout``, ``cd.cd_rate``, ``train.lr``), mapped to who declared it."""
    names: dict[str, str] = {}
    entries = [host.registries.models.get(model)]
    if objective is not None:
        entries.append(host.registries.objectives.get(objective))
    for entry in entries:
        for key, spec in entry.search_space.items():
            if spec.get("mutable"):
                name = key if key.startswith("train.") else f"{entry.name}.{key}"
                names[name] = f"{entry.kind} '{entry.name}'"
    return names


def check_schedule(host: Host, spec: RunSpec, source: str = "spec") -> None:
    """Refuse a schedule that changes what its plugins do not declare mutable, naming the entry
    (registration already keeps a declared ``train.KEY`` to what the trainer can change)."""
    if not spec.schedule:
        return
    allowed = mutable_names(host, spec.model, spec.objective)
    for position, entry in enumerate(spec.schedule):
        for name in entry["set"]:
            if name not in allowed:
                known = ", ".join(sorted(allowed)) or "none"
                raise SpecError(source, f"schedule[{position}].set.{name}", f"not a hyperparameter this run may change mid-run (mutable for {spec.model} x {spec.objective}: {known})")


def settings_at(schedule: tuple[Mapping[str, Any], ...], step: int) -> dict[str, Any]:
    """The scheduled values in force from update ``step`` on: every entry at or before it, later
    entries over earlier ones (empty before the first)."""
    values: dict[str, Any] = {}
    for entry in schedule:
        if entry["at"] <= step:
            values.update(entry["set"])
    return values


class Retuner:
    """Called by the trainer at the start of each epoch with its first update: sets the model's
    and objective's scheduled values that changed, and returns the trainer settings in force
    (empty where the schedule sets none). Idempotent, so a resumed run reapplies what held."""

    def __init__(self, spec: RunSpec, model: Any, objective: Any, initial: Mapping[str, Any]):
        self.schedule = spec.schedule
        self.components = {spec.model: model}
        if spec.objective is not None:
            self.components[spec.objective] = objective
        self.current = dict(initial)  # every scheduled name's value as built (the spec's configs)

    def __call__(self, step: int) -> dict[str, float]:
        wanted = {**self.current, **settings_at(self.schedule, step)}
        changes: dict[str, dict[str, Any]] = {}
        for name, value in wanted.items():
            owner, _, key = name.partition(".")
            if owner != "train" and self.current.get(name) != value:
                changes.setdefault(owner, {})[key] = value
        for owner, values in changes.items():
            component = self.components[owner]
            if not isinstance(component, MutableHyperparameters):
                raise BenchError(f"'{owner}' declares {', '.join(sorted(values))} mutable but has no set_hyperparameters(changes)")
            component.set_hyperparameters(values)
        self.current = wanted
        return {name.partition(".")[2]: float(value) for name, value in wanted.items() if name.startswith("train.")}


def retuner(spec: RunSpec, model: Any, objective: Any, model_config: Mapping[str, Any], objective_config: Mapping[str, Any]) -> Retuner | None:
    """The trainer's hook for ``spec.schedule`` (None where it has none), knowing each scheduled
    hyperparameter's value as the run was built."""
    if not spec.schedule:
        return None
    initial: dict[str, Any] = {}
    for entry in spec.schedule:
        for name in entry["set"]:
            owner, _, key = name.partition(".")
            if owner == "train":
                initial[name] = getattr(spec.train, key)
            else:
                initial[name] = (model_config if owner == spec.model else objective_config)[key]
    return Retuner(spec, model, objective, initial)
