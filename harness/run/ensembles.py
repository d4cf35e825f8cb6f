"""Ensembles of finished runs: combine their saved predictions, score and record them like a run.

An ensemble never loads a model: it reads each member's ``predictions.h5``, hands them to a
registered ensembler, scores the combined rates with the same code as ``bench run`` and writes a
record whose ``ensembler`` names how they were combined and whose ``spec`` lists the members.

Honest val scores: an ensembler may weigh or select candidates on the val trials' targets, so
scoring it on those same trials flatters it. Every ensemble is therefore cross-fitted: the val
trials are cut into K seeded folds, the ensembler is fitted (``combine``) on K-1 of them and
predicts the held-out fold, handed to it as the eval split with its targets removed; the K
held-out predictions, pooled, are the val rates its val metrics are computed from. The in-sample
figure (fitted and scored on all val trials) is recorded beside them as ``val_co_bps (in-sample)``.
The predictions saved for export (train, val, eval) come from one fit on all val trials.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import BenchError
from harness.store.home import runs_dir
from harness.plugin.host import Host, merged_config
from harness.tasks.nlb.metrics import MetricValue, score
from harness.store.record import RunRecord
from harness.store.records import predictions_path

if TYPE_CHECKING:  # numpy loads when an ensemble is built, not when the CLI registers its commands
    import numpy as np

    from harness.contracts import DatasetTensors, Predictions, SplitRates
    from harness.tasks.nlb.metrics import MetricValue

#: Folds of the val trials that every ensemble's val scores are cross-fitted over, and their seed.
CROSS_FIT_FOLDS = 5
CROSS_FIT_SEED = 0
#: The val co-bps of the ensembler fitted on all val trials and scored on them: optimistic.
IN_SAMPLE_METRIC = "val_co_bps (in-sample)"


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


def val_folds(n_trials: int, folds: int, seed: int = CROSS_FIT_SEED) -> list[np.ndarray]:
    """Positions ``range(n_trials)`` cut into ``folds`` seeded, shuffled parts of near-equal size."""
    import numpy as np

    if folds < 2:
        raise BenchError(f"--folds {folds}: cross-fitting needs at least 2 folds of val trials")
    if n_trials < folds:
        raise BenchError(f"--folds {folds}: the dataset has only {n_trials} val trials; use --folds {n_trials} or fewer")
    order = np.random.default_rng(seed).permutation(n_trials)
    return [np.sort(part) for part in np.array_split(order, folds)]


def _fold_view(
    candidates: Sequence[Predictions], data: DatasetTensors, fit: np.ndarray, held: np.ndarray
) -> tuple[list[Predictions], DatasetTensors]:
    """What an ensembler sees for one fold: val holds the fitting trials; the held-out val trials
    stand in for eval, with nothing of theirs but the held-in spikes and trial ids."""
    from harness.contracts import Predictions, Split

    held_trials = data.val.take(held)
    fold_data = data.with_splits(val=data.val.take(fit), eval=Split(heldin=held_trials.heldin, trial_ids=held_trials.trial_ids))
    fold_candidates = [
        Predictions(train=c.train, val=c.val.take(fit), eval=c.val.take(held), mask_bps=c.mask_bps) for c in candidates
    ]
    return fold_candidates, fold_data


def _chosen(combiner: Any) -> dict[str, Any]:
    return dict(getattr(combiner, "chosen", {}) or {})


def cross_fit(
    host: Host,
    ensembler: str,
    settings: Mapping[str, Any],
    candidates: Sequence[Predictions],
    data: DatasetTensors,
    folds: int = CROSS_FIT_FOLDS,
    seed: int = CROSS_FIT_SEED,
) -> tuple[SplitRates, list[dict[str, Any]]]:
    """Val rates in which each trial is predicted by the ensembler fitted on the other folds, and
    what it chose on each fold (with the trial ids that fold held out)."""
    import numpy as np

    from harness.contracts import SplitRates
    from harness.tasks.nlb.metrics import trial_ids

    n_trials = data.val.n_trials
    ids = np.asarray(trial_ids(data.val))
    pooled: dict[str, np.ndarray] = {}
    per_fold = []
    for held in val_folds(n_trials, folds, seed):
        fit = np.setdiff1d(np.arange(n_trials), held)
        fold_candidates, fold_data = _fold_view(candidates, data, fit, held)
        combiner = host.ensembler(ensembler, settings)  # a fresh one: nothing carries over between folds
        predicted = combiner.combine(fold_candidates, fold_data).eval
        for key, array in predicted.arrays().items():
            pooled.setdefault(key, np.empty((n_trials, *array.shape[1:]), dtype=array.dtype))[held] = array
        per_fold.append({"held_out_trials": [int(t) for t in ids[held]], **_chosen(combiner)})
    return SplitRates(**pooled), per_fold


def _cross_fitted_note(value: MetricValue, folds: int, seed: int) -> MetricValue:
    import dataclasses

    if value.value is None or "val" not in value.split.split("+"):
        return value  # not computed, or scored on eval: the ensembler never saw those trials' targets
    note = (
        f"val rates cross-fitted: each of {folds} folds of val trials (seed {seed}) predicted by the "
        "ensembler fitted on the other folds, pooled"
    )
    return dataclasses.replace(value, note=f"{value.note}; {note}" if value.note else note)


def honest_metrics(
    data: DatasetTensors, final: Predictions, cross_fitted_val: SplitRates, folds: int, seed: int
) -> dict[str, MetricValue]:
    """Every metric with the val rates cross-fitted, plus the in-sample val co-bps beside them."""
    import dataclasses

    import numpy as np

    from harness.tasks.nlb.metrics import MetricValue, nlb_bits_per_spike, trial_ids

    metrics = score(data, dataclasses.replace(final, val=cross_fitted_val))
    metrics = {name: _cross_fitted_note(value, folds, seed) for name, value in metrics.items()}
    in_sample = nlb_bits_per_spike(final.val.heldout, data.val.heldout)
    ids = trial_ids(data.val)
    metrics[IN_SAMPLE_METRIC] = MetricValue(
        float(in_sample) if np.isfinite(in_sample) else None,
        "val",
        len(ids),
        ids,
        "in-sample: the ensembler fitted on these same val trials (optimistic; val_co_bps is the cross-fitted figure)",
    )
    return metrics


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
    combiner = host.ensembler(ensembler, settings, task=task.name)
    member_ids = [record["run_id"] for record in members]
    candidates = [task.load_predictions(predictions_path(record)) for record in members]
    combined = combiner.combine(candidates, data)  # the final fit, on all val trials: what is exported
    metrics, task_chosen, cross_fit_settings = task.ensemble_metrics(host, ensembler, settings, candidates, combined, data, folds, seed)
    metrics = without_trained_on(metrics, members)
    chosen = {"ensembler": dict(settings), **_chosen(combiner), **task_chosen}

    run_id = ensemble_id(data.name, ensembler, settings, member_ids, folds)
    run_dir = runs_dir() / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    saved = task.save_predictions(combined, run_dir / task.predictions_file)
    record = RunRecord.of_members(
        host.manager,
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
        stopped_because=f"ensemble of {len(members)} runs",
        metrics=metrics,
        paths={"run_dir": str(run_dir), "checkpoint": None, "predictions": str(saved), "submission": None},
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
