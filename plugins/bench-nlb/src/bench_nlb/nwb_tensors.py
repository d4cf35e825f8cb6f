"""Binning a raw NLB NWB file through nlb_tools, with each dataset's official parameters.

nlb_tools' ``make_*_tensors`` with ``PARAMS[name]`` do the alignment (e.g. move onset -250..+450 ms
for the MC_Maze family), the behaviour lag and the forward-prediction window, so tensors built
here match the ones NLB published. ``bench_nlb.compat`` keeps nlb_tools working on modern pandas.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from harness.api import DataFileError

#: Split field -> nlb_tools' key, per prefix.
_KEYS = {
    "heldin": "spikes_heldin",
    "heldout": "spikes_heldout",
    "heldin_forward": "spikes_heldin_forward",
    "heldout_forward": "spikes_heldout_forward",
    "behavior": "behavior",
}


def open_nwb(path: Path, bin_size_ms: int):
    """An nlb_tools dataset for ``path``, resampled to ``bin_size_ms``."""
    from bench_nlb.compat import CompatNWBDataset

    try:
        with _quiet_nlb_tools():
            dataset = CompatNWBDataset(str(path))
    except (OSError, KeyError, ValueError, AttributeError) as error:
        raise DataFileError(path, "file", "an NLB NWB file (units with spike_times and heldout, trials with split)", f"{type(error).__name__}: {error}") from None
    if "split" not in dataset.trial_info:
        raise DataFileError(path, "trials.split", "a trial split column (train / val / test)", "missing")
    if bin_size_ms != dataset.bin_width:
        with _quiet_nlb_tools():
            dataset.resample(bin_size_ms)
    return dataset


def trial_splits(dataset) -> set[str]:
    return set(dataset.trial_info["split"].astype(str))


def _has_behavior(dataset, params: dict) -> bool:
    field = params["behavior_field"]
    if params["behavior_source"] == "data":
        return field in dataset.data.columns.get_level_values(0)
    return all(column in dataset.trial_info for column in np.atleast_1d(field))


def _conditions(dataset, params: dict, split: str) -> np.ndarray | None:
    """Condition ids (the PSTH grouping NLB uses) of the trials in ``split``, or None."""
    fields = params.get("psth_params", {}).get("cond_fields")
    if not fields or not all(field in dataset.trial_info for field in fields):
        return None
    keys = dataset.trial_info[fields].astype(str).agg("|".join, axis=1)
    ids = pd.Series(pd.factorize(keys, sort=True)[0], index=keys.index)
    return ids[dataset.trial_info["split"] == split].to_numpy(np.int64)


@contextmanager
def _quiet_nlb_tools():
    """nlb_tools logs a warning per call for expected things (NaN margins, overlapping trials) and
    trips pandas deprecation warnings on every call; neither is actionable for a user."""
    logging.getLogger("nlb_tools").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="nlb_tools")
        warnings.filterwarnings("ignore", category=FutureWarning, module="nlb_tools")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="hdmf")  # reading old NWB files
        yield


def train_arrays(dataset, name: str) -> dict[str, np.ndarray]:
    """The NLB 'train' trials: held-in/held-out spikes, forward window, behaviour when present."""
    from nlb_tools.make_tensors import PARAMS, make_train_input_tensors

    params = PARAMS[name]
    with _quiet_nlb_tools():
        made = make_train_input_tensors(
            dataset, name, trial_split="train", save_file=False,
            include_behavior=_has_behavior(dataset, params), include_forward_pred=True,
        )
    arrays = {field: made[f"train_{key}"] for field, key in _KEYS.items() if f"train_{key}" in made}
    conditions = _conditions(dataset, params, "train")
    if conditions is not None:
        arrays["conditions"] = conditions
    return arrays


def eval_arrays(dataset, name: str, split: str) -> dict[str, np.ndarray]:
    """Trials of ``split`` as NLB evaluates them: inputs, and targets when the file has them."""
    from nlb_tools.make_tensors import PARAMS, make_eval_input_tensors, make_eval_target_tensors

    params = PARAMS[name]
    with _quiet_nlb_tools():
        made = make_eval_input_tensors(dataset, name, trial_split=split, save_file=False)
    arrays = {field: made[f"eval_{key}"] for field, key in _KEYS.items() if f"eval_{key}" in made}
    if split != "test" and _has_behavior(dataset, params):
        # Targets exist only outside the test split (held-out units, forward window, behaviour).
        with _quiet_nlb_tools():
            targets = make_eval_target_tensors(dataset, name, train_trial_split="train", eval_trial_split=split, save_file=False)
        group = next(iter(targets.values()))
        arrays["heldin_forward"] = group["eval_spikes_heldin_forward"]
        arrays["heldout_forward"] = group["eval_spikes_heldout_forward"]
        if np.ndim(group["eval_behavior"]) == 3:
            arrays["behavior"] = group["eval_behavior"]
    conditions = _conditions(dataset, params, split)
    if conditions is not None:
        arrays["conditions"] = conditions
    return arrays


def nwb_unit_ids(dataset) -> tuple[np.ndarray, np.ndarray | None]:
    """Held-in and held-out unit ids in the column order of the tensors."""
    columns = dataset.data.columns
    heldin = np.asarray(dataset.data["spikes"].columns)
    heldout = np.asarray(dataset.data["heldout_spikes"].columns) if "heldout_spikes" in columns.get_level_values(0) else None
    return heldin, heldout
