"""The results store: one schema-validated JSON record per run, written through one writer.

Records live in ``harness.store.home.results_dir()`` (or a given folder) as ``<run_id>.json``. The
trainer, ensemblers and baselines write :class:`harness.store.record.RunRecord` objects, built in
one place and checked against the schema (harness.store.schema); leaderboards and ``bench
results`` only read, through :func:`read_records` and :func:`find_record` here.
"""

from __future__ import annotations

import difflib
import json
import warnings
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.store.record import RunRecord, store_folder, write_record  # noqa: F401  (write_record: importable from here as before)
from harness.store.schema import (  # noqa: F401  (importable from here as before)
    LEGACY_TASK,
    RECORD_SCHEMA,
    RECORD_SCHEMA_VERSION,
    RecordError,
    canonical_json,
    cut_short,
    jsonable,
    record_header,
    record_metrics,
    record_problems,
    record_task,
    task_entry,
    validate_record,
)

def read_record_file(path: Path) -> dict[str, Any]:
    """One record file, read through :class:`~harness.store.record.RunRecord` (as a dict);
    :class:`RecordError` names the file and says why it is not a usable record."""
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
    folder = store_folder(store)
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
    folder = store_folder(store)
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


