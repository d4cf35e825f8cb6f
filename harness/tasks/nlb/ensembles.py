"""Honest val scores of an NLB ensemble: the ensembler cross-fitted over folds of val trials.

An ensembler may weigh or select candidates on the val trials' held-out spikes, so scoring it on
those same trials flatters it. The val trials are cut into K seeded folds, the ensembler is fitted
(``combine``) on K-1 of them and predicts the held-out fold, handed to it as the eval split with
its targets removed; the K held-out predictions, pooled, are the val rates its val metrics are
computed from. The in-sample figure (fitted and scored on all val trials) is recorded beside them
as ``val_co_bps (in-sample)``. The generic part (members, the record) is the core's, which calls :meth:`CoSmoothingTask.ensemble_metrics`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.contracts import DatasetTensors, MetricValue, Predictions, Split, SplitRates
from harness.errors import BenchError
from harness.tasks.nlb.bits import nlb_bits_per_spike

#: The val co-bps of the ensembler fitted on all val trials and scored on them: optimistic.
IN_SAMPLE_METRIC = "val_co_bps (in-sample)"


def val_folds(n_trials: int, folds: int, seed: int) -> list[np.ndarray]:
    """Positions ``range(n_trials)`` cut into ``folds`` seeded, shuffled parts of near-equal size."""
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
    held_trials = data.val.take(held)
    fold_data = data.with_splits(val=data.val.take(fit), eval=Split(heldin=held_trials.heldin, trial_ids=held_trials.trial_ids))
    fold_candidates = [
        Predictions(train=c.train, val=c.val.take(fit), eval=c.val.take(held), mask_bps=c.mask_bps) for c in candidates
    ]
    return fold_candidates, fold_data


def cross_fit(
    host: Any,
    ensembler: str,
    settings: Mapping[str, Any],
    candidates: Sequence[Predictions],
    data: DatasetTensors,
    folds: int,
    seed: int,
    parts: Sequence[np.ndarray] | None = None,
) -> tuple[SplitRates, list[dict[str, Any]]]:
    """Val rates in which each trial is predicted by the ensembler fitted on the other folds, and
    what it chose on each fold (with the trial ids that fold held out). ``host`` builds a fresh
    ensembler per fold (``host.ensembler(name, settings)``). ``parts`` (val positions per fold)
    replaces the seeded folds: K-fold members are cross-fitted over their own training folds."""
    from harness.tasks.nlb.metrics import trial_ids

    n_trials = data.val.n_trials
    ids = np.asarray(trial_ids(data.val))
    pooled: dict[str, np.ndarray] = {}
    per_fold = []
    for held in parts if parts is not None else val_folds(n_trials, folds, seed):
        fit = np.setdiff1d(np.arange(n_trials), held)
        fold_candidates, fold_data = _fold_view(candidates, data, fit, held)
        combiner = host.ensembler(ensembler, settings)  # a fresh one: nothing carries over between folds
        predicted = combiner.combine(fold_candidates, fold_data).eval
        for key, array in predicted.arrays().items():
            pooled.setdefault(key, np.empty((n_trials, *array.shape[1:]), dtype=array.dtype))[held] = array
        per_fold.append({"held_out_trials": [int(t) for t in ids[held]], **dict(getattr(combiner, "chosen", {}) or {})})
    return SplitRates(**pooled), per_fold


def _cross_fitted_note(value: MetricValue, folds: int, seed: int) -> MetricValue:
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
    from harness.tasks.nlb.metrics import score, trial_ids

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


def ensemble_metrics(
    host: Any, ensembler: str, settings: Mapping[str, Any], candidates: Sequence[Predictions], combined: Predictions,
    data: DatasetTensors, folds: int, seed: int,
) -> tuple[dict[str, MetricValue], dict[str, Any], dict[str, Any] | None]:
    """Val metrics cross-fitted over folds of val trials, with the in-sample val co-bps beside
    them; plain scores when val has no targets (nothing to fit on, so nothing to cross-fit)."""
    from harness.tasks.nlb.metrics import score

    if data.val.heldout is None:
        return score(data, combined), {}, None
    cross_fitted_val, per_fold = cross_fit(host, ensembler, settings, candidates, data, folds, seed)
    return honest_metrics(data, combined, cross_fitted_val, folds, seed), {"folds": per_fold}, {"folds": folds, "seed": seed}
