"""K-fold splits of the labelled trials, done once in the core for every dataset plugin.

A dataset hands over its own train/val split; a K-fold run merges the two back (the labelled
trials: every trial with held-out targets that is not an eval trial), orders them by trial id so
the folds do not depend on the dataset's own val seed, deals them into K seeded folds of nearly
equal size, and validates fold k on its own fold while training on the rest. Eval trials are
untouched (their held-in spikes may still join training through ``train.heldin_only_trials``).

Positions below index the *labelled* trials in the dataset's own layout: train trials first, then
val trials. Fold runs save predictions in that layout, so ``bench submit``, ensembles and the
pooled score read them against the dataset as it loads, without knowing about folds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from harness.contracts import FOLD_SEED, DatasetTensors, Predictions, Split, SplitRates
from harness.errors import BenchError



def _concat(first: Split, second: Split) -> Split:
    """Two splits' trials as one split; an array only one of them has is dropped."""
    merged = {}
    for f in fields(Split):
        a, b = getattr(first, f.name), getattr(second, f.name)
        merged[f.name] = None if a is None or b is None else np.concatenate([a, b], axis=0)
    return Split(**merged)


@dataclass(frozen=True)
class FoldPlan:
    """Which fold validates each labelled trial of one dataset."""

    n_train: int
    n_val: int
    #: Positions (train then val) in trial-id order: the order folds are dealt and pooled in.
    order: np.ndarray
    #: The fold of each position.
    assignment: np.ndarray
    folds: int

    @classmethod
    def for_data(cls, data: DatasetTensors, folds: int, seed: int = FOLD_SEED) -> FoldPlan:
        if data.train.heldout is None or data.val.heldout is None:
            raise BenchError(f"dataset '{data.name}': K-fold runs need held-out spikes for its train and val trials")
        n_train, n_val = data.train.n_trials, data.val.n_trials
        n_labelled = n_train + n_val
        if folds < 2 or folds > n_labelled:
            raise BenchError(f"--folds {folds}: expected 2 to {n_labelled} folds for the {n_labelled} labelled trials of '{data.name}'")
        ids = None
        if data.train.trial_ids is not None and data.val.trial_ids is not None:
            ids = np.concatenate([data.train.trial_ids, data.val.trial_ids])
        # trial-id order when ids are unique (NLB, synthetic); else the dataset's own order
        order = np.argsort(ids, kind="stable") if ids is not None and len(np.unique(ids)) == n_labelled else np.arange(n_labelled)
        dealt = np.random.default_rng(seed).permutation(n_labelled)
        assignment = np.empty(n_labelled, dtype=np.int64)
        for fold, chunk in enumerate(np.array_split(dealt, folds)):
            assignment[order[chunk]] = fold
        return cls(n_train=n_train, n_val=n_val, order=order, assignment=assignment, folds=folds)

    def validated_by(self, fold: int) -> np.ndarray:
        """Positions fold ``fold`` validates on, in trial-id order."""
        return self.order[self.assignment[self.order] == fold]

    def trained_by(self, fold: int) -> np.ndarray:
        """Positions fold ``fold`` trains on (with targets), in trial-id order."""
        return self.order[self.assignment[self.order] != fold]


def labelled_trials(data: DatasetTensors) -> Split:
    """Train then val trials as one split (the positions a :class:`FoldPlan` indexes)."""
    labelled = _concat(data.train, data.val)
    if labelled.trial_ids is None:
        labelled = replace(labelled, trial_ids=np.arange(labelled.n_trials))
    return labelled


def fold_split(data: DatasetTensors, fold: int, folds: int) -> DatasetTensors:
    """``data`` with fold ``fold``'s trials as val and every other labelled trial as train.

    The checksum stays the dataset's: a fold run's record names the data it loaded, and its saved
    predictions are put back in the dataset's layout (:func:`to_dataset_layout`).
    """
    plan = FoldPlan.for_data(data, folds)
    labelled = labelled_trials(data)
    note = f"fold {fold} of {folds}: val = {len(plan.validated_by(fold))} of the {labelled.n_trials} labelled trials (fold seed {FOLD_SEED})"
    return replace(
        data,
        train=labelled.take(plan.trained_by(fold)),
        val=labelled.take(plan.validated_by(fold)),
        notes=(*data.notes, note),
    )


def _rates_by_position(train: SplitRates, val: SplitRates, positions: tuple[np.ndarray, np.ndarray], n_labelled: int) -> dict[str, np.ndarray]:
    """Each rate array of two splits scattered to the labelled positions they came from."""
    scattered = {}
    for name, array in train.arrays().items():
        other = val.arrays().get(name)
        if other is None:
            continue
        full = np.empty((n_labelled, *array.shape[1:]), dtype=array.dtype)
        full[positions[0]] = array
        full[positions[1]] = other
        scattered[name] = full
    return scattered


def _split_back(by_position: dict[str, np.ndarray], n_train: int) -> tuple[SplitRates, SplitRates]:
    train = SplitRates(**{name: array[:n_train] for name, array in by_position.items()})
    val = SplitRates(**{name: array[n_train:] for name, array in by_position.items()})
    return train, val


def to_dataset_layout(predictions: Predictions, data: DatasetTensors, fold: int, folds: int) -> Predictions:
    """A fold run's predictions (fold train, fold val) rearranged into ``data``'s train and val."""
    plan = FoldPlan.for_data(data, folds)
    by_position = _rates_by_position(
        predictions.train, predictions.val, (plan.trained_by(fold), plan.validated_by(fold)), plan.n_train + plan.n_val
    )
    train, val = _split_back(by_position, plan.n_train)
    return replace(predictions, train=train, val=val)


def out_of_fold(fold_predictions: list[Predictions], data: DatasetTensors) -> tuple[SplitRates, SplitRates]:
    """Train and val rates (dataset layout) where every trial comes from the fold that validated
    on it: the model that never trained on its held-out units or forward bins."""
    plan = FoldPlan.for_data(data, len(fold_predictions))
    n_labelled = plan.n_train + plan.n_val
    pooled: dict[str, np.ndarray] = {}
    for fold, predictions in enumerate(fold_predictions):
        positions = (np.arange(plan.n_train), plan.n_train + np.arange(plan.n_val))
        by_position = _rates_by_position(predictions.train, predictions.val, positions, n_labelled)
        mine = plan.assignment == fold
        for name, array in by_position.items():
            target = pooled.setdefault(name, np.empty_like(array))
            target[mine] = array[mine]
    return _split_back(pooled, plan.n_train)


def pooled_view(data: DatasetTensors, folds: int) -> DatasetTensors:
    """The dataset as the pooled score sees it: every labelled trial in val (trial-id order),
    train empty. Scoring out-of-fold predictions against it scores each trial exactly once."""
    plan = FoldPlan.for_data(data, folds)
    labelled = labelled_trials(data)
    note = f"val = all {labelled.n_trials} labelled trials, each predicted by the fold model that validated on it ({folds} folds)"
    return replace(data, train=labelled.take(np.arange(0)), val=labelled.take(plan.order), notes=(*data.notes, note))


def pooled_predictions(train: SplitRates, val: SplitRates, eval_rates: SplitRates, data: DatasetTensors, folds: int) -> Predictions:
    """Out-of-fold rates (dataset layout) in the layout of :func:`pooled_view`."""
    plan = FoldPlan.for_data(data, folds)
    positions = (np.arange(plan.n_train), plan.n_train + np.arange(plan.n_val))
    by_position = _rates_by_position(train, val, positions, plan.n_train + plan.n_val)
    return Predictions(
        train=SplitRates(**{name: array[:0] for name, array in by_position.items()}),
        val=SplitRates(**{name: array[plan.order] for name, array in by_position.items()}),
        eval=eval_rates,
    )


def from_pooled_predictions(predictions: Predictions, data: DatasetTensors, folds: int) -> Predictions:
    """The inverse of :func:`pooled_predictions`: rates in the pooled view's layout (every labelled
    trial in val, trial-id order) put back into ``data``'s own train and val."""
    plan = FoldPlan.for_data(data, folds)
    positions = (np.arange(0), plan.order)
    by_position = _rates_by_position(predictions.train, predictions.val, positions, plan.n_train + plan.n_val)
    train, val = _split_back(by_position, plan.n_train)
    return replace(predictions, train=train, val=val)
