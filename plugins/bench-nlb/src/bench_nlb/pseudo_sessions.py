"""``mc_maze_small_pseudo``: MC_Maze_Small cut into two PSEUDO-sessions, ``pseudo_a`` and ``pseudo_b``.

Not two recordings: one real session (one monkey, one day, the same two arrays) whose units and
trials are dealt, with a fixed seed, into two halves that share nothing: each pseudo-session has
its own held-in and held-out units (disjoint from the other's) and its own trials (its half of
the 75 labelled trials, of which a seeded fifth is its val, and its half of the 25 eval trials,
whose held-out spikes the file withholds). What it can show: whether a core pretrained on one
set of neurons helps another set of neurons of the same brain, at equal trials. It is not the
cross-session transfer of real sessions (the latent dynamics are the same by construction).
Unit ids are the file's (``heldin-17``: held-in unit 17 of the file), so disjointness can be checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.api import DatasetTensors, Session, SessionSet, Split, content_checksum, seeded_val_split

NAME = "mc_maze_small_pseudo"
SESSIONS = ("pseudo_a", "pseudo_b")
#: What a pseudo-session scores: no PSTH R2 (half the trials leave some conditions a trial or two).
METRICS = ("co-bps", "fp-bps", "vel R2")


def load(config: Mapping[str, Any]) -> SessionSet | DatasetTensors:
    """The registered loader: both pseudo-sessions, or those ``config['sessions']`` names."""
    from bench_nlb.load import load_nlb

    config = dict(config)
    wanted, seed = config.pop("sessions", None) or [], int(config.pop("pseudo_seed"))
    whole = load_nlb("mc_maze_small", config)
    sessions = pseudo_sessions(whole, seed, float(config["val_fraction"]), int(config["val_seed"]))
    note = "PSEUDO-sessions: MC_Maze_Small's units and trials dealt into two disjoint halves (one real session, not two)"
    return SessionSet(NAME, sessions, source=whole.source, notes=(note,)).select(wanted)


def pseudo_sessions(whole: DatasetTensors, seed: int, val_fraction: float, val_seed: int) -> tuple[Session, ...]:
    rng = np.random.default_rng(seed)
    heldin_halves = np.array_split(rng.permutation(whole.n_heldin), 2)
    heldout_halves = np.array_split(rng.permutation(whole.n_heldout), 2)
    labelled = _concat([whole.train, whole.val])
    labelled = labelled.take(np.argsort(labelled.trial_ids, kind="stable"))
    labelled_halves = np.array_split(rng.permutation(labelled.n_trials), 2)
    eval_halves = np.array_split(rng.permutation(whole.eval.n_trials), 2)
    sessions = []
    for index, name in enumerate(SESSIONS):
        heldin, heldout = np.sort(heldin_halves[index]), np.sort(heldout_halves[index])
        own = labelled.take(np.sort(labelled_halves[index]))
        train_index, val_index = seeded_val_split(own.n_trials, val_fraction, val_seed)
        splits = {
            "train": _units(own.take(train_index), heldin, heldout),
            "val": _units(own.take(val_index), heldin, heldout),
            "eval": _units(whole.eval.take(np.sort(eval_halves[index])), heldin, heldout),
        }
        heldin_regions = tuple(whole.heldin_regions[i] for i in heldin)
        heldout_regions = None if whole.heldout_regions is None else tuple(whole.heldout_regions[i] for i in heldout)
        arrays = {f"{split}/{key}": value for split, part in splits.items() for key, value in part.arrays().items()}
        data = dataclasses.replace(
            whole,
            name=f"{NAME}:{name}",
            heldin_regions=heldin_regions,
            heldout_regions=heldout_regions,
            checksum=content_checksum(arrays, extra=(NAME, name, str(seed), whole.checksum)),
            metrics=METRICS,
            submission_name=None,  # not an NLB dataset: nothing to submit
            notes=(*whole.notes, f"pseudo-session {name} of MC_Maze_Small (seed {seed}): its own units and trials"),
            **splits,
        )
        unit_ids = (*(f"heldin-{i}" for i in heldin), *(f"heldout-{i}" for i in heldout))
        sessions.append(Session(name, data, unit_ids, group="pseudo"))
    return tuple(sessions)


def _concat(splits: list[Split]) -> Split:
    values = {}
    for field in dataclasses.fields(Split):
        parts = [getattr(split, field.name) for split in splits]
        values[field.name] = None if any(part is None for part in parts) else np.concatenate(parts, axis=0)
    return Split(**values)


def _units(split: Split, heldin: np.ndarray, heldout: np.ndarray) -> Split:
    """``split`` with only the held-in units ``heldin`` and held-out units ``heldout``."""

    def pick(array, units):
        return None if array is None else array[:, :, units]

    return dataclasses.replace(
        split,
        heldin=pick(split.heldin, heldin),
        heldout=pick(split.heldout, heldout),
        heldin_forward=pick(split.heldin_forward, heldin),
        heldout_forward=pick(split.heldout_forward, heldout),
        true_rates=None,
    )
