"""NLB's cross-validated score: K fold runs' out-of-fold rates pooled and scored once.

The generic part (running the folds, the fold ensemble, the record) is the core's; what it asks
the task (:meth:`CoSmoothingTask.pool_folds`) is here: every labelled trial scored with
nlb_tools by the fold model that validated on it, and, where the dataset withholds its eval
targets, the same co-bps with null rates fitted on eval-sized groups of trials.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.contracts import FOLD_SEED, DatasetTensors, Predictions, SplitRates
from harness.tasks.nlb.bits import nlb_bits_per_spike
from harness.tasks.nlb.folds import FoldPlan, labelled_trials, out_of_fold, pooled_predictions, pooled_view

#: The pooled co-bps with its null rates fitted on eval-sized groups of trials (see below).
EVAL_SIZED = "co-bps (eval-size null)"
#: Random regroupings averaged for it.
EVAL_SIZED_REPEATS = 50


def pool_folds(data: DatasetTensors, fold_predictions: list[Predictions], eval_predictions: Predictions, folds: int) -> tuple[dict[str, Any], Predictions, int]:
    """Out-of-fold rates of every labelled trial scored once with nlb_tools; a dataset that
    withholds its eval targets also gets the co-bps with eval-sized null rates."""
    from harness.store.records import record_metrics
    from harness.tasks.nlb.glossary import display_note
    from harness.tasks.nlb.metrics import score

    eval_rates = eval_predictions.eval
    train, val = out_of_fold(list(fold_predictions), data)
    metrics = record_metrics(score(pooled_view(data, folds), pooled_predictions(train, val, eval_rates, data, folds)))
    plan = FoldPlan.for_data(data, folds)
    n_labelled = plan.n_train + plan.n_val
    for name, entry in metrics.items():
        if entry["split"] in ("val", "train+val"):
            entry["split"] = f"{folds}-fold val"
            pooled = f"pooled over all {n_labelled} labelled trials, each predicted by the fold model that validated on it"
            entry["note"] = f"{entry['note']}; {pooled}" if entry["note"] else pooled
            entry["note"] = display_note(name, entry)  # a k-shot value needs train trials the pooled view has none of
    if data.eval.heldout is None and data.eval.n_trials:  # scored elsewhere, on eval trials alone
        metrics[EVAL_SIZED] = eval_sized_co_bps(train, val, data, folds)
    return metrics, Predictions(train=train, val=val, eval=eval_rates), n_labelled


def grouped_bits_per_spike(rates, spikes, group_size: int, repeats: int = EVAL_SIZED_REPEATS, seed: int = FOLD_SEED) -> float:
    """nlb bits per spike with each null rate fitted on a group of ``group_size`` trials instead of
    all of them: the spike-weighted mean of nlb's score per group, over ``repeats`` random groupings.

    Why: nlb's null is the per-unit mean rate of the scored trials themselves. Fitted on 75 trials it
    is a weaker baseline than one fitted on the 25 eval trials a withheld score uses (sparse held-out
    units), so the 75-trial pooled co-bps sits above an eval score of the same model. Differences
    between models do not depend on the null (it is the same for every model on the same trials).
    """
    n_trials = len(spikes)
    n_groups = max(1, n_trials // group_size)
    generator = np.random.default_rng(seed)
    values = []
    for _ in range(repeats if n_groups > 1 else 1):
        groups = np.array_split(generator.permutation(n_trials), n_groups)
        counts = np.array([np.nansum(spikes[g]) for g in groups])
        scores = np.array([nlb_bits_per_spike(rates[g], spikes[g]) for g in groups])
        values.append(float(np.sum(scores * counts) / np.sum(counts)))
    return float(np.mean(values))


def eval_sized_co_bps(train: SplitRates, val: SplitRates, data: DatasetTensors, folds: int) -> dict[str, Any]:
    """The pooled co-bps as it would score on eval-sized sets of unseen trials (a record metric)."""
    labelled = labelled_trials(data)
    rates = np.concatenate([train.heldout, val.heldout])
    size = data.eval.n_trials
    value = grouped_bits_per_spike(rates, labelled.heldout, size)
    note = (
        f"out-of-fold rates of all {labelled.n_trials} labelled trials, nlb_tools bits_per_spike per random group of {size} "
        f"trials (the eval split's size: null rates fitted as on the withheld eval trials), spike-weighted, "
        f"mean of {EVAL_SIZED_REPEATS} groupings"
    )
    trials = [int(t) for t in labelled.trial_ids]
    return {"value": value, "split": f"{folds}-fold val", "n_trials": len(trials), "trials": trials, "note": note, "higher_is_better": True}
