"""Search specs: what ``bench tune`` searches, as versioned YAML validated without running.

A search spec names a base run spec (dataset, seed, training budget), the model families to
search, how to narrow, extend or fix the plugins' declared search spaces, the sampler, the
pruner and the budgets::

    version: 1
    kind: search                       # tells bench validate this is a search, not a run
    base: ndt_mtm_mc_maze_small.yaml   # a run spec (relative to this file) or a mapping
    families:                          # optional; default: the base spec's model and objective
      - {model: ndt, objective: mtm}
      - {model: ndt, objective: random}
    space:                             # COMPONENT.KEY or train.KEY, as the dashboard shows them
      ndt.width: {high: 48}            # narrows the declared range (merged into it)
      train.weight_decay: {type: float, low: 0.001, high: 0.2, log: true}   # extends
    fixed: {train.steps: 2000, ndt.depth: 2}      # never sampled
    study: ndt-mc_maze_small           # default: the file name
    sampler: {name: tpe, seed: 0}      # tpe, gp or random (with their Optuna options)
    pruner: {name: median, n_warmup_steps: 100}   # median, hyperband or none
    trials: 30
    folds: 5                           # score trials by pooled K-fold val; 0: the one split
                                       # (default: the task's K where eval targets are withheld)
    max_minutes: 110                   # the whole study (per worker)
    trial_max_minutes: 4               # each trial

Parameter names are ``COMPONENT.KEY`` for a model's or objective's config key (``ndt.width``,
``mtm.mask_ratio``) and ``train.KEY`` for a trainer setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import SpecError
from harness.specs import SPEC_VERSION, RunSpec, load_spec, read_spec_mapping, spec_from_mapping

SEARCH_KIND = "search"
SAMPLERS = ("tpe", "gp", "random", "pbt")  # pbt: population-based training, on Ray Tune only
PRUNERS = ("median", "hyperband", "none")
#: Population-based training's options (``sampler: {name: pbt, ...}``) and their defaults: a
#: member reports every ``interval`` updates; the bottom ``quantile`` then takes the top's
#: weights, each mutable value perturbed (x0.8, x1.2) or, with ``resample_probability``, redrawn.
PBT_DEFAULTS = {"interval": 400, "quantile": 0.25, "resample_probability": 0.25, "seed": 0}
DEFAULT_TRIALS = 20

_KEYS = {
    "version", "kind", "base", "dataset", "seed", "families", "space", "fixed", "study",
    "sampler", "pruner", "trials", "max_minutes", "trial_max_minutes", "baseline", "folds",
}


@dataclass(frozen=True)
class Family:
    """One model with one objective (None for closed-form models): a choice of a search."""

    model: str
    objective: str | None

    @property
    def label(self) -> str:
        return f"{self.model}/{self.objective}" if self.objective else self.model


@dataclass(frozen=True)
class SearchSpec:
    base: RunSpec
    families: tuple[Family, ...]
    #: Parameter specs by name: a mapping with ``type`` replaces (or adds) a parameter, one
    #: without is merged into the declared spec (a narrower range, other choices).
    space: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    study: str | None = None
    sampler: Mapping[str, Any] = field(default_factory=lambda: {"name": "tpe"})
    pruner: Mapping[str, Any] = field(default_factory=lambda: {"name": "median"})
    trials: int = DEFAULT_TRIALS
    max_minutes: float | None = None
    trial_max_minutes: float | None = None
    #: Enqueue the configuration as it stands (base spec, fixed values, the plugins' defaults) as
    #: a new study's first trial: what the search must beat, and a good point for the sampler.
    baseline: bool = False
    #: Score each trial by the pooled validation metric of this many folds (0: the dataset's own
    #: split). None: not chosen, so the task's protocol decides (:func:`harness.search.worker.protocol_search`).
    folds: int | None = None
    #: The file it came from ("command line" when options built it); errors name it.
    source: str = "command line"


def is_search_mapping(data: Mapping[str, Any]) -> bool:
    return data.get("kind") == SEARCH_KIND


def is_search_file(path: str | Path) -> bool:
    """Whether a spec file is a search spec (``kind: search``) rather than a run spec."""
    return is_search_mapping(read_spec_mapping(path))


def load_search_spec(path: str | Path) -> SearchSpec:
    path = Path(path)
    return search_spec_from_mapping(read_spec_mapping(path), source=str(path), folder=path.parent)


def search_spec_from_mapping(data: Mapping[str, Any], source: str = "<search spec>", folder: Path | None = None) -> SearchSpec:
    """Check every key and type of a search spec; the error names the key. Registered names and
    parameter keys are checked later, against the installed plugins (:func:`harness.search.space.build_plan`)."""
    for key in data:
        if key not in _KEYS:
            raise SpecError(source, key, f"unknown key; expected one of {', '.join(sorted(_KEYS))}")
    if data.get("version", SPEC_VERSION) != SPEC_VERSION:
        raise SpecError(source, "version", f"this harness reads spec version {SPEC_VERSION}, found {data.get('version')!r}")
    if data.get("kind") != SEARCH_KIND:
        raise SpecError(source, "kind", f"a search spec says 'kind: {SEARCH_KIND}', found {data.get('kind')!r}")
    base = _base_spec(data.get("base"), source, folder or Path("."))
    overrides = {key: data[key] for key in ("dataset", "seed") if key in data}
    if "dataset" in overrides and not isinstance(overrides["dataset"], str):
        raise SpecError(source, "dataset", f"expected a dataset name or path, found {overrides['dataset']!r}")
    if "seed" in overrides and (isinstance(overrides["seed"], bool) or not isinstance(overrides["seed"], int)):
        raise SpecError(source, "seed", f"expected a whole number, found {overrides['seed']!r}")
    base = base.with_overrides(**overrides)
    return SearchSpec(
        base=base,
        families=_families(data.get("families"), base, source),
        space=_space(data.get("space"), source),
        fixed=_mapping(data.get("fixed"), source, "fixed"),
        study=_study_name(data.get("study"), source),
        sampler=choice_setting(data.get("sampler", "tpe"), SAMPLERS, source, "sampler"),
        pruner=choice_setting(data.get("pruner", "median"), PRUNERS, source, "pruner"),
        trials=_count(data.get("trials", DEFAULT_TRIALS), source, "trials"),
        max_minutes=_minutes(data.get("max_minutes"), source, "max_minutes"),
        trial_max_minutes=_minutes(data.get("trial_max_minutes"), source, "trial_max_minutes"),
        baseline=_flag(data.get("baseline", False), source, "baseline"),
        folds=_folds(data.get("folds"), source),
        source=source,
    )


def _base_spec(base: Any, source: str, folder: Path) -> RunSpec:
    if base is None:
        raise SpecError(source, "base", "name the run spec the trials start from (a file relative to this one, or a mapping)")
    if isinstance(base, str):
        path = folder / base
        if not path.is_file():
            raise SpecError(source, "base", f"no run spec {path}")
        return load_spec(path)
    if isinstance(base, dict):
        return spec_from_mapping(base, source=f"{source} (base)")
    raise SpecError(source, "base", f"expected a run spec file name or a mapping, found {base!r}")


def _families(raw: Any, base: RunSpec, source: str) -> tuple[Family, ...]:
    if raw is None:
        return (Family(base.model, base.objective),)
    if not isinstance(raw, list) or not raw:
        raise SpecError(source, "families", "expected a non-empty list of {model: NAME, objective: NAME}")
    families = []
    for position, item in enumerate(raw):
        where = f"families[{position}]"
        if not isinstance(item, dict) or not isinstance(item.get("model"), str) or set(item) - {"model", "objective"}:
            raise SpecError(source, where, f"expected {{model: NAME, objective: NAME}}, found {item!r}")
        objective = item.get("objective")
        if objective is not None and not isinstance(objective, str):
            raise SpecError(source, f"{where}.objective", f"expected an objective name or null, found {objective!r}")
        family = Family(item["model"], objective)
        if family in families:
            raise SpecError(source, where, f"{family.label} is listed twice")
        families.append(family)
    return tuple(families)


def _mapping(raw: Any, source: str, key: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(source, key, f"expected a mapping of parameter names, found {raw!r}")
    for name in raw:
        section, dot, rest = str(name).partition(".")
        if not dot or not section or not rest:
            raise SpecError(source, f"{key}.{name}", "expected COMPONENT.KEY (e.g. ndt.width) or train.KEY")
    return dict(raw)


def _space(raw: Any, source: str) -> dict[str, Mapping[str, Any]]:
    space = _mapping(raw, source, "space")
    for name, spec in space.items():
        if not isinstance(spec, dict) or not spec:
            raise SpecError(source, f"space.{name}", f"expected a parameter spec mapping (type, low, high, ...), found {spec!r}")
    return space


def trial_spec_text(record: Mapping[str, Any], label: str, header: str) -> str:
    """A search trial's run as run spec YAML (its schedule included): the same settings, seed and
    budget, no trial number, and ``label`` so that its runs get a leaderboard row of their own;
    ``header``, then the run id, is its first comment line."""
    from harness.specs import dump_spec

    spec = spec_from_mapping({**record["spec"], "search_trial": None, "device": None, "label": label}, source=record["run_id"])
    return f"{header}, run {record['run_id']}.\n" + dump_spec(spec)


def check_pbt_options(sampler: Mapping[str, Any], source: str) -> dict[str, Any]:
    """PBT's options with their defaults; an unknown or out-of-range one is refused by name."""
    unknown = set(sampler) - {"name", *PBT_DEFAULTS}
    if unknown:
        raise SpecError(source, f"sampler.{sorted(unknown)[0]}", f"pbt takes {', '.join(sorted(PBT_DEFAULTS))}")
    options = {**PBT_DEFAULTS, **{key: value for key, value in sampler.items() if key != "name"}}
    checks = {
        "interval": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "a whole number of updates >= 1"),
        "quantile": (lambda v: isinstance(v, (int, float)) and 0 < v <= 0.5, "a share in (0, 0.5]"),
        "resample_probability": (lambda v: isinstance(v, (int, float)) and 0 <= v <= 1, "a probability in [0, 1]"),
        "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    }
    for key, (good, expected) in checks.items():
        if not good(options[key]):
            raise SpecError(source, f"sampler.{key}", f"expected {expected}, found {options[key]!r}")
    return options


def choice_setting(raw: Any, names: tuple[str, ...], source: str, key: str) -> dict[str, Any]:
    """``tpe`` or ``{name: tpe, seed: 0, ...}`` as a mapping with a known ``name``."""
    setting = {"name": raw} if isinstance(raw, str) else dict(raw) if isinstance(raw, dict) else None
    if setting is None or setting.get("name") not in names:
        raise SpecError(source, key, f"expected one of {', '.join(names)} (or a mapping with 'name'), found {raw!r}")
    return setting


def _study_name(raw: Any, source: str) -> str | None:
    if raw is not None and (not isinstance(raw, str) or not raw.strip()):
        raise SpecError(source, "study", f"expected a study name, found {raw!r}")
    return raw


def _count(raw: Any, source: str, key: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise SpecError(source, key, f"expected a whole number >= 1, found {raw!r}")
    return raw


def _flag(raw: Any, source: str, key: str) -> bool:
    if not isinstance(raw, bool):
        raise SpecError(source, key, f"expected true or false, found {raw!r}")
    return raw


def _folds(raw: Any, source: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw == 1 or raw < 0:
        raise SpecError(source, "folds", f"expected 0 (the dataset's own split) or a fold count >= 2, found {raw!r}")
    return raw


def _minutes(raw: Any, source: str, key: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
        raise SpecError(source, key, f"expected minutes > 0, found {raw!r}")
    return float(raw)
