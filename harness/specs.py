"""Declarative run specs: versioned YAML, validated without running anything.

A spec names a dataset, a model, an objective, their configs, the training budget and a seed::

    version: 1
    include: base.yaml          # optional shared base, merged key by key (this file wins)
    dataset: mc_maze_small      # a registered name or a path
    model: ndt
    objective: mtm
    dataset_config: {}
    model_config: {d_model: 128}
    objective_config: {}
    train: {lr: 0.003, epochs: 200, max_minutes: 10}
    seed: 0
    folds: 5                    # optional: K-fold cross-validation over train + val (0: one split)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from harness.errors import SpecError

SPEC_VERSION = 1
#: The dataset ``bench run`` uses when none is given: synthetic, built in, no download.
DEFAULT_DATASET = "lorenz"
DEFAULT_MODEL = "ndt"
DEFAULT_OBJECTIVE = "random"


@dataclass(frozen=True)
class TrainConfig:
    """The uniform trainer's settings; every run records them."""

    lr: float = 3e-3
    weight_decay: float = 0.05
    batch_size: int = 16
    epochs: int = 200
    #: A budget in optimizer updates instead (0: use ``epochs``). When set, the epoch budget is
    #: ceil(steps / batches per epoch), so a dataset with more trials trains for as many updates.
    steps: int = 0
    warmup_epochs: int = 5
    #: Stop after this many epochs without a better validation co-bps (0 turns it off).
    patience: int = 40
    grad_clip: float = 1.0
    #: Wall-clock budget in minutes, summed over resumed attempts (None: no limit).
    max_minutes: float | None = None
    #: Validate (and checkpoint) every this many epochs.
    eval_every: int = 1
    #: Exponential moving average of the weights (0 turns it off); validation, checkpoints and
    #: predictions use the averaged weights, which generalise better on small datasets.
    ema_decay: float = 0.0
    #: Also train on the held-in spikes of the val and eval trials (NLB allows it: they are the
    #: model's inputs); their held-out units and forward bins are never in the loss.
    heldin_only_trials: bool = False
    #: Sample validation: this share (in [0, 1)) of the training trials' held-in entries is
    #: withheld from input and loss, fixed for the run (seeded by its seed); their reconstruction
    #: is logged every epoch as ``sv_bps``. Works with any model and objective; 0 turns it off.
    sample_validation: float = 0.0
    #: The cosine schedule decays the learning rate to this share of its peak, not to zero.
    lr_floor: float = 0.02
    #: With ``init_from``: the first this many updates train only the new session's layers (the
    #: core loaded from the pretraining run held fixed), then every weight trains.
    freeze_core_steps: int = 0
    #: Train on only this many train trials (0: all), the same seeded subset for every run of a
    #: dataset and nested (the first 10 are among the first 25): few-shot fine-tuning.
    max_train_trials: int = 0


#: The trainer settings a spec's ``schedule`` may change between epochs (the rest fix the run's shape).
MUTABLE_TRAIN_KEYS = ("lr", "weight_decay", "grad_clip")
#: Keys that change how long or where a run goes, not what it computes: left out of the run id,
#: so a run resumed with a larger budget or on another device continues the same run.
_BUDGET_KEYS = ("max_minutes",)
#: Train keys added after runs were recorded: left out of the run id while at their default, so
#: every earlier run keeps its id (and resumes or shows its record as before).
_LATER_KEYS = {"sample_validation": 0.0}
#: Spec fields added after runs and studies were recorded, left out of what is hashed while at
#: their default: unlabelled runs keep their ids and earlier studies their digests.
_LATER_FIELDS = {"label": None, "init_from": None}
#: What :meth:`RunSpec.run_id` takes from the configuration that trains rather than the spec.
TRAINED_KEYS = ("dataset_config", "model_config", "objective_config", "versions")
#: Train keys added after runs and studies were recorded: out of run ids and digests at their default.
_LATER_TRAIN_FIELDS = {"lr_floor": 0.02, "freeze_core_steps": 0, "max_train_trials": 0}


def drop_later_fields_at_default(spec_dict: dict[str, Any]) -> dict[str, Any]:
    """``spec_dict`` (a :meth:`RunSpec.to_dict`) without the later fields that are at their default."""
    for key, default in _LATER_FIELDS.items():
        if key in spec_dict and spec_dict[key] == default:
            spec_dict.pop(key)
    train = spec_dict.get("train") or {}
    for key, default in _LATER_TRAIN_FIELDS.items():
        if key in train and train[key] == default:
            train.pop(key)
    return spec_dict


@dataclass(frozen=True)
class RunSpec:
    dataset: str = DEFAULT_DATASET
    model: str = DEFAULT_MODEL
    objective: str | None = DEFAULT_OBJECTIVE
    dataset_config: Mapping[str, Any] = field(default_factory=dict)
    model_config: Mapping[str, Any] = field(default_factory=dict)
    objective_config: Mapping[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    device: str | None = None
    #: Optuna trial number when a search made this run.
    search_trial: int | None = None
    #: K-fold cross-validation over the labelled (train + val) trials; 0 keeps the dataset's split.
    folds: int = 0
    #: Which fold this run validates on (0 .. folds - 1); None for the cross-validated result itself.
    fold: int | None = None
    #: A name for this configuration's leaderboard row (e.g. "tuned"): runs of one model x
    #: objective under different labels are different rows. Part of the run id only when set.
    label: str | None = None
    #: The run id of a finished run whose shared core (a model registered ``sessions=True``) this
    #: run starts from: fine-tuning a pretrained model on a new session (harness.run.init_from).
    init_from: str | None = None
    #: Hyperparameters that change mid-run (a population-based search's schedule, replayed):
    #: ``({"at": UPDATE, "set": {"lfads.dropout": 0.2, "train.lr": 0.003}}, ...)``, each entry
    #: holding from the first epoch that starts at or after update ``at``. Only hyperparameters
    #: their plugin declares ``mutable`` (harness.run.schedule checks it before anything trains).
    schedule: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        # ``dataset: SET:SESSION`` is ``dataset: SET`` with ``sessions: [SESSION]``: one run, one id.
        name, session = split_session_name(self.dataset)
        if session is not None:
            object.__setattr__(self, "dataset", name)
            object.__setattr__(self, "dataset_config", {**self.dataset_config, "sessions": [session]})
        object.__setattr__(self, "schedule", tuple({"at": entry["at"], "set": dict(entry["set"])} for entry in self.schedule))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = SPEC_VERSION
        for key in ("dataset_config", "model_config", "objective_config"):
            data[key] = dict(data[key])
        data["schedule"] = [{"at": entry["at"], "set": dict(entry["set"])} for entry in self.schedule]
        if not data["schedule"]:  # written only where a run has one: ids, specs and records stay as they were
            data.pop("schedule")
        return data

    def identity(self, trained: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What a run id hashes: this spec without what changes only how long or where it runs
        (device, ``max_minutes``) and without later fields at their default. ``trained`` (see
        :meth:`run_id`) replaces the configs as given by the configs that train and adds versions."""
        identity = self.to_dict()
        identity.pop("device")
        for key in _BUDGET_KEYS:
            identity["train"].pop(key)
        for key, default in _LATER_KEYS.items():
            if identity["train"].get(key) == default:
                identity["train"].pop(key)
        drop_later_fields_at_default(identity)
        if not self.folds:  # single-split runs keep the ids they had before folds existed
            identity.pop("folds")
            identity.pop("fold")
        if trained is not None:
            for key in TRAINED_KEYS:
                identity[key] = trained[key]
        return identity

    def run_id(self, trained: Mapping[str, Any]) -> str:
        """A readable id that is the same for the same experiment, so a rerun resumes it.

        ``trained`` is what trains, as :func:`harness.run.context.run_identity` finds it: the
        ``dataset_config``, ``model_config`` and ``objective_config`` with every plugin default
        merged in (the spec's own train settings already hold the trainer's defaults), and
        ``versions``: the version of bench-harness (its trainer and scorer) and of each
        distribution that provides the run's dataset, model and objective. So a changed plugin
        default or a new plugin release is a new run, and ``--set model.width=64`` where 64 is
        the default is the same run as leaving it out.
        """
        return self._named(self.identity(trained))

    def legacy_run_id(self) -> str:
        """The id run records of schema version 1 have: the spec as given, no defaults, no
        versions. Kept so that runs made before are found (see ``RunIdentity.names``)."""
        return self._named(self.identity())

    def _named(self, identity: Mapping[str, Any]) -> str:
        cv = ""
        if self.folds:
            cv = f"-cv{self.folds}" + ("" if self.fold is None else f"f{self.fold}")
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:10]
        dataset = Path(self.dataset).stem if ("/" in self.dataset or "\\" in self.dataset) else self.dataset
        sessions = list(self.dataset_config.get("sessions") or [])
        if sessions:  # a run on sessions of a set names them (ordinary datasets have no such option)
            dataset += f".{sessions[0]}" if len(sessions) == 1 else f".{len(sessions)}sessions"
        return f"{dataset}-{self.model}-{self.objective or 'direct'}-s{self.seed}{cv}-{digest}"

    def with_overrides(self, **changes: Any) -> RunSpec:
        train_changes = changes.pop("train", None) or {}
        spec = replace(self, **{k: v for k, v in changes.items() if v is not None})
        train_changes = {k: v for k, v in train_changes.items() if v is not None}
        for key, value in train_changes.items():
            if key not in _TRAIN_KEYS:
                raise SpecError("command line", f"train.{key}", f"unknown key; expected one of {', '.join(sorted(_TRAIN_KEYS))}")
            train_changes[key] = _coerce_train_value("command line", key, value)
        if train_changes:
            spec = replace(spec, train=replace(spec.train, **train_changes))
        check_folds(spec, "command line")
        return spec


def split_session_name(dataset: str) -> tuple[str, str | None]:
    """``"SET:SESSION"`` as (SET, SESSION); any other name or a path as (it, None)."""
    if "/" in dataset or "\\" in dataset:
        return dataset, None
    name, colon, session = dataset.partition(":")
    return (name, session) if colon and name and session else (dataset, None)


def check_folds(spec: RunSpec, source: str) -> None:
    """``folds`` is 0 (one split) or at least 2; ``fold`` needs ``folds`` and lies below it."""
    if spec.folds == 1 or spec.folds < 0:
        raise SpecError(source, "folds", f"expected 0 (the dataset's own split) or a fold count >= 2, found {spec.folds}")
    if spec.fold is not None:
        if not spec.folds:
            raise SpecError(source, "fold", f"fold {spec.fold} needs folds: K (the number of folds)")
        if not 0 <= spec.fold < spec.folds:
            raise SpecError(source, "fold", f"expected a fold index in 0..{spec.folds - 1}, found {spec.fold}")


def check_schedule_entries(entries: list[Any], source: str) -> tuple[dict[str, Any], ...]:
    """A spec's ``schedule`` as checked entries: each ``{at: UPDATE, set: {COMPONENT.KEY: number}}``
    with ``at`` a whole number >= 1, rising from entry to entry. Which keys may change mid-run is
    the plugins' to say (:func:`harness.run.schedule.check_schedule`)."""
    checked, last = [], 0
    for position, entry in enumerate(entries):
        where = f"schedule[{position}]"
        if not isinstance(entry, Mapping) or set(entry) != {"at", "set"}:
            raise SpecError(source, where, f"expected a mapping with 'at' (an update) and 'set' (COMPONENT.KEY: value), found {entry!r}")
        at, changes = entry["at"], entry["set"]
        if isinstance(at, bool) or not isinstance(at, int) or at <= last:
            raise SpecError(source, f"{where}.at", f"expected a whole number of updates above {last} (entries in order), found {at!r}")
        if not isinstance(changes, Mapping) or not changes:
            raise SpecError(source, f"{where}.set", f"expected a non-empty mapping of COMPONENT.KEY to a value, found {changes!r}")
        for name, value in changes.items():
            if not isinstance(name, str) or "." not in name:
                raise SpecError(source, f"{where}.set.{name}", "expected a name like lfads.dropout or train.lr")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(source, f"{where}.set.{name}", f"expected a number, found {value!r}")
        checked.append({"at": at, "set": dict(changes)})
        last = at
    return tuple(checked)


_TOP_KEYS = {f.name for f in fields(RunSpec)} | {"version", "include"}
_TRAIN_KEYS = {f.name: f for f in fields(TrainConfig)}
_TYPES: dict[str, tuple[type, ...]] = {
    "dataset": (str,),
    "model": (str,),
    "objective": (str, type(None)),
    "dataset_config": (dict,),
    "model_config": (dict,),
    "objective_config": (dict,),
    "train": (dict,),
    "seed": (int,),
    "device": (str, type(None)),
    "search_trial": (int, type(None)),
    "folds": (int,),
    "fold": (int, type(None)),
    "label": (str, type(None)),
    "init_from": (str, type(None)),
    "schedule": (list,),
    "version": (int,),
}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(str(path), "(file)", f"cannot read: {error.strerror or error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SpecError(str(path), "(file)", f"not valid YAML: {error}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(str(path), "(top level)", f"expected a mapping of keys, found {type(data).__name__}")
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_spec_mapping(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The spec file as a mapping, with ``include:`` bases merged in (relative to the file)."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _seen:
        raise SpecError(str(path), "include", "includes itself (a cycle)")
    data = _read_yaml(path)
    include = data.pop("include", None)
    if include is None:
        return data
    includes = include if isinstance(include, list) else [include]
    base: dict[str, Any] = {}
    for item in includes:
        if not isinstance(item, str):
            raise SpecError(str(path), "include", f"expected a file name, found {item!r}")
        base = _merge(base, read_spec_mapping(path.parent / item, (*_seen, resolved)))
    return _merge(base, data)


def spec_from_mapping(data: Mapping[str, Any], source: str = "<spec>") -> RunSpec:
    """Check every key and type; the error names the bad key."""
    for key in data:
        if key not in _TOP_KEYS:
            raise SpecError(source, key, f"unknown key; expected one of {', '.join(sorted(_TOP_KEYS - {'include'}))}")
        if not isinstance(data[key], _TYPES.get(key, (object,))) or isinstance(data[key], bool) and key in ("seed", "version", "folds", "fold"):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in _TYPES[key])
            raise SpecError(source, key, f"expected {expected}, found {data[key]!r}")
    version = data.get("version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise SpecError(source, "version", f"this harness reads spec version {SPEC_VERSION}, found {version}")
    train = dict(data.get("train") or {})
    for key, value in train.items():
        if key not in _TRAIN_KEYS:
            raise SpecError(source, f"train.{key}", f"unknown key; expected one of {', '.join(sorted(_TRAIN_KEYS))}")
        train[key] = _coerce_train_value(source, key, value)
    values = {key: data[key] for key in data if key not in ("version", "include", "train", "schedule")}
    spec = RunSpec(**values, train=TrainConfig(**train), schedule=check_schedule_entries(data.get("schedule") or [], source))
    check_folds(spec, source)
    return spec


def _coerce_train_value(source: str, key: str, value: Any) -> Any:
    default = getattr(TrainConfig(), key)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SpecError(source, f"train.{key}", f"expected true or false, found {value!r}")
        return value
    if value is None and key == "max_minutes":
        return None
    expected = float if isinstance(default, float) or key == "max_minutes" else type(default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(source, f"train.{key}", f"expected a number, found {value!r}")
    if expected is int and not float(value).is_integer():
        raise SpecError(source, f"train.{key}", f"expected a whole number, found {value!r}")
    if value < 0:
        raise SpecError(source, f"train.{key}", f"expected a value >= 0, found {value!r}")
    if key in _BELOW_ONE and value >= 1:
        raise SpecError(source, f"train.{key}", f"expected a share in [0, 1), found {value!r}")
    return expected(value)


#: Train keys that are shares of something and must stay below 1.
_BELOW_ONE = ("sample_validation", "lr_floor")


def load_spec(path: str | Path) -> RunSpec:
    return spec_from_mapping(read_spec_mapping(path), source=str(path))


def dump_spec(spec: RunSpec) -> str:
    return yaml.safe_dump(spec.to_dict(), sort_keys=False)


def parse_assignments(assignments: list[str] | None) -> dict[str, dict[str, Any]]:
    """``--set model.d_model=64 --set train.lr=1e-3`` as nested dicts (values read as YAML)."""
    groups: dict[str, dict[str, Any]] = {}
    for assignment in assignments or []:
        key, sep, raw = assignment.partition("=")
        section, dot, name = key.partition(".")
        allowed = ("dataset", "model", "objective", "train")
        if not sep or not dot or section not in allowed or not name:
            raise SpecError("--set", assignment, f"expected SECTION.KEY=VALUE with SECTION one of {', '.join(allowed)}")
        groups.setdefault(section, {})[name] = yaml_value(raw)
    return groups


def yaml_value(raw: str) -> Any:
    value = yaml.safe_load(raw)
    if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string; a number was meant
        try:
            return float(value)
        except ValueError:
            return value
    return value
