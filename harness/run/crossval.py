"""Cross-validated results: K fold runs of one spec, pooled into one record and one fold ensemble.

Each fold is an ordinary run (its own run id, checkpoints, resume, record) that validates, stops
early and picks its checkpoint on its own fold only. The cross-validated record then scores every
labelled trial once, with the rates of the fold model that validated on it (the task's
``pool_folds``, with the same scorer as a run), reports the spread of the per-fold values, and
predicts eval trials with the mean of the fold models through a registered ensembler, so that
``bench submit`` of the record exports the fold ensemble.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.contracts import FOLD_SEED
from harness.store.home import runs_dir
from harness.plugin.host import Host, merged_config
from harness.run.context import run_identity
from harness.store.record import RunRecord
from harness.store.records import predictions_path, read_records
from harness.specs import RunSpec

#: The ensembler that averages the fold models for eval trials.
FOLD_ENSEMBLER = "mean"

#: Runs one fold's spec and returns its record (``bench run`` wraps it in a progress bar).
RunFold = Callable[[RunSpec], Mapping[str, Any]]


def fold_specs(spec: RunSpec) -> list[RunSpec]:
    """The K ordinary runs of a K-fold spec."""
    if not spec.folds:
        raise BenchError("this spec has no folds: set folds: K in the spec or pass --folds K")
    return [replace(spec, fold=fold) for fold in range(spec.folds)]


def cross_validation_spec(spec: RunSpec) -> RunSpec:
    """The spec naming the cross-validated result (no fold index)."""
    return replace(spec, fold=None)


def finished_folds(host: Host, spec: RunSpec) -> list[Mapping[str, Any] | None]:
    """Each fold's record, or None for a fold not finished yet."""
    records = read_records()
    return [run_identity(host, fold).find(records) for fold in fold_specs(spec)]


def cross_validate(
    host: Host,
    spec: RunSpec,
    *,
    rerun: bool = False,
    ensembler: str = FOLD_ENSEMBLER,
    run_fold: RunFold | None = None,
) -> dict[str, Any]:
    """Run (or resume, or reuse) every fold of ``spec``, then pool them; returns the pooled record."""
    from harness.plugin.host import resolve_objective
    from harness.run.execute import execute

    run_fold = run_fold or (lambda fold_spec: execute(host, fold_spec, rerun=rerun)[0])
    host.registries.ensemblers.get(ensembler)  # an unknown name fails before hours of training
    spec = resolve_objective(host, spec)
    members = [run_fold(fold_spec) for fold_spec in fold_specs(spec)]
    pooled = run_identity(host, cross_validation_spec(spec)).find(read_records())
    if pooled is not None and not rerun and pooled["ensembler"] == ensembler and _newer_than_members(pooled, members):
        return pooled  # these very fold runs were pooled already
    return pool_folds(host, spec, members, ensembler)


def _newer_than_members(pooled: Mapping[str, Any], members: Sequence[Mapping[str, Any]]) -> bool:
    from datetime import datetime

    created = datetime.fromisoformat(pooled["created"])
    return all(datetime.fromisoformat(record["created"]) <= created for record in members)


def _spread(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.stdev(known) if len(known) == len(values) and len(known) > 1 else None


def pool_folds(host: Host, spec: RunSpec, members: Sequence[Mapping[str, Any]], ensembler: str = FOLD_ENSEMBLER) -> dict[str, Any]:
    """Pool finished fold runs (records, in fold order) into the cross-validated record: the task
    scores every labelled trial with the fold model that validated on it, and the fold ensemble
    (``ensembler`` over the fold models) predicts the eval trials."""
    from harness.plugin.host import resolve_objective

    spec = cross_validation_spec(resolve_objective(host, spec))
    identities = [run_identity(host, fold) for fold in fold_specs(spec)]
    found = [record["run_id"] for record in members]
    if len(members) != len(identities) or not all(identity.names(record) for identity, record in zip(identities, members)):
        expected = [identity.run_id for identity in identities]
        raise BenchError(f"pooling {spec.folds} folds needs the runs {', '.join(expected)} in order, got {', '.join(found) or 'none'}")
    for record in members:
        if record["dataset"]["checksum"] != members[0]["dataset"]["checksum"]:
            raise BenchError(f"fold run {record['run_id']} trained on other data than {members[0]['run_id']}: their folds do not partition one dataset")
        if not predictions_path(record).is_file():
            raise BenchError(f"fold run {record['run_id']}: its predictions file {predictions_path(record)} is missing (run it again with --rerun)")
    data = host.recorded_dataset(members[0]["dataset"], "the fold runs were")
    task = host.task_of(data)
    candidates = [task.load_predictions(predictions_path(record)) for record in members]

    settings = merged_config(host.registries.ensemblers.get(ensembler), {})
    combiner = host.ensembler(ensembler, settings, task=task.name)
    ensembled = combiner.combine(candidates, data)  # the fold ensemble predicts eval trials
    metrics, pooled_predictions, n_labelled = task.pool_folds(data, candidates, ensembled, spec.folds)

    identity = run_identity(host, spec)
    run_dir = runs_dir() / identity.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    saved = task.save_predictions(pooled_predictions, run_dir / task.predictions_file)
    # the fold ensemble's eval rates as a submission, for the leaderboard to keep beside the record
    kept = write_kept_submission(task, data, pooled_predictions, run_dir)
    per_fold = {
        name: [record["metrics"][name]["value"] for record in members] for name in metrics if all(name in r["metrics"] for r in members)
    }
    first = members[0]
    record = RunRecord.of_members(
        host.plugin_versions,
        members,
        torch_version=first["versions"]["torch"],
        task=task,
        run_id=identity.run_id,
        legacy_run_id=identity.legacy_run_id,
        model=spec.model,
        objective=first["objective"],
        ensembler=ensembler,
        hyperparameters={
            "model": dict(first["hyperparameters"]["model"]),
            "objective": dict(first["hyperparameters"]["objective"]),
            "train": dict(first["hyperparameters"]["train"]),
            "chosen": {"ensembler": ensembler, "ensembler_config": dict(settings), "eval": f"mean of the {spec.folds} fold models"},
        },
        seed=spec.seed,
        epochs=int(sum(record["epochs"] for record in members)),
        stopped_because=f"{spec.folds}-fold cross-validation over {n_labelled} labelled trials",
        updates=pooled_updates(members),
        metrics=metrics,
        folds={
            "k": spec.folds,
            "seed": FOLD_SEED,
            "members": found,
            "per_fold": per_fold,
            "spread": {name: _spread(values) for name, values in per_fold.items()},
        },
        paths={"run_dir": str(run_dir), "checkpoint": None, "predictions": str(Path(saved)), "submission": None if kept is None else str(Path(kept))},
        spec=_spec_dict(spec),
        search_trial=spec.search_trial,
    )
    record.write()
    return record.to_dict()


def write_kept_submission(task: Any, data: Any, predictions: Any, run_dir: Path) -> Path | None:
    """The task's kept submission of ``predictions`` in ``run_dir``; None where it keeps none."""
    keep = getattr(task, "write_kept_submission", None)  # a task written before the method existed has none
    return keep(data, predictions, run_dir) if keep is not None else None


def pooled_updates(members: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The folds' updates summed; cut short when one fold was. None when a fold made no updates
    (a closed-form fit) or was recorded before records counted them."""
    if not all(record.get("updates") for record in members):
        return None
    return {
        "done": sum(record["updates"]["done"] for record in members),
        "planned": sum(record["updates"]["planned"] for record in members),
        "cut_short": any(record["updates"]["cut_short"] for record in members),
    }


def _spec_dict(spec: RunSpec) -> dict[str, Any]:
    from harness.store.records import jsonable

    return jsonable(spec.to_dict())
