"""Predictions on disk, NLB/EvalAI submission files, and scoring a submission against a target.

A run's predictions are saved in our own small h5 layout (one group per split) so that metrics
and ensemblers can read them later without the model. A submission is the layout EvalAI and
``nlb_tools.evaluation.evaluate`` read: one group named after the dataset (``mc_maze_small``)
with ``train_rates_*`` for every train trial of the dataset (our train and val splits merged
back in trial-id order) and ``eval_rates_*``, float32, in expected spikes per bin.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from harness.store.atomic import atomic_path
from harness.contracts import SPLITS, DatasetTensors, Predictions, SplitRates
from harness.errors import BenchError

PREDICTIONS_FORMAT = "bench-harness/predictions"
PREDICTIONS_FORMAT_VERSION = 1

#: Dataset groups ``nlb_tools.evaluation.evaluate`` scores itself (5 ms and 20 ms bins).
NLB_DATASETS = tuple(
    name + suffix
    for name in ("mc_maze", "mc_rtt", "area2_bump", "dmfc_rsg", "mc_maze_large", "mc_maze_medium", "mc_maze_small")
    for suffix in ("", "_20")
)

_RATE_FIELDS = ("heldin", "heldout", "heldin_forward", "heldout_forward")


# -- a run's predictions -------------------------------------------------------------------------


def save_predictions(predictions: Predictions, path: str | Path) -> Path:
    """Write ``predictions`` to ``path`` (h5), atomically."""
    import h5py

    path = Path(path)
    with atomic_path(path) as temporary, h5py.File(temporary, "w") as file:
        file.attrs["format"] = PREDICTIONS_FORMAT
        file.attrs["format_version"] = PREDICTIONS_FORMAT_VERSION
        file.attrs["mask_bps"] = json.dumps({k: float(v) for k, v in predictions.mask_bps.items()}, sort_keys=True)
        for split in SPLITS:
            group = file.create_group(split)
            for name, array in predictions.split(split).arrays().items():
                group.create_dataset(name, data=np.asarray(array, dtype=np.float32))
    return path


def load_predictions(path: str | Path) -> Predictions:
    """Read predictions written by :func:`save_predictions`."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{path}: no such predictions file")
    try:
        with h5py.File(path, "r") as file:
            if file.attrs.get("format") != PREDICTIONS_FORMAT:
                raise BenchError(f"{path}: not a bench-harness predictions file (attribute 'format' is {file.attrs.get('format')!r})")
            splits = {}
            for split in SPLITS:
                if split not in file or "heldin" not in file[split] or "heldout" not in file[split]:
                    raise BenchError(f"{path}: group '{split}' with 'heldin' and 'heldout' rates is missing")
                group = file[split]
                splits[split] = SplitRates(**{name: group[name][()] for name in _RATE_FIELDS if name in group})
            mask_bps = json.loads(file.attrs.get("mask_bps", "{}"))
    except OSError as error:
        raise BenchError(f"{path}: cannot read as h5 ({error})") from None
    return Predictions(mask_bps=mask_bps, **splits)


# -- the NLB submission layout -------------------------------------------------------------------


def _checked(name: str, array: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` as float32 after checking its shape, finiteness and sign; errors name it."""
    if array is None:
        raise BenchError(f"submission array {name}: the predictions have none (expected shape {shape})")
    array = np.asarray(array)
    if array.shape != shape:
        raise BenchError(f"submission array {name}: shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise BenchError(f"submission array {name}: {int(np.sum(~np.isfinite(array)))} non-finite rates")
    if np.any(array < 0):
        raise BenchError(f"submission array {name}: {int(np.sum(array < 0))} negative rates")
    return array.astype(np.float32)


def submission_arrays(data: DatasetTensors, predictions: Predictions) -> dict[str, np.ndarray]:
    """The checked float32 arrays of ``data``'s NLB submission, by NLB name."""
    train, val = data.train, data.val
    if train.trial_ids is None or val.trial_ids is None:
        raise BenchError(f"dataset '{data.name}': train and val need trial_ids to merge them back into the submission's train trials")
    ids = np.concatenate([train.trial_ids, val.trial_ids])
    if len(np.unique(ids)) != len(ids):
        raise BenchError(f"dataset '{data.name}': train and val share trial ids, so they cannot be merged back")
    order = np.argsort(ids, kind="stable")
    n_bins, n_forward = data.n_bins, data.n_forward
    n_heldin, n_heldout = data.n_heldin, data.n_heldout

    arrays = {}
    for kind, units in (("heldin", n_heldin), ("heldout", n_heldout)):
        parts = [
            _checked(f"{split}_rates_{kind} (before merging)", getattr(predictions.split(split), kind), (data.split(split).n_trials, n_bins, units))
            for split in ("train", "val")
        ]
        arrays[f"train_rates_{kind}"] = np.concatenate(parts)[order]
        arrays[f"eval_rates_{kind}"] = _checked(f"eval_rates_{kind}", getattr(predictions.eval, kind), (data.eval.n_trials, n_bins, units))
        if n_forward:
            arrays[f"eval_rates_{kind}_forward"] = _checked(
                f"eval_rates_{kind}_forward", getattr(predictions.eval, f"{kind}_forward"), (data.eval.n_trials, n_forward, units)
            )
    return arrays


def write_submission(data: DatasetTensors, predictions: Predictions, path: str | Path, *, eval_only: bool = False) -> dict[str, tuple[int, ...]]:
    """Write the NLB/EvalAI submission for ``data`` to ``path`` (h5 with gzip, atomically; h5py
    and nlb_tools read it as any h5). ``eval_only`` leaves out the train rates: the compact copy
    the leaderboard keeps beside a record, a few MB at most, from which co-bps, psth R2 and fp-bps
    are rescored against a target file (vel R2 needs the train rates: a full submission).

    Returns the shape of every array written, by name.
    """
    import h5py

    if not data.submission_name:
        raise BenchError(f"dataset '{data.name}' has no NLB submission name, so it cannot be submitted")
    arrays = submission_arrays(data, predictions)
    if eval_only:
        arrays = {name: array for name, array in arrays.items() if name.startswith("eval_")}
    with atomic_path(path) as temporary, h5py.File(temporary, "w") as file:
        group = file.create_group(data.submission_name)
        for name, array in arrays.items():
            group.create_dataset(name, data=array, compression="gzip", compression_opts=9, shuffle=True)
    return {name: tuple(array.shape) for name, array in arrays.items()}


# -- scoring a submission ------------------------------------------------------------------------


def _read_group(group) -> dict[str, Any]:
    return {name: group[name][()] for name in group}


def _unwrap_evaluate(result: list[dict[str, dict[str, float]]]) -> dict[str, float]:
    """``evaluate``'s answer for one group, with its '[100] ' scaling prefixes taken off."""
    scores: dict[str, float] = {}
    for entry in result:
        for metrics in entry.values():
            for name, value in metrics.items():
                scores[re.sub(r"^\[\d+\] ", "", name)] = float(value)
    return scores


def score_submission(submission_path: str | Path, target_path: str | Path) -> dict[str, dict[str, float]]:
    """Score a submission file against a target file: ``{group: {metric: value}}``.

    For a group ``nlb_tools.evaluation.evaluate`` knows whose target carries what it needs
    (``eval_spikes_heldout``, ``train_behavior``, ``eval_behavior``), the numbers are exactly
    ``evaluate``'s. Other targets (held-out spikes alone, or a dataset nlb does not know) are
    scored by the same nlb_tools functions on whatever they carry, co-bps at least.
    """
    import h5py
    from threadpoolctl import threadpool_limits

    from harness.tasks.nlb.metrics import nlb_evaluate, nlb_group_scores

    for path in (submission_path, target_path):
        if not Path(path).is_file():
            raise BenchError(f"{path}: no such file")
    scores: dict[str, dict[str, float]] = {}
    # one BLAS thread, as in harness.tasks.nlb.metrics.score: nlb's small ridge fits run faster that way
    with threadpool_limits(limits=1), h5py.File(submission_path, "r") as submission_file, h5py.File(target_path, "r") as target_file:
        for group_name in sorted(submission_file):
            if "eval_rates_heldout" not in submission_file[group_name]:
                continue
            if group_name not in target_file or "eval_spikes_heldout" not in target_file[group_name]:
                continue
            submission = _read_group(submission_file[group_name])
            target = _read_group(target_file[group_name])
            # nlb's evaluate needs train rates for vel R2; a kept eval-only copy is scored on the rest
            if group_name in NLB_DATASETS and {"train_behavior", "eval_behavior"} <= set(target) and "train_rates_heldin" in submission:
                group_scores = _unwrap_evaluate(nlb_evaluate({group_name: target}, {group_name: submission}))
            else:
                group_scores = nlb_group_scores(target, submission, dmfc=group_name.startswith("dmfc_rsg"))
            scores[group_name] = group_scores
    if not scores:
        raise BenchError(
            f"{submission_path}: no group with eval_rates_heldout matches a group with eval_spikes_heldout in {target_path}"
        )
    return scores

