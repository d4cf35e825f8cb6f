"""Ensembles of finished runs: combine their saved predictions, score and record them like a run.

An ensemble never loads a model: it reads each member's saved predictions (the task's
``predictions_file``), hands them to a registered ensembler, scores the combined predictions
through the task and writes a record whose ``ensembler`` names how they were combined and whose
``spec`` lists the members.

Honest val scores: an ensembler may weigh or select candidates on the val trials' targets, so
scoring it on those same trials flatters it. The task's ``ensemble_metrics`` therefore scores it:
NLB co-smoothing cross-fits over ``folds`` seeded folds of val trials;
a task whose ensemblers fit nothing on val scores it as any run. The predictions saved for export
(train, val, eval) come from one fit on all val trials.

K-fold members (pooled records on the same folds) are combined on their out-of-fold rates and
cross-fitted over their own training folds by the task's ``ensemble_folds``: the ensemble is a
K-fold row like its members, with per-fold scores, a kept submission and their updates summed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.contracts import MetricValue
from harness.errors import BenchError
from harness.plugin.host import Host, merged_config
from harness.run.crossval import pooled_updates, write_kept_submission
from harness.store.home import runs_dir
from harness.store.record import RunRecord
from harness.store.records import predictions_path

#: Folds of the val trials that an ensemble's val scores are cross-fitted over, and their seed
#: (handed to the task, which cross-fits where its ensemblers may fit on val targets).
CROSS_FIT_FOLDS = 5
CROSS_FIT_SEED = 0


def ensemble_id(
    dataset: str, ensembler: str, config: Mapping[str, Any], members: Sequence[str], folds: int = CROSS_FIT_FOLDS
) -> str:
    """Named by what it combines: the same members and settings give the same id."""
    identity: dict[str, Any] = {"ensembler": ensembler, "config": config, "members": sorted(members)}
    if folds != CROSS_FIT_FOLDS:  # the default leaves ids of records made before cross-fitting unchanged
        identity["folds"] = folds
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]
    return f"{dataset}-ensemble-{ensembler}-{digest}"


def ensemble_label(ensembler: str, settings: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    """The ensembler and the settings that differ from its defaults ("mean top=3"): what tells
    apart, on a leaderboard, ensembles of the same runs combined differently."""
    changed = [f"{key}={value}" for key, value in sorted(settings.items()) if defaults.get(key) != value]
    return " ".join([ensembler, *changed])


def _chosen(combiner: Any) -> dict[str, Any]:
    return dict(getattr(combiner, "chosen", {}) or {})


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
    pooled = [record for record in members if record.get("folds")]
    if pooled and len(pooled) != len(members):
        single = next(record["run_id"] for record in members if not record.get("folds"))
        raise BenchError(
            f"run {pooled[0]['run_id']} is a K-fold result and {single} is not: an ensemble combines either K-fold "
            "results (on their out-of-fold rates) or single runs, not both"
        )
    for record in pooled[1:]:
        if (record["folds"]["k"], record["folds"]["seed"]) != (pooled[0]["folds"]["k"], pooled[0]["folds"]["seed"]):
            raise BenchError(
                f"run {record['run_id']} pools {record['folds']['k']} folds (fold seed {record['folds']['seed']}) but "
                f"{pooled[0]['run_id']} pools {pooled[0]['folds']['k']} (fold seed {pooled[0]['folds']['seed']}): "
                "K-fold results combine only on the same folds"
            )


def member_folds(members: Sequence[Mapping[str, Any]]) -> int | None:
    """The K that every member pools (checked by :func:`check_members`), or None for single runs."""
    return members[0]["folds"]["k"] if members[0].get("folds") else None


def without_trained_on(metrics: Mapping[str, MetricValue], members: Sequence[Mapping[str, Any]]) -> dict[str, MetricValue]:
    """One fold of a K-fold result trained on the dataset's val trials (folds deal train + val):
    an ensemble with such a member keeps only its eval scores; the others would be in-sample."""
    folded = [record["run_id"] for record in members if record["spec"].get("fold") is not None]
    if not folded:
        return dict(metrics)
    reason = (
        f"not scored: {', '.join(folded)} trained on these trials (one fold of a K-fold result "
        "trains on train + val); the K-fold record scores each trial by the fold model that held it out"
    )
    return {
        name: value if value.split == "eval" else MetricValue(None, value.split, value.n_trials, value.trials, reason, value.higher_is_better)
        for name, value in metrics.items()
    }


def ensemble_runs(
    host: Host,
    members: Sequence[Mapping[str, Any]],
    ensembler: str,
    config: Mapping[str, Any] | None = None,
    store: str | Path | None = None,
    folds: int = CROSS_FIT_FOLDS,
    seed: int = CROSS_FIT_SEED,
    label: str | None = None,
) -> dict[str, Any]:
    """Combine ``members`` (run records) with ``ensembler``, score it cross-fitted over ``folds``
    folds of val trials, write the record to ``store`` and return it. ``label`` names its
    leaderboard row (default: the ensembler and its settings)."""
    check_members(members)
    entry = host.registries.ensemblers.get(ensembler)
    settings = merged_config(entry, config)
    dataset = members[0]["dataset"]
    data = host.recorded_dataset(dataset, "the runs were")
    task = host.task_of(data)
    member_ids = [record["run_id"] for record in members]
    candidates = [task.load_predictions(predictions_path(record)) for record in members]
    k = member_folds(members)
    folds_block = None
    if k:  # K-fold members: cross-fitted over their own training folds, scored as a K-fold row
        combine_folds = getattr(task, "ensemble_folds", None)
        if combine_folds is None:
            raise BenchError(f"task '{task.name}' has no ensemble_folds: it cannot combine K-fold results")
        combined, metrics, task_chosen, folds_block = combine_folds(host, ensembler, settings, candidates, data, k)
        chosen = {"ensembler": dict(settings), **task_chosen}
        cross_fit_settings = {"folds": k, "seed": folds_block["seed"], "on": "the members' training folds"}
        folds = k
    else:
        combiner = host.ensembler(ensembler, settings, task=task.name)
        combined = combiner.combine(candidates, data)  # the final fit, on all val trials: what is exported
        metrics, task_chosen, cross_fit_settings = task.ensemble_metrics(host, ensembler, settings, candidates, combined, data, folds, seed)
        metrics = without_trained_on(metrics, members)
        chosen = {"ensembler": dict(settings), **_chosen(combiner), **task_chosen}

    run_id = ensemble_id(data.name, ensembler, settings, member_ids, folds)
    run_dir = runs_dir() / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    saved = task.save_predictions(combined, run_dir / task.predictions_file)
    # a K-fold row keeps its eval rates as a submission, like its members
    kept = write_kept_submission(task, data, combined, run_dir) if k else None
    record = RunRecord.of_members(
        host.plugin_versions,
        members,
        torch_version=None,
        task=task,
        run_id=run_id,
        model=_joined([record["model"] for record in members]),
        objective=_joined([record["objective"] for record in members]),
        ensembler=ensembler,
        hyperparameters={
            "model": {},
            "objective": {},
            "train": {},
            "chosen": chosen,
        },
        seed=0,  # an ensemble is one record per member set; its members keep their own seeds
        epochs=0,
        stopped_because=f"ensemble of {len(members)} {k}-fold results" if k else f"ensemble of {len(members)} runs",
        metrics=metrics,
        updates=pooled_updates(members) if k else None,
        folds=folds_block,
        paths={"run_dir": str(run_dir), "checkpoint": None, "predictions": str(saved), "submission": None if kept is None else str(kept)},
        spec={
            "ensembler": ensembler,
            "ensembler_config": dict(settings),
            "label": label or ensemble_label(ensembler, settings, entry.defaults),
            "members": member_ids,
            "cross_fit": cross_fit_settings,
        },
        search_trial=None,
    )
    record.write(store)
    return record.to_dict()


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


def rescored_metrics(host: Host, record: Mapping[str, Any], data: Any) -> dict[str, MetricValue]:
    """An ensemble record's metrics scored again as :func:`ensemble_runs` scored them: its saved
    (final-fit) predictions, with val figures cross-fitted again over its members' predictions
    where its task cross-fits. Scoring the saved predictions alone would put in-sample val figures
    (the ensembler fitted on those very val trials) where the record's are cross-fitted."""
    from harness.store.records import find_record

    spec = record["spec"]
    members = []
    for run_id in spec["members"]:
        try:
            members.append(find_record(run_id))
        except BenchError:
            raise BenchError(
                f"ensemble {record['run_id']}: its member {run_id} is not in the results store, and its val "
                "figures are cross-fitted over its members' predictions"
            ) from None
    check_members(members)
    task = host.task_of(data)
    settings = dict(spec.get("ensembler_config", {}))
    cross_fit = spec.get("cross_fit") or {}
    candidates = [task.load_predictions(predictions_path(member)) for member in members]
    combined = task.load_predictions(predictions_path(record))
    metrics, _, _ = task.ensemble_metrics(
        host, record["ensembler"], settings, candidates, combined, data,
        int(cross_fit.get("folds", CROSS_FIT_FOLDS)), int(cross_fit.get("seed", CROSS_FIT_SEED)),
    )
    return without_trained_on(metrics, members)
