"""Ensembles of K-fold results: combined on their out-of-fold rates, cross-fitted on their folds.

A K-fold record's predictions are out-of-fold rates (every labelled trial predicted by the fold
model that never trained on it, in the dataset's train/val layout) plus the fold ensemble's eval
rates. Ensembling such records is honest only if the ensembler never scores a trial it was fitted
on: for each of the K training folds it is fitted on the other folds' out-of-fold rates and predicts this fold, so the
ensemble's pooled score, its per-fold scores and its eval-size null figure are computed exactly as
a member's are, on the same trials, and the paired noise marks compare it fold by fold with
them. Its eval rates (what ``bench submit`` exports) come from one fit on all labelled trials.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.contracts import FOLD_SEED, DatasetTensors, MetricValue, Predictions
from harness.tasks.nlb.bits import nlb_bits_per_spike
from harness.tasks.nlb.crossval import EVAL_SIZED, eval_sized_co_bps
from harness.tasks.nlb.ensembles import IN_SAMPLE_METRIC, cross_fit
from harness.tasks.nlb.folds import FoldPlan, from_pooled_predictions, pooled_predictions, pooled_view

#: Metrics scored per fold (on that fold's trials alone), for the spread and the paired marks.
PER_FOLD_METRICS = ("co-bps", "val_co_bps", "fp-bps")


def fold_positions(data: DatasetTensors, folds: int) -> list[np.ndarray]:
    """Each training fold's trials as positions in the pooled view's val (trial-id order)."""
    plan = FoldPlan.for_data(data, folds)
    in_pooled_order = plan.assignment[plan.order]
    return [np.flatnonzero(in_pooled_order == fold) for fold in range(folds)]


def _pooled_note(value: MetricValue, folds: int, n_labelled: int) -> MetricValue:
    if "val" not in value.split.split("+"):
        return value
    note = (
        f"pooled over all {n_labelled} labelled trials: the members' out-of-fold rates, each fold predicted "
        f"by the ensembler fitted on the other {folds - 1} folds"
    )
    return dataclasses.replace(value, split=f"{folds}-fold val", note=f"{value.note}; {note}" if value.note else note)


def _per_fold(view: DatasetTensors, rates: Predictions, parts: Sequence[np.ndarray]) -> dict[str, list[float | None]]:
    from harness.tasks.nlb.metrics import score

    scores = [score(dataclasses.replace(view, val=view.val.take(part)), dataclasses.replace(rates, val=rates.val.take(part))) for part in parts]
    return {name: [fold[name].value for fold in scores] for name in PER_FOLD_METRICS if all(name in fold for fold in scores)}


def fold_ensemble(
    host: Any, ensembler: str, settings: Mapping[str, Any], candidates: Sequence[Predictions], data: DatasetTensors, folds: int
) -> tuple[Predictions, dict[str, MetricValue], dict[str, Any], dict[str, Any]]:
    """Combine K-fold members (their saved predictions) on ``data``'s K folds. Returns the
    predictions to save (cross-fitted rates for labelled trials, the final fit on all of them for
    eval), the metrics (cross-fitted over the training folds), what the ensembler chose (on all
    trials, and per fold) and the record's ``folds`` (per-fold values, spread)."""
    import statistics

    from harness.tasks.nlb.metrics import score

    view = pooled_view(data, folds)
    candidates = [pooled_predictions(c.train, c.val, c.eval, data, folds) for c in candidates]
    combiner = host.ensembler(ensembler, settings)
    combined = combiner.combine(list(candidates), view)
    parts = fold_positions(data, folds)
    cross_fitted, chosen_per_fold = cross_fit(host, ensembler, settings, candidates, view, folds, FOLD_SEED, parts=parts)
    scored = dataclasses.replace(combined, val=cross_fitted)
    # saved as a member's are: cross-fitted (out-of-fold) rates in the dataset's layout, the final fit's eval
    saved = from_pooled_predictions(scored, data, folds)
    n_labelled = view.val.n_trials
    metrics = {name: _pooled_note(value, folds, n_labelled) for name, value in score(view, scored).items()}
    if data.eval.heldout is None and data.eval.n_trials:  # grouped exactly as a member's figure is
        metrics[EVAL_SIZED] = MetricValue.from_dict(eval_sized_co_bps(saved.train, saved.val, data, folds))
    in_sample = nlb_bits_per_spike(combined.val.heldout, view.val.heldout)
    metrics[IN_SAMPLE_METRIC] = MetricValue(
        float(in_sample) if np.isfinite(in_sample) else None, f"{folds}-fold val", n_labelled, metrics["co-bps"].trials if "co-bps" in metrics else [],
        "in-sample: the ensembler fitted on these same out-of-fold rates (optimistic; co-bps is the cross-fitted figure)",
    )
    per_fold = _per_fold(view, scored, parts)
    spread = {name: statistics.stdev(values) if None not in values and len(values) > 1 else None for name, values in per_fold.items()}
    folds_block = {"k": folds, "seed": FOLD_SEED, "members": [], "per_fold": per_fold, "spread": spread}
    chosen = {**dict(getattr(combiner, "chosen", {}) or {}), "folds": chosen_per_fold}
    return saved, metrics, chosen, folds_block

