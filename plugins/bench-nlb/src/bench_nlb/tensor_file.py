"""Reading an NLB tensor h5 (the nlb_tools layout) into checked numpy arrays.

Keys are ``{split}_{field}`` with split train, val (optional: labelled val trials with targets)
or eval, and field one of FIELDS below. Besides nlb_tools' keys the reader accepts
``{split}_conditions`` (R,) condition ids and ``heldin_unit_ids`` / ``heldout_unit_ids``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from harness.api import DataFileError

from bench_nlb.checks import check_counts, check_disjoint_units, check_rank, check_same_size

#: Our Split field -> the suffix of its h5 key.
FIELDS = {
    "heldin": "spikes_heldin",
    "heldout": "spikes_heldout",
    "heldin_forward": "spikes_heldin_forward",
    "heldout_forward": "spikes_heldout_forward",
    "behavior": "behavior",
    "conditions": "conditions",
}
REQUIRED = ("train_spikes_heldin", "train_spikes_heldout", "eval_spikes_heldin")
SPLIT_PREFIXES = ("train", "val", "eval")


@dataclass
class TensorFile:
    path: Path
    #: split prefix -> Split field -> array (float32 counts, float32 behaviour, int64 conditions)
    splits: dict[str, dict[str, np.ndarray]]
    dataset: str | None = None
    bin_size_ms: int | None = None
    heldin_ids: np.ndarray | None = None
    heldout_ids: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def _attribute(handle: h5py.File, name: str):
    value = handle.attrs.get(name)
    if isinstance(value, bytes):
        value = value.decode()
    return value


def read_tensor_file(path: Path) -> TensorFile:
    """Read and check every array; raise DataFileError on the first problem."""
    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise DataFileError(path, "file", "an HDF5 file in the NLB tensor layout", f"unreadable ({error})") from None
    with handle:
        missing = [key for key in REQUIRED if key not in handle]
        if missing:
            present = ", ".join(sorted(handle.keys())) or "no datasets"
            raise DataFileError(path, missing[0], "an NLB tensor key (train_spikes_heldin, train_spikes_heldout, eval_spikes_heldin)", f"missing; file has {present}")
        raw = {key: handle[key][()] for key in handle.keys() if isinstance(handle[key], h5py.Dataset)}
        dataset = _attribute(handle, "dataset")
        bin_size = _attribute(handle, "bin_size_ms")
    tensors = TensorFile(
        path=path,
        splits={},
        dataset=str(dataset) if dataset else None,
        bin_size_ms=int(bin_size) if bin_size is not None else None,
    )
    for prefix in SPLIT_PREFIXES:
        arrays = {name: raw[f"{prefix}_{suffix}"] for name, suffix in FIELDS.items() if f"{prefix}_{suffix}" in raw}
        if arrays:
            tensors.splits[prefix] = _checked_split(path, prefix, arrays, tensors.notes)
    if "val" in tensors.splits and "heldout" not in tensors.splits["val"]:
        raise DataFileError(path, "val_spikes_heldout", "held-out targets for the labelled val trials", "missing")
    _check_across_splits(path, tensors.splits)
    for key in ("heldin_unit_ids", "heldout_unit_ids"):
        if key in raw:
            check_rank(path, key, raw[key], 1, "(units,)")
    tensors.heldin_ids = raw.get("heldin_unit_ids")
    tensors.heldout_ids = raw.get("heldout_unit_ids")
    _check_unit_ids(tensors)
    return tensors


def _checked_split(path: Path, prefix: str, arrays: dict[str, np.ndarray], notes: list[str]) -> dict[str, np.ndarray]:
    checked: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        key = f"{prefix}_{FIELDS[name]}"
        if name == "conditions":
            check_rank(path, key, array, 1, "(trials,) condition ids")
            checked[name] = array.astype(np.int64)
        elif name == "behavior":
            if array.ndim == 2:  # per-trial behaviour (dmfc_rsg: is_eye, theta, is_short, ts, tp)
                notes.append(f"{key} is per trial {array.shape}, not per bin; it is not carried in the tensors")
                continue
            check_rank(path, key, array, 3, "(trials, bins, behaviour dims)")
            checked[name] = array.astype(np.float32)
        else:
            check_counts(path, key, array)
            checked[name] = array.astype(np.float32)
    keyed = {f"{prefix}_{FIELDS[name]}": array for name, array in checked.items()}
    check_same_size(path, keyed, 0, "trials", f"{prefix}_spikes_heldin")
    return checked


def _check_across_splits(path: Path, splits: dict[str, dict[str, np.ndarray]]) -> None:
    def keyed(names: tuple[str, ...]) -> dict[str, np.ndarray]:
        return {
            f"{prefix}_{FIELDS[name]}": arrays[name]
            for prefix, arrays in splits.items()
            for name in names
            if name in arrays
        }

    check_same_size(path, keyed(("heldin", "heldin_forward")), 2, "held-in units", "train_spikes_heldin")
    check_same_size(path, keyed(("heldout", "heldout_forward")), 2, "held-out units", "train_spikes_heldout")
    check_same_size(path, keyed(("heldin", "heldout", "behavior")), 1, "bins", "train_spikes_heldin")
    forward = keyed(("heldin_forward", "heldout_forward"))
    if forward:
        check_same_size(path, forward, 1, "forward bins", next(iter(forward)))


def _check_unit_ids(tensors: TensorFile) -> None:
    path = tensors.path
    n_heldin = tensors.splits["train"]["heldin"].shape[2]
    n_heldout = tensors.splits["train"]["heldout"].shape[2]
    for key, ids, expected in (("heldin_unit_ids", tensors.heldin_ids, n_heldin), ("heldout_unit_ids", tensors.heldout_ids, n_heldout)):
        if ids is not None and len(ids) != expected:
            raise DataFileError(path, key, f"{expected} ids (one per unit)", f"{len(ids)}")
    if tensors.heldin_ids is not None and tensors.heldout_ids is not None:
        check_disjoint_units(path, "heldout_unit_ids", tensors.heldin_ids, tensors.heldout_ids)
