"""A run's identity and place on disk, handed to lifecycle hooks.

Run ids hash what trains (:func:`run_identity`). Records of schema version 1 and run folders
made before that hashed the spec as given (:meth:`RunSpec.legacy_run_id`); they stay this
run's when what they trained is what would train now (:meth:`RunIdentity.names`), and an
unfinished old folder is resumed (:meth:`RunContext.adopt_legacy_folder`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.store.home import runs_dir
from harness.specs import RunSpec

if TYPE_CHECKING:
    from harness.plugin.host import Host

#: Written into every run folder: the configuration its run id hashes. An old folder has none.
IDENTITY_FILE = "identity.json"
#: The distribution of the harness itself (its trainer, scorer and built-in plugins).
HARNESS_DISTRIBUTION = "bench-harness"


@dataclass(frozen=True)
class RunIdentity:
    """A run's id, the id the same spec had under record schema version 1, and what the id hashes."""

    run_id: str
    legacy_run_id: str
    #: ``dataset_config``, ``model_config``, ``objective_config`` (plugin defaults merged in) and
    #: ``versions`` (bench-harness and the distributions providing dataset, model and objective).
    trained: Mapping[str, Any]

    def names(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` is this run: its id, or a version-1 record under the legacy id whose
        recorded configs and versions are what trains now (after a changed plugin default or
        release it is not: the run trains again under the new id)."""
        if record["run_id"] == self.run_id:
            return True
        if record["run_id"] != self.legacy_run_id or record.get("schema_version") != 1:
            return False
        trained = recorded_configuration(record, self.trained["versions"])
        return trained is not None and json.dumps(trained, sort_keys=True, default=str) == json.dumps(self.trained, sort_keys=True, default=str)

    def find(self, records: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
        """The record of this run among ``records`` (its own id first, then an old one)."""
        records = list(records)
        for record in records:
            if record["run_id"] == self.run_id:
                return record
        return next((record for record in records if self.names(record)), None)


def recorded_configuration(record: Mapping[str, Any], distributions: Iterable[str]) -> dict[str, Any] | None:
    """What a record's run trained, in the form :meth:`RunSpec.run_id` hashes, with the versions
    the record gives for ``distributions``; None where the record does not say."""
    versions: dict[str, str] = {}
    for distribution in distributions:
        if distribution == HARNESS_DISTRIBUTION:
            version = record["versions"]["harness"]
        else:
            version = record["versions"]["plugins"].get(distribution)
        if version is None:
            return None
        versions[distribution] = version
    return {
        "dataset_config": record["dataset"]["config"],
        "model_config": record["hyperparameters"]["model"],
        "objective_config": record["hyperparameters"]["objective"],
        "versions": versions,
    }


def component_versions(host: Host, entries: Iterable[Any]) -> dict[str, str]:
    """bench-harness's version and that of each distribution registering one of ``entries``."""
    from harness import __version__
    from harness.plugin.manager import load_report

    by_plugin = {info.name: info for info in load_report(host.manager).loaded}
    versions = {HARNESS_DISTRIBUTION: __version__}
    for entry in entries:
        info = by_plugin.get(entry.plugin)
        if info is not None:
            versions[info.distribution] = info.version
    return versions


def run_identity(host: Host, spec: RunSpec) -> RunIdentity:
    """The id of the run ``spec`` makes, hashing what trains (see :meth:`RunSpec.run_id`): the
    dataset, model and objective configs with their plugins' defaults merged in, the spec's
    train settings, and the versions of bench-harness and of the distributions that provide the
    dataset, model and objective (other installed plugins do not change the run). The spec is
    resolved first (a closed-form baseline has no objective, others get their default one)."""
    from harness.plugin.host import merged_config, resolve_objective
    from harness.store.records import jsonable

    spec = resolve_objective(host, spec)
    dataset_entry, dataset_config = host.resolve_dataset(spec.dataset, spec.dataset_config)
    model_entry = host.registries.models.get(spec.model)
    entries = [dataset_entry, model_entry]
    objective_config: dict[str, Any] = {}
    if spec.objective is not None:
        objective_entry = host.registries.objectives.get(spec.objective)
        objective_config = merged_config(objective_entry, spec.objective_config)
        entries.append(objective_entry)
    trained = {
        "dataset_config": jsonable(dataset_config),
        "model_config": jsonable(merged_config(model_entry, spec.model_config)),
        "objective_config": jsonable(objective_config),
        "versions": component_versions(host, entries),
    }
    return RunIdentity(spec.run_id(trained), spec.legacy_run_id(), trained)


@dataclass
class RunContext:
    spec: RunSpec
    run_id: str
    run_dir: Path
    device: str
    #: The run's dataset as its task reads it (DatasetTensors, EncodingData), set once loaded.
    data: Any = None
    #: The run's TrainingPlan once built (None for closed-form baselines): ``plan.selection_metric``
    #: names the figure it selects checkpoints by, logged each epoch with its ``best_`` twin.
    plan: Any = None
    #: Set by hooks or the trainer: free-form facts a plugin wants to keep with the run.
    extras: dict[str, Any] = field(default_factory=dict)
    #: What the run id hashes and the id the spec had before (None for a context built by hand).
    identity: RunIdentity | None = None

    @classmethod
    def for_spec(cls, spec: RunSpec, device: str, identity: RunIdentity) -> RunContext:
        return cls(spec=spec, run_id=identity.run_id, run_dir=runs_dir() / identity.run_id, device=device, identity=identity)

    def adopt_legacy_folder(self, recorded_ids: Iterable[str]) -> RunContext:
        """This run in the folder an interrupted run of the same spec left before run ids hashed
        what trains (``runs/<legacy id>``, with no identity file), when this run has no folder
        of its own and no record holds the legacy id (a finished old run keeps its folder). The
        folder cannot say which defaults it trained with: a changed width fails loudly on
        resume (the checkpoint does not fit), a changed dropout would not."""
        if self.identity is None or self.run_dir.exists():
            return self
        legacy = runs_dir() / self.identity.legacy_run_id
        if not legacy.is_dir() or (legacy / IDENTITY_FILE).exists() or self.identity.legacy_run_id in set(recorded_ids):
            return self
        return replace(self, run_dir=legacy)

    def write_identity(self) -> None:
        """Record in the run folder what its run id hashes (so no other run adopts it)."""
        from harness.store.atomic import write_text

        if self.identity is not None:
            write_text(self.run_dir / IDENTITY_FILE, json.dumps({"run_id": self.run_id, **self.identity.trained}, indent=2, sort_keys=True, default=str) + "\n")

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.run_dir / "best.pt"

    @property
    def best_loss_checkpoint(self) -> Path:
        """The weights with the lowest training-objective loss on val (``best_checkpoint`` is best on
        the task's selection metric); tasks without a val loss write none."""
        return self.run_dir / "best_loss.pt"


def choose_device(requested: str | None) -> str:
    """CUDA when present, else CPU; ``requested`` ("cpu", "cuda", "cuda:1") overrides."""
    import torch

    from harness.errors import BenchError

    if requested in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"--device {requested}: CUDA is not available on this machine (use --device cpu)")
    try:
        torch.device(requested)
    except RuntimeError as error:
        raise BenchError(f"--device {requested}: {error}") from None
    return requested
