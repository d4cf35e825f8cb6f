"""K folds of an encoding dataset's labelled trials, grouped by video.

Per mouse, the train and val trials (the labelled ones) are merged, train first, and dealt into
K folds by their ``video_groups``: every trial of a group (the same video, or a near-duplicate
by perceptual hash) lands in one fold, so a model is never validated on a video it trained on.
Groups are taken in a seeded order and each goes to the fold with the fewest trials so far, so
folds come out near-equal. Fold runs save predictions in the dataset's own layout (train then
val per mouse, each split's own frame count) like any run, so ensembles and submit read them as
any run's. Eval trials are untouched.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from harness.contracts import EncodingData, EncodingPredictions, EncodingSplit, MouseRecording
from harness.errors import BenchError
from harness.contracts import FOLD_SEED


def _pad_frames(array: np.ndarray | None, n_frames: int) -> np.ndarray | None:
    if array is None or array.ndim < 2 or array.shape[1] == n_frames:
        return array
    pad = [(0, 0)] * array.ndim
    pad[1] = (0, n_frames - array.shape[1])
    return np.pad(array, pad)


def labelled_trials(mouse: MouseRecording) -> EncodingSplit:
    """Train then val trials of one mouse as one split, frames padded to the longer of the two."""
    n_frames = max(mouse.train.video.shape[1], mouse.val.video.shape[1])
    merged = {}
    for name in EncodingSplit.__dataclass_fields__:
        first, second = getattr(mouse.train, name), getattr(mouse.val, name)
        if first is None or second is None:
            merged[name] = None
            continue
        per_frame = name in ("video", "behavior", "responses", "expected")
        if per_frame:
            first, second = _pad_frames(first, n_frames), _pad_frames(second, n_frames)
        merged[name] = np.concatenate([first, second], axis=0)
    return EncodingSplit(**merged)


def fold_of_trials(groups: np.ndarray, folds: int, seed: int = FOLD_SEED) -> np.ndarray:
    """The fold (0..folds-1) of each trial: whole groups dealt, each to the emptiest fold."""
    unique, counts = np.unique(groups, return_counts=True)
    if folds < 2 or folds > len(unique):
        raise BenchError(f"--folds {folds}: expected 2 to {len(unique)} folds (the number of distinct videos among the labelled trials)")
    sizes = np.zeros(folds, dtype=np.int64)
    fold_of_group = {}
    for position in np.random.default_rng(seed).permutation(len(unique)):
        fold = int(np.argmin(sizes))
        fold_of_group[unique[position]] = fold
        sizes[fold] += counts[position]
    return np.array([fold_of_group[group] for group in groups], dtype=np.int64)


def _positions(mouse: MouseRecording, fold: int, folds: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (train then val) fold ``fold`` trains on and validates on, in trial-id order."""
    labelled = labelled_trials(mouse)
    assignment = fold_of_trials(labelled.video_groups, folds)
    order = np.argsort(labelled.trial_ids, kind="stable")
    return order[assignment[order] != fold], order[assignment[order] == fold]


def fold_split(data: EncodingData, fold: int, folds: int) -> EncodingData:
    """``data`` with fold ``fold``'s videos as val and every other labelled trial as train, per mouse."""
    if not 0 <= fold < folds:
        raise BenchError(f"--fold {fold}: expected 0 to {folds - 1}")
    mice = []
    for mouse in data.mice:
        trained, validated = _positions(mouse, fold, folds)
        labelled = labelled_trials(mouse)
        mice.append(replace(mouse, train=labelled.take(trained), val=labelled.take(validated)))
    note = f"fold {fold} of {folds}: val = the trials of this fold's videos (grouped by video_groups, fold seed {FOLD_SEED})"
    return replace(data, mice=tuple(mice), notes=(*data.notes, note))


def _scatter(mouse: MouseRecording, pieces: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Responses at labelled positions put back into the mouse's train and val arrays."""
    n_train = mouse.train.n_trials
    n_frames = max(mouse.train.video.shape[1], mouse.val.video.shape[1])
    full = np.zeros((n_train + mouse.val.n_trials, n_frames, mouse.n_neurons), dtype=np.float32)
    for positions, responses in pieces:
        full[positions] = _pad_frames(responses, n_frames)[:, :n_frames]
    return full[:n_train, : mouse.train.video.shape[1]], full[n_train:, : mouse.val.video.shape[1]]


def to_dataset_layout(predictions: EncodingPredictions, data: EncodingData, fold: int, folds: int) -> EncodingPredictions:
    """A fold run's predictions (fold train, fold val) rearranged into ``data``'s train and val."""
    responses = {}
    for mouse in data.mice:
        trained, validated = _positions(mouse, fold, folds)
        mine = predictions.responses[mouse.name]
        train, val = _scatter(mouse, [(trained, mine["train"]), (validated, mine["val"])])
        responses[mouse.name] = {"train": train, "val": val, "eval": mine["eval"]}
    return EncodingPredictions(responses)


def out_of_fold(fold_predictions: list[EncodingPredictions], data: EncodingData, eval_predictions: EncodingPredictions) -> EncodingPredictions:
    """Train and val responses (dataset layout) where every trial comes from the fold model that
    validated on it; eval from ``eval_predictions`` (the fold ensemble)."""
    folds = len(fold_predictions)
    responses = {}
    for mouse in data.mice:
        pieces = []
        n_train = mouse.train.n_trials
        for fold, predictions in enumerate(fold_predictions):
            _, validated = _positions(mouse, fold, folds)
            mine = predictions.responses[mouse.name]
            n_frames = max(mouse.train.video.shape[1], mouse.val.video.shape[1])
            both = np.concatenate([_pad_frames(mine["train"], n_frames), _pad_frames(mine["val"], n_frames)])
            pieces.append((validated, both[validated]))
        train, val = _scatter(mouse, pieces)
        assert train.shape[0] == n_train
        responses[mouse.name] = {"train": train, "val": val, "eval": eval_predictions.responses[mouse.name]["eval"]}
    return EncodingPredictions(responses)


def pooled_view(data: EncodingData, predictions: EncodingPredictions) -> tuple[EncodingData, EncodingPredictions]:
    """The dataset (and out-of-fold predictions) as the pooled score sees them: every labelled
    trial in val, train empty, so scoring val scores each trial exactly once."""
    mice, responses = [], {}
    for mouse in data.mice:
        labelled = labelled_trials(mouse)
        mice.append(replace(mouse, train=labelled.take(np.arange(0)), val=labelled))
        mine = predictions.responses[mouse.name]
        n_frames = labelled.video.shape[1]
        both = np.concatenate([_pad_frames(mine["train"], n_frames), _pad_frames(mine["val"], n_frames)])
        responses[mouse.name] = {"train": both[:0], "val": both, "eval": mine["eval"]}
    return replace(data, mice=tuple(mice)), EncodingPredictions(responses)
