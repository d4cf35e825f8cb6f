"""The results store: one schema-validated JSON record per run, written through one writer.

Records live in ``harness.store.home.results_dir()`` (or a given folder) as ``<run_id>.json``. The
trainer, ensemblers and baselines call :func:`write_record`; leaderboards and ``bench results``
only read. The schema is checked by hand here (no extra dependency), strictly: an unknown or
missing key is an error, so a typo in the trainer fails loudly instead of a column going empty.
Beyond the required keys a record may carry the trainer's ``history`` (numbers per epoch),
``stopped_because``, ``hyperparameters.chosen`` (what a closed-form baseline picked) and
``search`` (the ``bench tune`` study and trial that made the run). The record itself is typed:
:class:`harness.store.record.RunRecord` is built in one place, checked against this schema, and
says what changed between schema versions.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import warnings
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from harness.store.atomic import write_text
from harness.errors import BenchError
from harness.store.home import results_dir

RECORD_SCHEMA = "bench-harness/run-record"
#: The version new records are written in; every version down to 1 is read.
RECORD_SCHEMA_VERSION = 2
#: Keys a record of some version added, that records of earlier versions never carry.
_ADDED_IN_VERSION = {"legacy_run_id": 2}

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# Types per key; a nested dict is a sub-schema with exactly those keys. ``None`` allows null.
_NUMBER = (int, float)
_SCHEMA: dict[str, Any] = {
    "schema": str,
    "schema_version": int,
    "run_id": str,
    "created": str,
    "dataset": {"name": str, "checksum": str, "source": str, "config": dict},
    "model": str,
    "objective": (str, None),
    "ensembler": (str, None),
    "hyperparameters": {"model": dict, "objective": dict, "train": dict},
    "seed": int,
    "device": str,
    "versions": {"harness": str, "python": str, "torch": (str, None), "plugins": dict},
    "n_parameters": int,
    "wall_seconds": _NUMBER,
    "epochs": int,
    "status": str,
    "metrics": dict,
    "paths": {"run_dir": str, "checkpoint": (str, None), "predictions": str, "submission": (str, None)},
    "spec": dict,
    "search_trial": (int, None),
}
#: Keys a record may carry beyond the required ones (the trainer's own provenance).
_OPTIONAL: dict[str, Any] = {
    "stopped_because": (str, None),
    "history": list,
    #: A cross-validated result's folds: k, seed, members (fold run ids), per_fold and spread per metric.
    "folds": dict,
    # a run made by ``bench tune``: its study, the Optuna trial that ran it and the storage kind
    # ("sqlite", "postgresql", ...; never the URL, which may hold a password)
    "search": {"study": str, "trial": int, "storage": str},
    # the task the run's dataset posed and what its leaderboard ranks by (records written before
    # tasks existed have none: they are NLB co-smoothing runs, see :func:`record_task`)
    "task": {"name": str, "primary_metric": str, "validation_metric": str},
    # (version 2) the spec-only id this run had under version 1, so an old id still finds it
    "legacy_run_id": str,
}
_OPTIONAL_HYPERPARAMETERS: dict[str, Any] = {"chosen": dict}
#: A binned dataset's bin size (NLB co-smoothing); a task whose data has no bins (video encoding)
#: leaves it out. Records of either kind, old and new, load.
_OPTIONAL_DATASET: dict[str, Any] = {"bin_size_ms": int}
_OPTIONAL_NESTED: dict[str, Mapping[str, Any]] = {"hyperparameters": _OPTIONAL_HYPERPARAMETERS, "dataset": _OPTIONAL_DATASET}
_METRIC_SCHEMA: dict[str, Any] = {
    "value": (float, int, None),
    "split": str,
    "n_trials": int,
    "trials": list,
    "note": str,
    "higher_is_better": bool,
}


class RecordError(BenchError, ValueError):
    """A run record that does not follow the schema; the message lists every problem."""


def _type_name(expected: Any) -> str:
    options = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join("null" if option is None else option.__name__ for option in options)


def _matches(value: Any, expected: Any) -> bool:
    options = expected if isinstance(expected, tuple) else (expected,)
    for option in options:
        if option is None and value is None:
            return True
        # bool is an int to Python, never to the schema
        if option is not None and isinstance(value, option) and not (isinstance(value, bool) and option is not bool):
            return True
    return False


def _check(mapping: Any, schema: Mapping[str, Any], where: str, problems: list[str], optional: Mapping[str, Any] | None = None) -> None:
    if not isinstance(mapping, dict):
        problems.append(f"'{where or 'record'}': expected an object, found {type(mapping).__name__}")
        return
    optional = optional or {}
    prefix = f"{where}." if where else ""
    for key in sorted(set(mapping) - set(schema) - set(optional)):
        problems.append(f"'{prefix}{key}': unknown key")
    for key, expected in {**schema, **optional}.items():
        if key not in mapping:
            if key in schema:
                problems.append(f"'{prefix}{key}': missing")
        elif isinstance(expected, dict):
            _check(mapping[key], expected, prefix + key, problems, _OPTIONAL_NESTED.get(prefix + key))
        elif not _matches(mapping[key], expected):
            problems.append(f"'{prefix}{key}': expected {_type_name(expected)}, found {type(mapping[key]).__name__}")


def record_problems(record: Any) -> list[str]:
    """Everything wrong with ``record`` against its schema version; empty when it is valid."""
    problems: list[str] = []
    _check(record, _SCHEMA, "", problems, _OPTIONAL)
    if problems:
        return problems
    if record["schema"] != RECORD_SCHEMA:
        problems.append(f"'schema': expected {RECORD_SCHEMA!r}, found {record['schema']!r}")
    if not 1 <= record["schema_version"] <= RECORD_SCHEMA_VERSION:
        problems.append(f"'schema_version': this harness reads versions 1 to {RECORD_SCHEMA_VERSION}, found {record['schema_version']}")
    for key, version in _ADDED_IN_VERSION.items():
        if key in record and record["schema_version"] < version:
            problems.append(f"'{key}': added in schema version {version}, found in a version {record['schema_version']} record")
    if "legacy_run_id" in record and not _RUN_ID.match(record["legacy_run_id"]):
        problems.append(f"'legacy_run_id': {record['legacy_run_id']!r} is not a safe file name (letters, digits, '.', '_', '-')")
    if not _RUN_ID.match(record["run_id"]):
        problems.append(f"'run_id': {record['run_id']!r} is not a safe file name (letters, digits, '.', '_', '-')")
    try:
        created = datetime.fromisoformat(record["created"])
        if created.utcoffset() != timedelta(0):
            problems.append(f"'created': {record['created']!r} is not in UTC (give a +00:00 or Z offset)")
    except ValueError:
        problems.append(f"'created': {record['created']!r} is not an ISO-8601 time")
    if record["status"] != "complete":
        problems.append(f"'status': only complete runs are recorded, found {record['status']!r}")
    for dist, version in record["versions"]["plugins"].items():
        if not isinstance(version, str):
            problems.append(f"'versions.plugins.{dist}': expected str, found {type(version).__name__}")
    for position, point in enumerate(record.get("history", [])):
        if not isinstance(point, dict) or not all(_matches(v, (int, float, None)) for v in point.values()):
            problems.append(f"'history[{position}]': expected an object of numbers")
    for name, metric in record["metrics"].items():
        where = f"metrics.{name}"
        known = len(problems)
        _check(metric, _METRIC_SCHEMA, where, problems)
        if len(problems) > known:
            continue
        if metric["value"] is not None and not math.isfinite(metric["value"]):
            problems.append(f"'{where}.value': {metric['value']} is not finite (use null and say why in the note)")
        if not all(isinstance(t, int) and not isinstance(t, bool) for t in metric["trials"]):
            problems.append(f"'{where}.trials': expected a list of trial ids (int)")
        elif metric["n_trials"] != len(metric["trials"]):
            problems.append(f"'{where}.n_trials': {metric['n_trials']} but {len(metric['trials'])} trial ids")
    try:
        canonical_json(record)
    except (TypeError, ValueError) as error:
        problems.append(f"not JSON-serialisable: {error}")
    return problems


def validate_record(record: Any) -> None:
    """Raise :class:`RecordError` naming every problem of ``record``."""
    problems = record_problems(record)
    if problems:
        run_id = record.get("run_id", "?") if isinstance(record, dict) else "?"
        raise RecordError(f"run record {run_id}: " + "; ".join(problems))


def canonical_json(record: Mapping[str, Any]) -> str:
    """The one way records are written: sorted keys, two-space indent, strict JSON, newline."""
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def record_header(manager: Any, torch_version: str | None) -> dict[str, Any]:
    """The keys every new record starts with: schema, creation time, and the software it ran on
    (harness, Python, torch where it was used, and every loaded plugin distribution's version)."""
    import platform

    from harness import __version__
    from harness.plugin.manager import load_report

    return {
        "schema": RECORD_SCHEMA,
        "schema_version": RECORD_SCHEMA_VERSION,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "versions": {
            "harness": __version__,
            "python": platform.python_version(),
            "torch": torch_version,
            "plugins": {info.distribution: info.version for info in load_report(manager).loaded if not info.builtin},
        },
    }


#: The task of records written before records named one: every one of them is NLB co-smoothing.
LEGACY_TASK = {"name": "nlb_cosmoothing", "primary_metric": "co-bps", "validation_metric": "val_co_bps"}


def task_entry(task: Any) -> dict[str, Any]:
    """The record's ``task`` key for a :class:`harness.contracts.Task`."""
    return {"task": {"name": task.name, "primary_metric": task.primary_metric, "validation_metric": task.validation_metric}}


def record_task(record: Mapping[str, Any]) -> dict[str, str]:
    """The task a record's run posed: its ``task`` key, or NLB co-smoothing for older records."""
    return dict(record.get("task") or LEGACY_TASK)


def record_metrics(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{name: MetricValue}`` from a task's ``score`` as the record's ``metrics``."""
    return {name: value.to_dict() for name, value in metrics.items()}


def _store(store: str | Path | None) -> Path:
    return Path(store) if store is not None else results_dir()


def write_record(record: Any, store: str | Path | None = None) -> Path:
    """Validate ``record`` (a :class:`~harness.store.record.RunRecord`, or its ``to_dict``) and
    write it atomically to ``<store>/<run_id>.json``."""
    record = record.to_dict() if hasattr(record, "to_dict") else dict(record)
    validate_record(record)
    path = _store(store) / f"{record['run_id']}.json"
    write_text(path, canonical_json(record))
    return path


def read_record_file(path: Path) -> dict[str, Any]:
    """One record file, read through :class:`~harness.store.record.RunRecord` (as a dict);
    :class:`RecordError` names the file and says why it is not a usable record."""
    from harness.store.record import RunRecord

    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RecordError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA:
        raise RecordError(f"{path}: not a bench-harness run record (no \"schema\": \"{RECORD_SCHEMA}\")")
    # checked through the type; its to_dict() is ``record`` (tests load every stored record so)
    RunRecord.from_dict(record, source=str(path), copy_data=False)
    if path.stem != record["run_id"]:
        raise RecordError(f"{path}: file name does not match run_id {record['run_id']!r}")
    return record


def read_records(store: str | Path | None = None) -> list[dict[str, Any]]:
    """Every valid record in the store, oldest first; others are skipped with a warning each."""
    folder = _store(store)
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue  # a write in progress
        try:
            records.append(read_record_file(path))
        except RecordError as error:
            warnings.warn(f"skipping {error}", stacklevel=2)
    return sorted(records, key=lambda record: (datetime.fromisoformat(record["created"]), record["run_id"]))


def predictions_path(record: Mapping[str, Any]) -> Path:
    """Where a record's predictions.h5 is (paths in records are absolute, or relative to the run dir)."""
    path = Path(record["paths"]["predictions"])
    return path if path.is_absolute() else Path(record["paths"]["run_dir"]) / path


def find_record(run_id_or_latest: str = "latest", store: str | Path | None = None) -> dict[str, Any]:
    """The record with this run id (or a unique prefix of one), or the newest for ``latest``. An
    id a run had under record schema version 1 (its ``legacy_run_id``) finds it too."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a broken neighbour does not concern this lookup
        records = read_records(store)
    folder = _store(store)
    if not records:
        raise BenchError(f"the results store {folder} has no run records yet")
    if run_id_or_latest == "latest":
        return records[-1]
    by_id = {record["run_id"]: record for record in records}
    if run_id_or_latest in by_id:
        return by_id[run_id_or_latest]
    aliased = [record for record in records if record.get("legacy_run_id") == run_id_or_latest]
    if len(aliased) == 1:
        return aliased[0]
    if len(aliased) > 1:  # runs of one spec whose defaults or plugin versions differed
        raise BenchError(f"run id '{run_id_or_latest}' was the old id of {', '.join(sorted(r['run_id'] for r in aliased))}: give one of them")
    prefixed = [run_id for run_id in by_id if run_id.startswith(run_id_or_latest)]
    if len(prefixed) == 1:
        return by_id[prefixed[0]]
    if len(prefixed) > 1:
        raise BenchError(f"run id '{run_id_or_latest}' is ambiguous: {', '.join(sorted(prefixed))}")
    close = difflib.get_close_matches(run_id_or_latest, list(by_id), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise BenchError(f"no run '{run_id_or_latest}' in {folder}.{hint} (bench results lists them)")
