"""Averaging predictions of any task: the task-neutral core of a mean ensembler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.errors import BenchError


def average_predictions(candidates: Sequence[Any], weights: Sequence[float] | None = None) -> Any:
    """The (weighted) mean of every array of ``candidates``, predictions objects of one type
    with ``flat()`` and ``from_flat()`` (Predictions, EncodingPredictions); shapes must agree."""
    import numpy as np

    if not candidates:
        raise BenchError("averaging predictions needs at least one candidate")
    flats = [candidate.flat() for candidate in candidates]
    keys = list(flats[0])
    for position, flat in enumerate(flats[1:], start=1):
        if list(flat) != keys:
            raise BenchError(f"candidate {position} has arrays {sorted(flat)}, candidate 0 has {sorted(keys)}: they predict different things")
    averaged = {}
    for key in keys:
        arrays = [flat[key] for flat in flats]
        if any(array.shape != arrays[0].shape for array in arrays):
            raise BenchError(f"candidates disagree on the shape of {key}: {sorted({a.shape for a in arrays})}")
        if weights is None:
            averaged[key] = np.mean(arrays, axis=0)
        else:
            averaged[key] = np.tensordot(np.asarray(weights, dtype=np.float64) / np.sum(weights), np.stack(arrays), axes=1)
    return type(candidates[0]).from_flat(averaged)
