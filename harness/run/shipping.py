"""A finished run carried from a worker's home to the driver's, for workers that share no disk.

A Ray task whose worker cannot see the driver's ``BENCH_HOME`` trains in the worker's own home and
returns its record with the files of its run folder (:func:`pack_run`: predictions, best
checkpoints, spec and identity; not ``last.pt``, which only resumes). The driver writes them into
its own run folder and its results store (:func:`land_run`), with the record's paths moved there,
so pooled K-fold records, ensembles, ``bench submit`` and boards read them as any local run's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.store.atomic import write_bytes
from harness.store.home import runs_dir
from harness.store.record import write_record

#: Run-folder files that stay behind: the resume checkpoint and in-progress writes.
NOT_SHIPPED = ("last.pt",)


def pack_run(record: Mapping[str, Any]) -> dict[str, bytes]:
    """The files of ``record``'s run folder (top level, by name) that the driver needs."""
    folder = Path(record["paths"]["run_dir"])
    return {
        path.name: path.read_bytes()
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".") and path.name not in NOT_SHIPPED
    }


def land_run(record: Mapping[str, Any], files: Mapping[str, bytes]) -> dict[str, Any]:
    """Write a shipped run into this home: its files in ``runs/<run_id>/``, its record (paths
    moved to that folder) in the results store, through the store's one writer. Returns the
    record as stored here."""
    shipped_from = Path(record["paths"]["run_dir"])
    folder = runs_dir() / record["run_id"]
    for name, data in files.items():
        if Path(name).name != name:
            raise ValueError(f"a shipped run file must be a plain name, got {name!r}")
        write_bytes(folder / name, data)
    landed = dict(record)
    landed["paths"] = {key: _moved(value, shipped_from, folder) for key, value in record["paths"].items()}
    write_record(landed)
    return landed


def _moved(value: str | None, old: Path, new: Path) -> str | None:
    """A recorded path inside the worker's run folder, in the driver's; others as they were."""
    if value is None:
        return None
    path = Path(value)
    if path == old:
        return str(new)
    if path.is_absolute() and path.is_relative_to(old):
        return str(new / path.relative_to(old))
    return value
