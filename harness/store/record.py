"""The run record: one typed, versioned result per run, built in one place.

Every result the harness stores is a :class:`RunRecord`: a single run (:meth:`RunRecord.new`),
the pooled record of K fold runs and an ensemble of finished runs (both
:meth:`RunRecord.of_members`, which takes from the members what they share). Constructing one
checks it against the schema in :mod:`harness.store.records`, and a bad value is refused with
the field, what was expected and what was found; :meth:`RunRecord.from_dict` adds the file.

Schema versions (``schema_version``; readers take every one, new records are the newest):

1. The first records. ``run_id`` hashes the run spec as given (:meth:`RunSpec.legacy_run_id`).
2. ``run_id`` of a run or a pooled K-fold record hashes what trains: configs with the plugins'
   defaults merged in and the versions of bench-harness and of the distributions providing the
   dataset, model and objective (:func:`harness.run.context.run_identity`); ``legacy_run_id``
   keeps the version-1 id of the same spec, which ``find_record`` accepts too. Ensemble ids
   were already named by what they combine (members and merged settings) and are unchanged.
3. ``updates``: the training budget in optimizer updates (``done``, ``planned``) and whether the
   wall-clock cap stopped the run before it was spent (``cut_short``); a pooled K-fold record
   sums its folds' and is cut short when one of them is. Older records say only
   ``stopped_because`` (see :func:`harness.store.schema.cut_short`).

A record read from the store keeps its version when written again (``bench rescore``
adds metrics to it): the meaning of its ``run_id`` is that of its version.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.store.atomic import write_text
from harness.store.home import results_dir
from harness.store.schema import (
    RECORD_SCHEMA,
    RECORD_SCHEMA_VERSION,
    RecordError,
    canonical_json,
    record_header,
    record_metrics,
    record_problems,
    task_entry,
    validate_record,
)

#: Keys that a record may leave out; ``to_dict`` leaves them out when they are None.
_OMITTED_WHEN_NONE = ("task", "stopped_because", "history", "folds", "search", "legacy_run_id", "updates", "pretrained")
_NOT_STORED = {"source", "_checked"}


@dataclass(frozen=True)
class RunRecord:
    """One run's result and provenance, as stored in ``<store>/<run_id>.json``."""

    run_id: str
    #: ISO-8601 UTC time the record was made.
    created: str
    #: name, checksum, bin_size_ms, source, and the merged ``config`` it was loaded with.
    dataset: Mapping[str, Any]
    #: The model (an ensemble: its members' models joined with '+').
    model: str
    objective: str | None
    #: How an ensemble or a pooled K-fold record combined its members; None for a single run.
    ensembler: str | None
    #: ``model``, ``objective``, ``train`` configs as they trained, and what a fit ``chosen``.
    hyperparameters: Mapping[str, Any]
    seed: int
    device: str
    #: harness, python, torch (None where unused) and every loaded plugin distribution.
    versions: Mapping[str, Any]
    n_parameters: int
    #: The compute the result stands for (a pooled record or ensemble: all its members').
    wall_seconds: float
    epochs: int
    #: ``{name: MetricValue.to_dict()}``.
    metrics: Mapping[str, Mapping[str, Any]]
    #: run_dir, checkpoint, predictions, submission.
    paths: Mapping[str, Any]
    #: The spec that made it (an ensemble: its ensembler, settings, label and members).
    spec: Mapping[str, Any]
    search_trial: int | None = None
    status: str = "complete"
    #: The task it posed: name, primary_metric, validation_metric (version-1 records may lack it).
    task: Mapping[str, str] | None = None
    stopped_because: str | None = None
    #: The trainer's numbers per epoch.
    history: Sequence[Mapping[str, Any]] | None = None
    #: A pooled K-fold record's k, seed, members, per_fold values and spread.
    folds: Mapping[str, Any] | None = None
    #: The ``bench tune`` study, trial and storage kind that made the run.
    search: Mapping[str, Any] | None = None
    #: (version 2) the id the same spec had under version 1.
    legacy_run_id: str | None = None
    #: (version 3) updates done and planned, and whether the wall-clock cap cut the run short.
    updates: Mapping[str, Any] | None = None
    #: A fine-tuning run's pretraining run (``--init-from``): harness.run.init_from.provenance.
    pretrained: Mapping[str, Any] | None = None
    schema: str = RECORD_SCHEMA
    schema_version: int = RECORD_SCHEMA_VERSION
    #: Where the record came from, for messages (a file); not stored.
    source: str = field(default="", compare=False, repr=False)
    #: Set by :meth:`from_dict`, which checked the data already (naming its file).
    _checked: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self._checked:
            return
        problems = record_problems(self._fields())
        if problems:
            where = self.source or f"run record {self.run_id}"
            raise RecordError(f"{where}: " + "; ".join(problems))

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def new(cls, plugin_versions: Mapping[str, str], *, torch_version: str | None, task: Any, **parts: Any) -> RunRecord:
        """A record made now, in the newest schema version: its creation time, the software it
        ran on (harness, Python, torch, every loaded plugin distribution), the task it posed
        (a :class:`harness.contracts.Task`) and ``parts``, the fields that differ per run.
        Metric values may be :class:`~harness.contracts.MetricValue` objects."""
        header = record_header(plugin_versions, torch_version)
        metrics = parts.pop("metrics")
        if any(hasattr(value, "to_dict") for value in metrics.values()):
            metrics = record_metrics(metrics)
        task_part = None if task is None else task_entry(task)["task"]
        return cls(created=header["created"], versions=header["versions"], task=task_part, metrics=dict(metrics), **parts)

    @classmethod
    def of_members(cls, plugin_versions: Mapping[str, str], members: Sequence[Mapping[str, Any]], *, torch_version: str | None, task: Any, **parts: Any) -> RunRecord:
        """A record that combines finished runs (``members``, their records): a pooled K-fold
        record or an ensemble. It takes the members' dataset, sums their parameters and
        training time (the compute the result stands for) and joins their devices."""
        devices = sorted({record["device"] for record in members if record["device"]})
        derived = {
            "dataset": copy.deepcopy(dict(members[0]["dataset"])),
            "device": "+".join(devices) or "cpu",
            "n_parameters": int(sum(record["n_parameters"] for record in members)),
            "wall_seconds": round(float(sum(record["wall_seconds"] for record in members)), 3),
        }
        return cls.new(plugin_versions, torch_version=torch_version, task=task, **{**derived, **parts})

    # -- reading and writing ------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "", *, copy_data: bool = True) -> RunRecord:
        """The record ``data`` holds (a stored JSON object, any schema version); a bad one is
        refused naming ``source`` (its file), every wrong field and what it expected. Without
        ``copy_data`` the record shares ``data``'s nested values (a reader that owns them)."""
        problems = record_problems(dict(data)) if isinstance(data, Mapping) else ["'record': expected an object"]
        if problems:
            run_id = data.get("run_id", "?") if isinstance(data, Mapping) else "?"
            raise RecordError(f"{source or f'run record {run_id}'}: " + "; ".join(problems))
        names = {f.name for f in fields(cls)} - _NOT_STORED
        data = copy.deepcopy(dict(data)) if copy_data else data
        return cls(**{key: value for key, value in data.items() if key in names}, source=source, _checked=True)

    def to_dict(self) -> dict[str, Any]:
        """The record as stored: plain JSON types, optional keys left out when None (a copy)."""
        return copy.deepcopy(self._fields())

    def _fields(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_STORED}
        for key in _OMITTED_WHEN_NONE:
            if data[key] is None:
                data.pop(key)
        for key in ("dataset", "hyperparameters", "versions", "paths", "spec", "metrics", "task", "folds", "search", "updates", "pretrained"):
            if key in data:
                data[key] = dict(data[key])
        if "history" in data:
            data["history"] = [dict(point) for point in data["history"]]
        return data

    def write(self, store: str | Path | None = None) -> Path:
        """Write the record atomically to ``<store>/<run_id>.json`` (default: the results store)."""
        return write_record(self.to_dict(), store)


def store_folder(store: str | Path | None) -> Path:
    return Path(store) if store is not None else results_dir()


def write_record(record: Any, store: str | Path | None = None) -> Path:
    """Validate ``record`` (a :class:`~harness.store.record.RunRecord`, or its ``to_dict``) and
    write it atomically to ``<store>/<run_id>.json``."""
    record = record.to_dict() if hasattr(record, "to_dict") else dict(record)
    validate_record(record)
    path = store_folder(store) / f"{record['run_id']}.json"
    write_text(path, canonical_json(record))
    return path
