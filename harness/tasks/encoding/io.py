"""Encoding predictions on disk, and the submission ``bench submit`` exports.

A run's predictions are one ``.npz``: an array ``responses/<mouse index>/<split>`` (R, T, N)
float32 per mouse and split, and ``meta`` (a JSON string: format, version, mouse names in
order). The submission follows the Sensorium 2023 competition's table (per mouse: the eval
trials' ids, the neuron ids, and each trial's predictions as neurons x frames from
``skip_frames`` on): a folder with one ``<mouse>.npz`` per mouse holding ``trial_indices``
(R,) int64, ``neuron_ids`` (N,) int64, ``prediction`` (R, N, F) float32 with F the longest
scored trial (frames past a trial's end are NaN) and ``lengths`` (R,) its scored frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.store.atomic import atomic_path
from harness.contracts import SPLITS, EncodingData, EncodingPredictions
from harness.errors import BenchError

PREDICTIONS_FORMAT = "bench-harness/encoding-predictions"
PREDICTIONS_FORMAT_VERSION = 1


def save_predictions(predictions: EncodingPredictions, path: str | Path) -> Path:
    """Write ``predictions`` to ``path`` (npz), atomically."""
    path = Path(path)
    mice = list(predictions.responses)
    arrays = {f"responses/{index}/{split}": np.asarray(predictions.responses[mouse][split], dtype=np.float32) for index, mouse in enumerate(mice) for split in SPLITS}
    meta = {"format": PREDICTIONS_FORMAT, "format_version": PREDICTIONS_FORMAT_VERSION, "mice": mice}
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        np.savez(file, meta=np.array(json.dumps(meta)), **arrays)
    return path


def load_predictions(path: str | Path) -> EncodingPredictions:
    """Read predictions written by :func:`save_predictions`."""
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{path}: no such predictions file")
    try:
        with np.load(path, allow_pickle=False) as file:
            if "meta" not in file:
                raise BenchError(f"{path}: not a bench-harness encoding predictions file (no 'meta' entry)")
            meta = json.loads(str(file["meta"]))
            if meta.get("format") != PREDICTIONS_FORMAT:
                raise BenchError(f"{path}: not a bench-harness encoding predictions file (format {meta.get('format')!r})")
            responses = {}
            for index, mouse in enumerate(meta["mice"]):
                missing = [split for split in SPLITS if f"responses/{index}/{split}" not in file]
                if missing:
                    raise BenchError(f"{path}: mouse {mouse} has no responses for split(s) {', '.join(missing)}")
                responses[mouse] = {split: file[f"responses/{index}/{split}"] for split in SPLITS}
    except (OSError, ValueError) as error:
        raise BenchError(f"{path}: cannot read as npz ({error})") from None
    return EncodingPredictions(responses)


def submission_arrays(data: EncodingData, predictions: EncodingPredictions) -> dict[str, dict[str, np.ndarray]]:
    """Per mouse: the checked arrays of its eval trials in the competition's layout."""
    out = {}
    for mouse in data.mice:
        if mouse.name not in predictions.responses:
            raise BenchError(f"submission: the predictions have no mouse {mouse.name}")
        predicted = np.asarray(predictions.responses[mouse.name]["eval"])
        split = mouse.eval
        expected = (split.n_trials, split.video.shape[1], mouse.n_neurons)
        if predicted.shape != expected:
            raise BenchError(f"submission: mouse {mouse.name} eval predictions have shape {predicted.shape}, expected {expected}")
        scored = np.maximum(split.lengths - data.skip_frames, 0)
        width = int(scored.max()) if len(scored) else 0
        table = np.full((split.n_trials, mouse.n_neurons, width), np.nan, dtype=np.float32)
        for trial, count in enumerate(scored):
            frames = predicted[trial, data.skip_frames : data.skip_frames + count]
            if not np.all(np.isfinite(frames)) or np.any(frames < 0):
                raise BenchError(f"submission: mouse {mouse.name} trial {int(split.trial_ids[trial])} has non-finite or negative predictions")
            table[trial, :, :count] = frames.T
        neuron_ids = mouse.neuron_ids if mouse.neuron_ids is not None else np.arange(mouse.n_neurons)
        out[mouse.name] = {
            "trial_indices": np.asarray(split.trial_ids, dtype=np.int64),
            "neuron_ids": np.asarray(neuron_ids, dtype=np.int64),
            "prediction": table,
            "lengths": scored.astype(np.int64),
        }
    return out


def write_submission(data: EncodingData, predictions: EncodingPredictions, folder: str | Path) -> dict[str, tuple[int, ...]]:
    """Write the submission folder (one ``<mouse>.npz`` per mouse, each atomically); returns the
    shape of every array written, by ``<mouse>/<name>``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shapes = {}
    for mouse, arrays in submission_arrays(data, predictions).items():
        with atomic_path(folder / f"{mouse}.npz") as temporary, open(temporary, "wb") as file:
            np.savez(file, **arrays)
        shapes.update({f"{mouse}/{name}": tuple(array.shape) for name, array in arrays.items()})
    return shapes
