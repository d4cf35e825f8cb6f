"""Ensembles of finished runs: combine their saved predictions, score and record them like a run.

An ensemble never loads a model: it reads each member's ``predictions.h5``, hands them to a
registered ensembler, scores the combined rates with the same code as ``bench run`` and writes a
record whose ``ensembler`` names how they were combined and whose ``spec`` lists the members.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.home import runs_dir
from harness.host import Host, merged_config
from harness.metrics import score
from harness.results import predictions_path, record_header, record_metrics, write_record


def ensemble_id(dataset: str, ensembler: str, config: Mapping[str, Any], members: Sequence[str]) -> str:
    """Named by what it combines: the same members and settings give the same id."""
    identity = json.dumps({"ensembler": ensembler, "config": config, "members": sorted(members)}, sort_keys=True)
    return f"{dataset}-ensemble-{ensembler}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


def _joined(values: Sequence[str | None]) -> str | None:
    present = sorted({value for value in values if value})
    return "+".join(present) if present else None


def check_members(members: Sequence[Mapping[str, Any]]) -> None:
    """Members must be finished runs on the same dataset (same name and checksum), at least two."""
    if len(members) < 2:
        raise BenchError(f"an ensemble needs at least two finished runs, got {len(members)}")
    first = members[0]
    for record in members[1:]:
        for key in ("name", "checksum"):
            if record["dataset"][key] != first["dataset"][key]:
                raise BenchError(
                    f"run {record['run_id']} has dataset {key} {record['dataset'][key]!r}, but run "
                    f"{first['run_id']} has {first['dataset'][key]!r}: an ensemble combines runs on one dataset"
                )
    for record in members:
        path = predictions_path(record)
        if not path.is_file():
            raise BenchError(f"run {record['run_id']}: its predictions file {path} is missing (run it again with --rerun)")


def ensemble_runs(
    host: Host,
    members: Sequence[Mapping[str, Any]],
    ensembler: str,
    config: Mapping[str, Any] | None = None,
    store: str | Path | None = None,
) -> dict[str, Any]:
    """Combine ``members`` (run records) with ``ensembler``; write the record to ``store``, return it."""
    from harness.submission import load_predictions, save_predictions

    check_members(members)
    settings = merged_config(host.registries.ensemblers.get(ensembler), config)
    combiner = host.ensembler(ensembler, settings)
    dataset = members[0]["dataset"]
    data = host.recorded_dataset(dataset, "the runs were")
    member_ids = [record["run_id"] for record in members]
    candidates = [load_predictions(predictions_path(record)) for record in members]
    combined = combiner.combine(candidates, data)

    run_id = ensemble_id(data.name, ensembler, settings, member_ids)
    run_dir = runs_dir() / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    saved = save_predictions(combined, run_dir / "predictions.h5")
    record = {
        **record_header(host.manager, torch_version=None),
        "run_id": run_id,
        "dataset": dict(dataset),
        "model": _joined([record["model"] for record in members]),
        "objective": _joined([record["objective"] for record in members]),
        "ensembler": ensembler,
        "hyperparameters": {
            "model": {},
            "objective": {},
            "train": {},
            "chosen": {"ensembler": dict(settings), **dict(getattr(combiner, "chosen", {}) or {})},
        },
        "seed": 0,  # an ensemble is one record per member set; its members keep their own seeds
        "device": _joined([record["device"] for record in members]) or "cpu",
        "n_parameters": int(sum(record["n_parameters"] for record in members)),
        # the compute the ensemble stands for: every member's training time
        "wall_seconds": round(float(sum(record["wall_seconds"] for record in members)), 3),
        "epochs": 0,
        "status": "complete",
        "stopped_because": f"ensemble of {len(members)} runs",
        "metrics": record_metrics(score(data, combined)),
        "paths": {"run_dir": str(run_dir), "checkpoint": None, "predictions": str(saved), "submission": None},
        "spec": {"ensembler": ensembler, "ensembler_config": dict(settings), "members": member_ids},
        "search_trial": None,
    }
    write_record(record, store)
    return record


def select_members(
    records: Sequence[Mapping[str, Any]], *, dataset: str | None, model: str | None, objective: str | None
) -> list[Mapping[str, Any]]:
    """Finished single runs (not ensembles, not one fold of a K-fold result) matching the filters, oldest first."""
    return [
        record
        for record in records
        if record["ensembler"] is None
        and record["spec"].get("fold") is None
        and record["status"] == "complete"
        and (dataset is None or record["dataset"]["name"] == dataset)
        and (model is None or record["model"] == model)
        and (objective is None or record["objective"] == objective)
    ]
