"""Typed registries of components: light metadata plus a lazy loader.

Plugins receive a ``register`` callable in their registration hooks. An entry names its factory
as a ``"module:attribute"`` string, so registering (and ``bench --help``) imports no torch; the
factory is imported only when a component is built.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from harness.errors import BenchError, UnknownNameError

KINDS = ("dataset", "model", "objective", "ensembler", "task")


@dataclass(frozen=True)
class Entry:
    """A registered component: its name, where its factory lives, and its default config."""

    kind: str
    name: str
    loader: str
    description: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: The plugin (entry-point name) that registered it; filled in by the registry.
    plugin: str = ""
    #: Ranges a search (``bench tune``) may sample, declared beside the defaults so an installed
    #: third-party component is tunable as it is. Keys are the component's own config keys, or
    #: ``train.KEY`` for trainer settings; values are parameter specs (see :func:`check_search_space`).
    search_space: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: The tasks (harness.contracts COSMOOTHING_TASK, ENCODING_TASK, ...) the component serves: a
    #: run refuses a model or objective built for another task than its dataset poses.
    tasks: tuple[str, ...] = ("nlb_cosmoothing",)

    def load(self) -> Callable[..., Any]:
        """Import and return the factory named by ``loader``."""
        module_name, _, attribute = self.loader.partition(":")
        if not module_name or not attribute:
            raise BenchError(
                f"{self.kind} '{self.name}' (plugin {self.plugin or '?'}): loader {self.loader!r} "
                "is not of the form 'package.module:factory'"
            )
        try:
            module = importlib.import_module(module_name)
            factory = getattr(module, attribute)
        except (ImportError, AttributeError) as error:
            raise BenchError(
                f"{self.kind} '{self.name}' (plugin {self.plugin or '?'}): cannot load "
                f"{self.loader}: {error}"
            ) from error
        if not callable(factory):
            raise BenchError(f"{self.kind} '{self.name}': {self.loader} is not callable")
        return factory


@dataclass(frozen=True)
class DatasetEntry(Entry):
    """A dataset, with what ``bench data list`` shows before anything is loaded."""

    source: str = ""
    bin_sizes_ms: tuple[int, ...] = ()
    n_trials: int | None = None
    n_units: int | None = None
    size_bytes: int | None = None
    #: ``"module:function"`` that downloads the raw files, or "" when there is nothing to fetch.
    downloader: str = ""
    #: ``"module:function"`` returning where the dataset's files or cache live now, or "".
    locator: str = ""
    has_ground_truth: bool = False
    #: A session set (harness.sessions): the names of its sessions under its default config,
    #: so a run naming another is refused before anything loads. Empty: an ordinary dataset.
    sessions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelEntry(Entry):
    """A model; ``direct_fit`` marks closed-form baselines, which the trainer fits without an objective."""

    direct_fit: bool = False
    #: Trainer settings (harness.specs.TrainConfig keys) the model is tuned for: ``bench run``
    #: without a spec starts from them; command-line options still override.
    train_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: The objective ``bench run`` uses when none is given (e.g. an encoding model's augmentation).
    default_objective: str = ""
    #: Supports session sets (harness.sessions.MultiSessionModel): built with SessionShapes,
    #: per-session read-in and read-out around a shared core that ``--init-from`` can load.
    sessions: bool = False


@dataclass(frozen=True)
class TaskEntry(Entry):
    """A task family; its loader builds the :class:`harness.contracts.Task` object. ``tasks`` is
    unused for it (a task serves itself)."""

    #: The record metric its leaderboards rank by (shown before anything is built).
    primary_metric: str = ""


E = TypeVar("E", bound=Entry)


class Registry(Generic[E]):
    """Entries of one kind, by name. Refuses duplicates; unknown names get suggestions."""

    def __init__(self, kind: str):
        if kind not in KINDS:
            raise ValueError(f"unknown component kind {kind!r}; expected one of {KINDS}")
        self.kind = kind
        self._entries: dict[str, E] = {}

    def add(self, entry: E) -> None:
        if entry.kind != self.kind:
            raise BenchError(f"cannot register a {entry.kind} in the {self.kind} registry")
        if not entry.name or not entry.name.replace("_", "").replace("-", "").isalnum():
            raise BenchError(
                f"{self.kind} name {entry.name!r} from plugin {entry.plugin}: use letters, digits, '-' and '_'"
            )
        existing = self._entries.get(entry.name)
        if existing is not None:
            raise BenchError(
                f"{self.kind} '{entry.name}' is registered twice: by plugin '{existing.plugin}' "
                f"and by plugin '{entry.plugin}'; block one of them (bench --disable-plugin NAME)"
            )
        self._entries[entry.name] = entry

    def get(self, name: str) -> E:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        available = sorted(self._entries)
        close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(available) if available else "none (is a plugin installed?)"
        return f"Unknown {self.kind} '{name}'.{hint} Available {self.kind}s: {listing}"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[E]:
        return iter(sorted(self._entries.values(), key=lambda entry: entry.name))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)


_PARAMETER_TYPES = ("int", "float", "categorical")


def check_search_space(owner: str, space: Mapping[str, Any], config_keys: Mapping[str, Any]) -> None:
    """Refuse a malformed search space, naming ``owner`` and the parameter.

    A parameter spec is one of::

        {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}
        {"type": "int", "low": 32, "high": 128, "step": 32}
        {"type": "categorical", "choices": ["gru", "lstm"]}

    each optionally with ``"condition": {"other_key": value}`` (sampled only when another
    parameter of the same space, or the config, has that value; a list of values means any of
    them). Keys are config keys of the component, or ``train.KEY`` for a trainer setting. A
    ``step`` and ``log`` exclude each other; categorical choices may be lists or mappings.
    ``"mutable": True`` on a numeric parameter says it may change mid-run (a population-based
    search perturbs it; the component takes it through ``MutableHyperparameters``, the trainer
    takes ``train.lr``, ``train.weight_decay`` and ``train.grad_clip``).
    """
    from harness.specs import MUTABLE_TRAIN_KEYS, TrainConfig

    train_keys = set(TrainConfig.__dataclass_fields__)
    for key, spec in space.items():
        where = f"{owner}: search space parameter '{key}'"
        section, dot, train_key = key.partition(".")
        if dot and section == "train":
            if train_key not in train_keys:
                raise BenchError(f"{where}: no trainer setting '{train_key}' (known: {', '.join(sorted(train_keys))})")
        elif key not in config_keys:
            known = ", ".join(sorted(config_keys)) or "none"
            raise BenchError(f"{where}: not one of its config keys ({known}) nor train.KEY")
        check_parameter(where, spec)
        if spec.get("mutable") and section == "train" and dot and train_key not in MUTABLE_TRAIN_KEYS:
            raise BenchError(f"{where}: the trainer changes only {', '.join('train.' + k for k in MUTABLE_TRAIN_KEYS)} mid-run")
        for other in spec.get("condition", {}):
            if other not in space and other not in config_keys and not (other.startswith("train.") and other[6:] in train_keys):
                raise BenchError(f"{where}: its condition names '{other}', which is neither in the space nor a config key")


def check_parameter(where: str, spec: Any) -> None:
    """Refuse one malformed parameter spec (format in :func:`check_search_space`); ``where``
    starts the message."""
    problem = parameter_problem(spec)
    if problem:
        raise BenchError(f"{where}: {problem}")


def parameter_problem(spec: Any) -> str | None:
    """What is wrong with one parameter spec, or None."""
    if not isinstance(spec, Mapping) or spec.get("type") not in _PARAMETER_TYPES:
        return f"expected a mapping with 'type' one of {', '.join(_PARAMETER_TYPES)}"
    unknown = set(spec) - {"type", "low", "high", "log", "step", "choices", "condition", "mutable"}
    if unknown:
        return f"unknown field(s) {', '.join(sorted(unknown))}"
    if spec["type"] == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, (list, tuple)) or not choices:
            return "a categorical parameter needs a non-empty 'choices' list"
        if set(spec) & {"low", "high", "log", "step"}:
            return "a categorical parameter takes 'choices', not low/high/log/step"
    else:
        low, high = spec.get("low"), spec.get("high")
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if not numbers or not low < high:
            return f"expected numbers 'low' < 'high', found low={low!r}, high={high!r}"
        if spec["type"] == "int" and not all(float(v).is_integer() for v in (low, high)):
            return f"an int parameter needs whole 'low' and 'high', found {low!r}, {high!r}"
        if spec.get("log") and low <= 0:
            return f"a log-scale range needs 'low' > 0, found {low!r}"
        step = spec.get("step")
        if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0):
            return f"'step' must be a number > 0, found {step!r}"
        if step is not None and spec.get("log"):
            return "'step' and 'log' cannot be combined (Optuna samples one or the other)"
    if "mutable" in spec and not isinstance(spec["mutable"], bool):
        return f"'mutable' must be true or false, found {spec['mutable']!r}"
    if spec.get("mutable") and spec["type"] == "categorical":
        return "only a numeric parameter can be 'mutable' (a population-based search perturbs it mid-run)"
    if "condition" in spec and (not isinstance(spec["condition"], Mapping) or not spec["condition"]):
        return "'condition' must map another parameter to the value (or list of values) it requires"
    return None


class Register:
    """The object a registration hook receives: ``register(name, loader, ...)``.

    Bound to one kind and one plugin, so every entry records who registered it.
    """

    def __init__(self, registry: Registry, plugin: str, entry_type: type[Entry] = Entry):
        self._registry = registry
        self._plugin = plugin
        self._entry_type = entry_type

    def __call__(
        self,
        name: str,
        loader: str,
        *,
        description: str = "",
        defaults: Mapping[str, Any] | None = None,
        **metadata: Any,
    ) -> None:
        try:
            entry = self._entry_type(
                kind=self._registry.kind,
                name=name,
                loader=loader,
                description=description,
                defaults=MappingProxyType(dict(defaults or {})),
                plugin=self._plugin,
                **metadata,
            )
        except TypeError as error:
            raise BenchError(f"plugin {self._plugin}: bad {self._registry.kind} registration {name!r}: {error}") from None
        check_search_space(f"plugin {self._plugin}, {self._registry.kind} '{name}'", entry.search_space, entry.defaults)
        entry = replace(entry, search_space=MappingProxyType(dict(entry.search_space)))
        self._registry.add(entry)


@dataclass
class Registries:
    """One registry per component kind, built once per plugin manager."""

    datasets: Registry[DatasetEntry] = field(default_factory=lambda: Registry("dataset"))
    models: Registry[ModelEntry] = field(default_factory=lambda: Registry("model"))
    objectives: Registry[Entry] = field(default_factory=lambda: Registry("objective"))
    ensemblers: Registry[Entry] = field(default_factory=lambda: Registry("ensembler"))
    tasks: Registry[TaskEntry] = field(default_factory=lambda: Registry("task"))

    def by_kind(self, kind: str) -> Registry:
        return {
            "dataset": self.datasets,
            "model": self.models,
            "objective": self.objectives,
            "ensembler": self.ensemblers,
            "task": self.tasks,
        }[kind]
