"""Checks that turn a malformed array into a DataFileError naming the file, the field and what
was expected, before any of it reaches a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from harness.api import DataFileError


def check_rank(path: Path, field: str, array: np.ndarray, rank: int, axes: str) -> None:
    if array.ndim != rank:
        raise DataFileError(path, field, f"a rank-{rank} array {axes}", f"shape {array.shape}")


def check_counts(path: Path, field: str, array: np.ndarray) -> None:
    """Spike counts: rank 3 (trials, bins, units), no empty axis, finite non-negative integers."""
    check_rank(path, field, array, 3, "(trials, bins, units)")
    if 0 in array.shape:
        raise DataFileError(path, field, "at least one trial, one bin and one unit", f"shape {array.shape} (trials with zero bins?)")
    if not np.issubdtype(array.dtype, np.number):
        raise DataFileError(path, field, "numeric spike counts", f"dtype {array.dtype}")
    n_nan = int(np.isnan(array).sum()) if np.issubdtype(array.dtype, np.floating) else 0
    if n_nan:
        raise DataFileError(path, field, "spike counts without NaN", f"{n_nan} NaN values")
    if not np.all(np.isfinite(array)):
        raise DataFileError(path, field, "finite spike counts", "infinite values")
    if array.min() < 0:
        raise DataFileError(path, field, "non-negative spike counts", f"minimum {array.min()}")
    fractional = array != np.round(array)
    if np.any(fractional):
        raise DataFileError(path, field, "integer spike counts", f"{int(fractional.sum())} non-integer values such as {array[fractional][0]}")


def check_same_size(path: Path, arrays: Mapping[str, np.ndarray], axis: int, what: str, reference: str) -> None:
    """Every array in ``arrays`` has the size of ``arrays[reference]`` along ``axis``."""
    expected = arrays[reference].shape[axis]
    for field, array in arrays.items():
        if array.shape[axis] != expected:
            raise DataFileError(
                path, field, f"{expected} {what} (as in '{reference}')", f"{array.shape[axis]} {what}, shape {array.shape}"
            )


def check_disjoint_units(path: Path, field: str, heldin_ids: Sequence, heldout_ids: Sequence) -> None:
    """No unit may be both held-in and held-out: co-smoothing would then score what the model saw."""
    shared = sorted(set(np.asarray(heldin_ids).tolist()) & set(np.asarray(heldout_ids).tolist()))
    if shared:
        raise DataFileError(path, field, "held-in and held-out units to be disjoint", f"units {shared[:10]} in both")
    for name, ids in (("held-in", heldin_ids), ("held-out", heldout_ids)):
        values = np.asarray(ids).tolist()
        if len(set(values)) != len(values):
            raise DataFileError(path, field, f"unique {name} unit ids", "duplicated ids")
