"""The run record's schema, checked by hand (no extra dependency) and strictly: an unknown or
missing key is an error, so a typo in the trainer fails loudly instead of a column going empty.
Beyond the required keys a record may carry the trainer's ``history`` (numbers per epoch),
``stopped_because``, ``hyperparameters.chosen`` (what a closed-form baseline picked) and
``search`` (the ``bench tune`` study and trial that made the run). Also here: the pieces every
record is built from (its header, task entry and metric dicts) and its canonical JSON.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from harness.errors import BenchError

RECORD_SCHEMA = "bench-harness/run-record"
#: The version new records are written in; every version down to 1 is read.
RECORD_SCHEMA_VERSION = 3
#: Keys a record of some version added, that records of earlier versions never carry.
_ADDED_IN_VERSION = {"legacy_run_id": 2, "updates": 3}

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
    # ("sqlite", "postgresql", ...; never the URL, which may hold a password), or "ray-tune" with
    # the engine and sampler ("pbt", "tpe") where Ray Tune ran the study
    "search": {"study": str, "trial": int, "storage": str},
    # the task the run's dataset posed and what its leaderboard ranks by (records written before
    # tasks existed have none: they are NLB co-smoothing runs, see :func:`record_task`)
    "task": {"name": str, "primary_metric": str, "validation_metric": str},
    # (version 2) the spec-only id this run had under version 1, so an old id still finds it
    "legacy_run_id": str,
    # (version 3) the training budget in optimizer updates: those done, those planned, and whether
    # the wall-clock cap (train.max_minutes) stopped the run before its update budget was spent
    "updates": {"done": int, "planned": int, "cut_short": bool},
    # a fine-tuning run (--init-from): the run whose shared core it started from, on what dataset
    # and sessions, the checkpoint, how many core tensors were loaded and how long they were frozen
    "pretrained": {"run_id": str, "model": str, "dataset": str, "sessions": list, "checkpoint": str, "core_tensors": int, "freeze_core_steps": int},
}
_OPTIONAL_HYPERPARAMETERS: dict[str, Any] = {"chosen": dict}
#: A binned dataset's bin size (NLB co-smoothing); a task whose data has no bins (video encoding)
#: leaves it out. Records of either kind, old and new, load.
_OPTIONAL_DATASET: dict[str, Any] = {"bin_size_ms": int, "sessions": list}
_OPTIONAL_SEARCH: dict[str, Any] = {"engine": str, "sampler": str}
_OPTIONAL_NESTED: dict[str, Mapping[str, Any]] = {"hyperparameters": _OPTIONAL_HYPERPARAMETERS, "dataset": _OPTIONAL_DATASET, "search": _OPTIONAL_SEARCH}
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


def record_header(plugin_versions: Mapping[str, str], torch_version: str | None) -> dict[str, Any]:
    """The keys every new record starts with: schema, creation time, and the software it ran on
    (harness, Python, torch where it was used, and every loaded plugin distribution's version,
    ``plugin_versions``: :attr:`harness.plugin.host.Host.plugin_versions`)."""
    import platform

    from harness import __version__

    return {
        "schema": RECORD_SCHEMA,
        "schema_version": RECORD_SCHEMA_VERSION,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "versions": {
            "harness": __version__,
            "python": platform.python_version(),
            "torch": torch_version,
            "plugins": dict(plugin_versions),
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


#: How the trainer words a stop by the wall-clock cap (``train.max_minutes``).
TIME_CAP_STOP = "time budget of"


def cut_short(record: Mapping[str, Any], fold_runs: Mapping[str, Mapping[str, Any]] | None = None) -> str | None:
    """Why a run stands for less training than its budget, or None when it does not: the
    wall-clock cap stopped it before its update budget was spent. A run's budget is in updates
    (``train.steps`` or epochs); ``train.max_minutes`` is only a safety cap, so a run it stopped
    depends on the machine's load and is not a result to rank. A pooled K-fold record is cut
    short when one of its folds is (``fold_runs``: fold records by run id, for records pooled
    before version 3). Records before version 3 say only ``stopped_because``: a run stopped by
    the cap that had not finished its planned epochs (or whose planned epochs are unknown, a
    ``train.steps`` budget) counts as cut short."""
    updates = record.get("updates")
    if updates is not None:
        if not updates["cut_short"]:
            return None
        return f"cut short by the time cap: {updates['done']:,} of {updates['planned']:,} updates"
    members = record.get("folds", {}).get("members", [])
    if members:
        short = [str(fold) for fold, run_id in enumerate(members) if (fold_runs or {}).get(run_id) is not None and cut_short(fold_runs[run_id])]
        if short:
            return f"cut short by the time cap: fold{'s' if len(short) > 1 else ''} {', '.join(short)} of {len(members)}"
        return None
    stopped = record.get("stopped_because") or ""
    if not stopped.startswith(TIME_CAP_STOP):
        return None
    train = record["hyperparameters"].get("train", {})
    if not train.get("steps") and record["epochs"] >= int(train.get("epochs", 0) or 0) > 0:
        return None  # the cap fell due on the last planned epoch: the budget was spent
    return f"cut short by the time cap ({stopped.removeprefix(TIME_CAP_STOP).strip()}) after {record['epochs']:,} epochs"


def record_metrics(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{name: MetricValue}`` from a task's ``score`` as the record's ``metrics``."""
    return {name: value.to_dict() for name, value in metrics.items()}


def jsonable(value: Any) -> Any:
    """Configs as plain JSON types (tuples to lists, numpy scalars to numbers)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
