"""What a search samples: each family's parameters, their ranges and conditions, and the run
spec a trial's values make.

Models and objectives declare their search spaces beside their defaults (a registry entry's
``search_space``); a search spec narrows, extends or fixes them. Parameters are named as Optuna
stores them: ``COMPONENT.KEY`` for a model's or objective's config key and ``train.KEY`` for a
trainer setting; with several families a categorical ``family`` parameter picks one, and only
that family's parameters are sampled (Optuna's define-by-run conditional spaces).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.errors import BenchError, SpecError
from harness.plugin.host import Host
from harness.plugin.registry import Entry, parameter_problem
from harness.search.spec import Family, SearchSpec
from harness.specs import TrainConfig, drop_later_fields_at_default

#: The parameter that picks the model family when a study searches several.
FAMILY = "family"
_PRIMITIVE = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Parameter:
    name: str  # as Optuna stores it: "ndt.width", "train.lr"
    section: str  # "model", "objective" or "train"
    key: str  # the config key or trainer setting it sets
    spec: Mapping[str, Any]  # type, low/high/log/step or choices
    condition: Mapping[str, Any]  # {parameter name: required value, or a list of allowed values}

    def plain_choices(self) -> bool:
        return all(isinstance(choice, _PRIMITIVE) for choice in self.spec["choices"])

    def stored_choices(self) -> list[Any]:
        """A categorical's choices as Optuna stores them: only plain values, so lists and
        mappings go in as their JSON text."""
        choices = list(self.spec["choices"])
        return choices if self.plain_choices() else [json.dumps(c, sort_keys=True) for c in choices]

    def suggest(self, trial: Any) -> Any:
        spec = self.spec
        if spec["type"] == "categorical":
            choice = trial.suggest_categorical(self.name, self.stored_choices())
            return choice if self.plain_choices() else json.loads(choice)
        if spec["type"] == "int":
            return trial.suggest_int(self.name, int(spec["low"]), int(spec["high"]), step=int(spec.get("step") or 1), log=bool(spec.get("log")))
        return trial.suggest_float(self.name, float(spec["low"]), float(spec["high"]), step=spec.get("step"), log=bool(spec.get("log")))

    def stored(self, value: Any) -> Any:
        """``value`` as Optuna stores it for this parameter, or None when it lies outside the
        range or choices (a narrowed space)."""
        spec = self.spec
        if spec["type"] == "categorical":
            stored = value if self.plain_choices() else json.dumps(value, sort_keys=True)
            return stored if stored in self.stored_choices() else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not spec["low"] <= value <= spec["high"]:
            return None
        if spec["type"] == "int":
            step = int(spec.get("step") or 1)
            return int(value) if float(value).is_integer() and (int(value) - int(spec["low"])) % step == 0 else None
        return float(value)

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether its condition holds for the values sampled so far (or fixed by the spec)."""
        for other, required in self.condition.items():
            value = values.get(other)
            if not (value in required if isinstance(required, list) else value == required):
                return False
        return True


@dataclass(frozen=True)
class SearchPlan:
    """A checked search: the families, each family's ordered parameters, and the fixed values."""

    search: SearchSpec
    parameters: Mapping[Family, tuple[Parameter, ...]]
    #: Per family, every parameter's value when not sampled (fixed, base spec, or default):
    #: what conditions compare with.
    settled: Mapping[Family, Mapping[str, Any]]

    @property
    def families(self) -> tuple[Family, ...]:
        return self.search.families

    def sample(self, trial: Any) -> tuple[Family, dict[str, Any]]:
        """Ask ``trial`` for a family and its parameters; returns the family and the values."""
        family = self.families[0]
        if len(self.families) > 1:
            labels = [f.label for f in self.families]
            family = self.families[labels.index(trial.suggest_categorical(FAMILY, labels))]
        values = dict(self.settled[family])
        sampled = {}
        for parameter in self.parameters[family]:  # ordered: a condition's parameter comes first
            if parameter.applies(values):
                sampled[parameter.name] = values[parameter.name] = parameter.suggest(trial)
        return family, sampled

    def baseline(self) -> dict[str, Any]:
        """The first family's configuration as it stands without search (base spec, fixed values,
        the plugins' defaults) as Optuna parameter values, to enqueue as a trial; a value outside
        a narrowed range is left to the sampler."""
        family = self.families[0]
        settled = self.settled[family]
        values: dict[str, Any] = {FAMILY: family.label} if len(self.families) > 1 else {}
        for parameter in self.parameters[family]:
            if parameter.name in settled and parameter.applies(settled):
                stored = parameter.stored(settled[parameter.name])
                if stored is not None:
                    values[parameter.name] = stored
        return values

    def run_spec(self, family: Family, values: Mapping[str, Any]):
        """The base spec run as ``family`` with the fixed and sampled ``values`` applied."""
        base = self.search.base
        configs = {
            "model": dict(base.model_config) if base.model == family.model else {},
            "objective": dict(base.objective_config) if base.objective == family.objective else {},
            "train": {},
        }
        for name, value in {**self.fixed_for(family), **values}.items():
            section, key = _target(name, family)
            configs[section][key] = value
        spec = replace(base, model=family.model, objective=family.objective, model_config=configs["model"], objective_config=configs["objective"])
        return spec.with_overrides(train=configs["train"])

    def fixed_for(self, family: Family) -> dict[str, Any]:
        return {name: value for name, value in self.search.fixed.items() if _target(name, family) is not None}

    def describe(self) -> dict[str, Any]:
        """The search as plain JSON (stored with the study; its digest names what was searched)."""
        base = self.search.base.to_dict()
        base.pop("device")
        base["train"].pop("max_minutes")  # a budget, not part of what is searched
        drop_later_fields_at_default(base)  # studies made before a field existed keep their digest
        return {
            "base": base,
            "families": [family.label for family in self.families],
            # "mutable" says how a population-based search may use a parameter, not what is searched
            "space": {f.label: {p.name: {**_without(p.spec, "mutable"), "condition": dict(p.condition)} for p in self.parameters[f]} for f in self.families},
            "fixed": dict(self.search.fixed),
        }

    def digest(self) -> str:
        text = json.dumps(self.describe(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _without(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def _target(name: str, family: Family) -> tuple[str, str] | None:
    """(section, key) a parameter name sets in ``family``'s run, or None if it is not one of its own."""
    owner, _, key = name.partition(".")
    if owner == "train":
        return "train", key
    if owner == family.model:
        return "model", key
    if family.objective is not None and owner == family.objective:
        return "objective", key
    return None


def _declared(entry: Entry) -> dict[str, dict[str, Any]]:
    """An entry's declared space under search names, conditions renamed alike."""

    def rename(key: str) -> str:
        return key if key.startswith("train.") else f"{entry.name}.{key}"

    space = {}
    for key, spec in entry.search_space.items():
        spec = dict(spec)
        if "condition" in spec:
            spec["condition"] = {rename(other): value for other, value in spec["condition"].items()}
        space[rename(key)] = spec
    return space


def build_plan(host: Host, search: SearchSpec) -> SearchPlan:
    """Check ``search`` against the installed plugins and order each family's parameters.

    Errors are :class:`SpecError` naming the search spec's key (``families[1].model``,
    ``space.ndt.widht``, ``fixed.train.lrr``).
    """
    source = search.source
    entries: dict[Family, tuple[Entry, Entry | None]] = {}
    for position, family in enumerate(search.families):
        if family.model == "train" or family.objective == "train":
            raise SpecError(source, f"families[{position}]", "'train' names the trainer settings, not a component")
        try:
            model = host.registries.models.get(family.model)
            if model.direct_fit:
                family_objective = None
            elif family.objective is None:
                raise BenchError(f"model '{family.model}' is trained by gradient descent and needs an objective")
            else:
                family_objective = host.registries.objectives.get(family.objective)
        except BenchError as error:
            raise SpecError(source, f"families[{position}]", str(error)) from None
        entries[family] = (model, family_objective)

    for section, names in (("space", search.space), ("fixed", search.fixed)):
        for name in names:
            _check_name(source, f"{section}.{name}", name, entries)
    for name, spec in search.space.items():
        if "condition" in spec:
            for other in spec["condition"]:
                if other != FAMILY:
                    _check_name(source, f"space.{name}.condition.{other}", other, entries)

    parameters, settled = {}, {}
    for family, (model, objective) in entries.items():
        space = _declared(model)
        if objective is not None:  # a trainer setting both declare keeps the model's range
            space = {**_declared(objective), **space}
        for name, override in search.space.items():
            if _target(name, family) is None:
                continue
            # with a type it replaces (or adds) the parameter; without, it narrows the declared one
            space[name] = dict(override) if "type" in override or name not in space else {**space[name], **override}
        for name in search.fixed:
            space.pop(name, None)
        for name, spec in space.items():
            problem = parameter_problem(spec)
            if problem:
                declared = "" if name in search.space else f" (declared by its plugin, for {family.label})"
                raise SpecError(source, f"space.{name}", problem + declared)
        settled[family] = _settled_values(search, family, model, objective)
        parameters[family] = _ordered(source, family, space, settled[family])
    return SearchPlan(search=search, parameters=parameters, settled=settled)


def _check_name(source: str, where: str, name: str, entries: Mapping[Family, tuple[Entry, Entry | None]]) -> None:
    """A parameter name must set a trainer setting, or a config key of some family's component."""
    owner, _, key = name.partition(".")
    if owner == "train":
        if key not in TrainConfig.__dataclass_fields__:
            known = ", ".join(sorted(TrainConfig.__dataclass_fields__))
            raise SpecError(source, where, f"no trainer setting '{key}' (known: {known})")
        return
    components = {entry.name: entry for pair in entries.values() for entry in pair if entry is not None}
    if owner not in components:
        raise SpecError(source, where, f"'{owner}' is not a model or objective of this search (searched: {', '.join(sorted(components))}); use COMPONENT.KEY or train.KEY")
    if key not in components[owner].defaults:
        known = ", ".join(sorted(components[owner].defaults)) or "none"
        raise SpecError(source, where, f"{components[owner].kind} '{owner}' has no option '{key}'. Known options: {known}")


def _settled_values(search: SearchSpec, family: Family, model: Entry, objective: Entry | None) -> dict[str, Any]:
    base = search.base
    values: dict[str, Any] = {f"train.{key}": value for key, value in vars(base.train).items()}
    for entry, own in ((model, base.model_config if base.model == family.model else {}), (objective, base.objective_config if objective is not None and base.objective == family.objective else {})):
        if entry is not None:
            values.update({f"{entry.name}.{key}": value for key, value in {**entry.defaults, **own}.items()})
    values.update({name: value for name, value in search.fixed.items() if _target(name, family) is not None})
    values[FAMILY] = family.label  # a condition may name the family
    return values


def _ordered(source: str, family: Family, space: Mapping[str, Mapping[str, Any]], settled: Mapping[str, Any]) -> tuple[Parameter, ...]:
    """Parameters in an order where each condition's parameter is sampled before it."""
    pending = dict(space)
    ordered: list[Parameter] = []
    while pending:
        ready = [name for name, spec in pending.items() if not set(spec.get("condition", {})) & set(pending)]
        if not ready:
            raise SpecError(source, "space", f"the conditions of {', '.join(sorted(pending))} ({family.label}) depend on each other in a cycle")
        for name in ready:
            spec = pending.pop(name)
            condition = dict(spec.get("condition", {}))
            for other in condition:
                if other not in space and other not in settled:
                    raise SpecError(source, f"space.{name}", f"its condition names '{other}', which {family.label} neither samples nor configures")
            section, key = _target(name, family)
            ordered.append(Parameter(name, section, key, {k: v for k, v in spec.items() if k != "condition"}, condition))
    return tuple(ordered)
