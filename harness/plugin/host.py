"""A typed facade over the hooks: the trainer, scorer and CLI call these, never ``pm.hook.*``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from harness.contracts import Ensembler, RunInfo, Task
from harness.errors import BenchError
from harness.plugin.manager import load_report, make_plugin_manager
from harness.plugin.registry import DatasetEntry, Entry, ModelEntry, Register, Registries, TaskEntry
from harness.sessions import SESSIONS_OPTION, SessionSet, SessionShapes, check_session_names, session_objectives
from harness.specs import RunSpec, split_session_name

if TYPE_CHECKING:
    import torch


_REGISTRATION_HOOKS = (
    ("bench_register_datasets", "dataset", DatasetEntry),
    ("bench_register_models", "model", ModelEntry),
    ("bench_register_objectives", "objective", Entry),
    ("bench_register_ensemblers", "ensembler", Entry),
    ("bench_register_tasks", "task", TaskEntry),
)


def merged_config(entry: Entry, config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The entry's defaults updated by ``config``; unknown keys are refused with the known ones."""
    merged = dict(entry.defaults)
    for key, value in (config or {}).items():
        if key not in entry.defaults:
            known = ", ".join(sorted(entry.defaults)) or "none"
            raise BenchError(f"{entry.kind} '{entry.name}' has no option '{key}'. Known options: {known}")
        merged[key] = value
    return merged


@dataclass(frozen=True)
class HostRecipe:
    """How a host's plugin manager was made, so that another process (a Ray worker) can make the
    same one: the allow and block lists and the in-process plugins (objects of importable classes,
    pickled with the recipe)."""

    allow: frozenset[str] | None = None
    block: frozenset[str] = frozenset()
    extra_plugins: tuple[object, ...] = ()

    def build(self) -> Host:
        manager = make_plugin_manager(self.allow, self.block, extra_plugins=self.extra_plugins)
        return Host(manager, recipe=self)


class Host:
    """The harness' view of its plugins."""

    def __init__(self, manager: pluggy.PluginManager | None = None, *, recipe: HostRecipe | None = None):
        self.manager = manager if manager is not None else make_plugin_manager()
        #: How to make this host again elsewhere; None for a manager built by hand.
        self.recipe = recipe if manager is not None else HostRecipe()

    @property
    def plugin_versions(self) -> dict[str, str]:
        """Every loaded plugin distribution's version, by distribution (what a record names)."""
        return {info.distribution: info.version for info in load_report(self.manager).loaded if not info.builtin}

    @cached_property
    def registries(self) -> Registries:
        registries = Registries()
        for hook_name, kind, entry_type in _REGISTRATION_HOOKS:
            hook = getattr(self.manager.hook, hook_name)
            for implementation in reversed(hook.get_hookimpls()):  # registration order
                plugin_name = implementation.plugin_name
                others = [p for p in self.manager.get_plugins() if self.manager.get_name(p) != plugin_name]
                caller = self.manager.subset_hook_caller(hook_name, remove_plugins=others)
                caller(register=Register(registries.by_kind(kind), plugin_name, entry_type))
        return registries

    # -- datasets ---------------------------------------------------------------------------
    def resolve_dataset(self, name_or_path: str, config: Mapping[str, Any] | None = None) -> tuple[DatasetEntry, dict]:
        """A registered name, or a path some plugin claims, as (entry, merged config)."""
        config = dict(config or {})
        name, session = split_session_name(name_or_path)
        if session is not None and name in self.registries.datasets:  # SET:SESSION
            name_or_path, config = name, {**config, SESSIONS_OPTION: [session]}
        if name_or_path in self.registries.datasets:
            entry = self.registries.datasets.get(name_or_path)
            if config.get(SESSIONS_OPTION) and SESSIONS_OPTION not in entry.defaults:
                raise BenchError(f"dataset '{entry.name}' is not a session set: it has no sessions to pick")
            merged = merged_config(entry, config)
            if entry.sessions and all(merged[key] == entry.defaults[key] for key in merged if key != SESSIONS_OPTION):
                check_session_names(entry.name, entry.sessions, merged[SESSIONS_OPTION] or ())
            return entry, merged
        path = Path(name_or_path).expanduser()
        if path.exists():
            claim = self.manager.hook.bench_dataset_for_path(path=path.resolve())
            if claim is None:
                raise BenchError(
                    f"{path}: no installed dataset plugin reads this file or folder "
                    "(bench plugins lists what is installed)"
                )
            name, path_config = claim
            entry = self.registries.datasets.get(name)
            return entry, merged_config(entry, {**path_config, **config})
        if any(sep in name_or_path for sep in ("/", "\\")) or Path(name_or_path).suffix:
            raise BenchError(f"{name_or_path}: no such file or folder")
        self.registries.datasets.get(name_or_path)  # raises with suggestions
        raise AssertionError("unreachable")

    def dataset(self, name_or_path: str, config: Mapping[str, Any] | None = None) -> Any:
        return self.load_dataset(name_or_path, config)[0]

    def load_dataset(self, name_or_path: str, config: Mapping[str, Any] | None = None) -> tuple[Any, dict]:
        """The dataset (DatasetTensors, EncodingData: what its task reads) and the merged config it
        was loaded with (what a run records)."""
        entry, merged = self.resolve_dataset(name_or_path, config)
        data = entry.load()(merged)
        task_name = getattr(data, "task", None)
        if not isinstance(task_name, str) or task_name not in self.registries.tasks:
            raise BenchError(
                f"dataset '{entry.name}' (plugin {entry.plugin}) returned {type(data).__name__} whose task "
                f"{task_name!r} is not a registered task (known: {', '.join(self.registries.tasks.names())})"
            )
        self.task(task_name).check_data(data)
        return data, merged

    def recorded_dataset(self, recorded: Mapping[str, Any], trained: str) -> Any:
        """The dataset a record names (its ``dataset`` entry), refused if it no longer loads with the
        recorded checksum: saved predictions would not match its trials. ``trained`` says whose
        predictions they are ("run X was", "the runs were")."""
        data = self.dataset(recorded["name"], recorded["config"])
        if data.checksum != recorded["checksum"]:
            raise BenchError(
                f"dataset '{recorded['name']}' now loads with checksum {data.checksum[:12]}, but {trained} "
                f"trained on {recorded['checksum'][:12]}: the predictions may not match these trials"
            )
        return data

    # -- components -------------------------------------------------------------------------
    def default_spec(self, model: str | None = None) -> RunSpec:
        """The built-in run for ``model`` (default: the default model): its tuned trainer settings
        and its default objective where it names one."""
        spec = RunSpec()
        name = model or spec.model
        entry = self.registries.models.get(name)
        spec = spec.with_overrides(model=name, train=dict(entry.train_defaults))
        if entry.default_objective:  # e.g. an encoding model's augmentation, not NLB's default masking
            spec = spec.with_overrides(objective=entry.default_objective)
        return spec

    def task(self, name: str) -> Task:
        """The registered task ``name``, built once per host."""
        tasks = self.__dict__.setdefault("_tasks", {})
        if name not in tasks:
            entry = self.registries.tasks.get(name)
            task = entry.load()()
            if not isinstance(task, Task):
                raise BenchError(f"task '{name}' (plugin {entry.plugin}) does not honour the Task contract (harness.contracts.Task)")
            tasks[name] = task
        return tasks[name]

    def task_of(self, data: Any) -> Task:
        """The task ``data`` poses (its ``task`` field)."""
        return self.task(data.task)

    def check_serves(self, kind: str, name: str, task: str) -> Entry:
        """The registry entry of ``kind`` ``name``, refused when it does not serve ``task`` (a
        task with a ``component_task``, the session-set task, is served by that task's components)."""
        entry = self.registries.by_kind(kind).get(name)
        served_by = getattr(self.task(task), "component_task", task) if task in self.registries.tasks else task
        if task not in entry.tasks and served_by not in entry.tasks:
            raise BenchError(
                f"{kind} '{name}' serves {', '.join(entry.tasks)}, but the dataset's task is {task}: "
                f"pick one that serves {task} (bench plugins lists them)"
            )
        return entry

    def model(self, name: str, shape: Any, config: Mapping[str, Any] | None = None, task: str | None = None) -> torch.nn.Module:
        """Build model ``name`` with its task's ``shape``; ``task`` (the dataset's) refuses a
        model built for another task."""
        import torch

        entry = self.registries.models.get(name) if task is None else self.check_serves("model", name, task)
        if isinstance(shape, SessionShapes) and not entry.sessions:
            raise BenchError(
                f"model '{name}' (plugin {entry.plugin}) does not support session sets (no per-session read-in/read-out): "
                "pick one registered with sessions=True, or run on one session (--dataset SET:SESSION)"
            )
        model = entry.load()(shape, merged_config(entry, config))
        if not isinstance(model, torch.nn.Module):
            raise BenchError(f"model '{name}' (plugin {entry.plugin}) built {type(model).__name__}, not a torch.nn.Module")
        return model

    def objective(self, name: str, data: Any, config: Mapping[str, Any] | None = None) -> Any:
        """Build objective ``name`` for ``data``; refused unless it serves the data's task and
        honours that task's objective contract."""
        if isinstance(data, SessionSet):  # one objective per session, each knowing its own units
            built = [self.objective(name, session.data, config) for session in data.sessions]
            return session_objectives(name, built, data.names)
        entry = self.check_serves("objective", name, data.task)
        objective = entry.load()(data, merged_config(entry, config))
        contract = self.task_of(data).objective_contract
        if not isinstance(objective, contract):
            raise BenchError(
                f"objective '{name}' (plugin {entry.plugin}) does not honour the {contract.__name__} contract "
                f"(harness.contracts.{contract.__name__})"
            )
        return objective

    def ensembler(self, name: str, config: Mapping[str, Any] | None = None, task: str | None = None) -> Ensembler:
        """Build ensembler ``name``; ``task`` (the members' dataset's) refuses one built for another task."""
        entry = self.registries.ensemblers.get(name) if task is None else self.check_serves("ensembler", name, task)
        ensembler = entry.load()(merged_config(entry, config))
        if not isinstance(ensembler, Ensembler):
            raise BenchError(f"ensembler '{name}' (plugin {entry.plugin}) has no combine(candidates, data)")
        return ensembler

    # -- lifecycle --------------------------------------------------------------------------
    def run_started(self, run: RunInfo) -> None:
        self.manager.hook.bench_run_started(run=run)

    def epoch_finished(self, run: RunInfo, epoch: int, metrics: dict[str, float]) -> None:
        self.manager.hook.bench_epoch_finished(run=run, epoch=epoch, metrics=metrics)

    def run_finished(self, run: RunInfo, record: dict[str, Any]) -> None:
        self.manager.hook.bench_run_finished(run=run, record=record)


def resolve_objective(host: Host, spec: RunSpec) -> RunSpec:
    """The spec as it runs (and is named): closed-form baselines have no objective, others need
    one: the given one, else the model's ``default_objective``."""
    entry = host.registries.models.get(spec.model)
    if entry.direct_fit:
        return replace(spec, objective=None)
    if spec.objective is None:
        if not entry.default_objective:
            raise BenchError(f"model '{spec.model}' is trained by gradient descent and needs an --objective")
        return replace(spec, objective=entry.default_objective)
    return spec
