"""``lorenz_sessions``: a session set with ground truth, for pretraining and fine-tuning.

Sessions of one group share their latent dynamics and their conditions (the same condition
initial states, each trial jittered on its own); every session has its own neurons (how many,
which are held out), read-out weights, trial count and firing statistics (mean rate and
modulation depth), and its true rates. The groups:

- ``near`` (``s00`` ..): the Lorenz system, as the ``lorenz`` dataset;
- ``far`` (``f00`` ..): the Rössler system: other dynamics, the same kind of population;
- ``target`` (``t00`` ..): Lorenz again, with more trials: the held-out sessions a pretrained
  model is fine-tuned and scored on (never in a pretraining set unless named).

A session's simulation depends on the set's seed and its own name only, so picking sessions
never changes one. Sessions are small and built in memory, without the NWB round trip of the
single datasets (twenty-one files would take longer to write than the whole set to simulate);
they are binned into tensors by the same code (``nwb_read.session_tensors``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from harness.api import BenchError, DatasetTensors, Session, SessionSet, check_session_names

from bench_synthetic import dynamics
from bench_synthetic.defaults import SESSION_DEFAULTS, SOURCE, session_names
from bench_synthetic.nwb_read import BinnedSession, session_tensors
from bench_synthetic.simulate import _log_rates, _pick_heldout, _standardise, _trial_design

NAME = "lorenz_sessions"
#: The dynamics of each group, and the attractor its condition states are drawn from.
GROUP_SYSTEMS = {"near": ("lorenz", "lorenz_speed"), "far": ("rossler", "far_speed"), "target": ("lorenz", "lorenz_speed")}
#: Groups sharing their dynamics share their conditions too (the target sessions are near ones).
CONDITION_POOL = {"near": "lorenz", "target": "lorenz", "far": "rossler"}


def checked_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` over the defaults, every number checked and typed (sessions: a list of names)."""
    merged = {**SESSION_DEFAULTS, **config}
    unknown = sorted(set(merged) - set(SESSION_DEFAULTS))
    if unknown:
        raise BenchError(f"dataset '{NAME}' has no option {unknown[0]!r}. Known options: {', '.join(sorted(SESSION_DEFAULTS))}")
    checked: dict[str, Any] = {"sessions": [str(name) for name in merged["sessions"] or []]}
    for key, default in SESSION_DEFAULTS.items():
        if key == "sessions":
            continue
        value = merged[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(default, int) and not float(value).is_integer()):
            raise BenchError(f"dataset '{NAME}': option '{key}' must be a {'whole ' if isinstance(default, int) else ''}number, got {value!r}")
        if value < 0 or (value == 0 and key not in ("seed", "n_far", "n_target", "trial_jitter")):
            raise BenchError(f"dataset '{NAME}': option '{key}' must be positive, got {value!r}")
        checked[key] = type(default)(value)
    for low, high in (("units_min", "units_max"), ("trials_per_condition_min", "trials_per_condition_max"), ("rate_min_hz", "rate_max_hz"), ("modulation_min", "modulation_max")):
        if checked[low] > checked[high]:
            raise BenchError(f"dataset '{NAME}': {low} {checked[low]} is above {high} {checked[high]}")
    if checked["trials_per_condition_min"] < 3:
        raise BenchError(f"dataset '{NAME}': trials_per_condition_min must be at least 3 (a train, a val and a test trial per condition)")
    check_session_names(NAME, session_names(checked), checked["sessions"])
    return checked


def load(config: Mapping[str, Any]) -> SessionSet | DatasetTensors:
    """The registered loader: the set, or the sessions ``config['sessions']`` names (one: its dataset)."""
    checked = checked_config(config)
    wanted = tuple(checked["sessions"]) or session_names(checked)
    key = json.dumps({k: v for k, v in checked.items() if k != "sessions"}, sort_keys=True)
    sessions = tuple(_session(key, name) for name in wanted)
    return SessionSet(NAME, sessions, source=SOURCE, notes=("simulated in memory (no NWB file)",)).select(checked["sessions"])


def locate(config: Mapping[str, Any] | None = None) -> None:
    """Where the set's files are: nowhere, it is simulated in memory on each load (``bench data
    list`` then says "made on first use")."""
    return None


@lru_cache(maxsize=64)
def _session(config_key: str, name: str) -> Session:
    config = json.loads(config_key)
    group = group_of(name)
    simulated = simulate_session(config, name)
    data = session_tensors(simulated, f"{NAME}:{name}")
    data = dataclasses.replace(data, submission_name=f"{NAME}_{name}", notes=(f"group {group}: {GROUP_SYSTEMS[group][0]} dynamics",))
    unit_ids = _unit_ids(name, simulated.heldout)
    return Session(name, data, unit_ids, group=group)


def group_of(name: str) -> str:
    return {"s": "near", "f": "far", "t": "target"}[name[0]]


def _stream(config: Mapping[str, Any], *labels: str) -> np.random.Generator:
    """A generator seeded by the set's seed and ``labels`` alone (a session's draws do not
    depend on which other sessions exist or are picked)."""
    words = [int(hashlib.sha256(label.encode()).hexdigest()[:8], 16) for label in labels]
    return np.random.default_rng(np.random.SeedSequence([int(config["seed"]), *words]))


def _condition_states(config: Mapping[str, Any], pool: str) -> np.ndarray:
    return _pool_states(int(config["seed"]), int(config["n_conditions"]), pool).copy()


@lru_cache(maxsize=16)
def _pool_states(seed: int, n_conditions: int, pool: str) -> np.ndarray:
    """The condition initial states a group's sessions share (drawn once per seed and pool)."""
    rng = _stream({"seed": seed}, "conditions", pool)
    points = dynamics.lorenz_attractor_points if pool == "lorenz" else dynamics.rossler_attractor_points
    return points(n_conditions, rng)


def simulate_session(config: Mapping[str, Any], name: str) -> BinnedSession:
    """One session, binned: counts, true rates and behaviour of its own neurons and trials."""
    group = group_of(name)
    system, speed_key = GROUP_SYSTEMS[group]
    rng = _stream(config, "session", name)
    n_units = int(rng.integers(config["units_min"], config["units_max"] + 1))
    n_heldout = max(1, int(round(n_units * config["heldout_fraction"])))
    per_condition = config["target_trials_per_condition"] if group == "target" else int(
        rng.integers(config["trials_per_condition_min"], config["trials_per_condition_max"] + 1)
    )
    mean_rate = float(np.exp(rng.uniform(np.log(config["rate_min_hz"]), np.log(config["rate_max_hz"]))))
    modulation = float(rng.uniform(config["modulation_min"], config["modulation_max"]))
    design = {**config, "trials_per_condition": per_condition, "n_heldout": n_heldout, "mean_rate_hz": mean_rate, "modulation": modulation}
    conditions, splits = _trial_design(design, rng)

    states = _condition_states(config, CONDITION_POOL[group])
    jitter = config["trial_jitter"] * states.std(axis=0) * rng.standard_normal((len(conditions), 3))
    n_total = config["n_bins"] + config["n_forward_bins"]
    dt = config[speed_key] * config["bin_size_ms"] / 1000.0
    integrate = dynamics.lorenz if system == "lorenz" else dynamics.rossler
    latents = _standardise(integrate(states[conditions] + jitter, n_total, dt))

    unit_regions = np.zeros(n_units, dtype=int)
    heldout = _pick_heldout(design, unit_regions, rng)
    true_rates = np.exp(_log_rates(latents, unit_regions, np.zeros(3, dtype=int), design, rng)) * config["bin_size_ms"] / 1000.0
    behavior = _standardise(latents @ rng.normal(size=(3, 2)))
    return BinnedSession(
        bin_size_ms=config["bin_size_ms"],
        n_bins=config["n_bins"],
        n_forward_bins=config["n_forward_bins"],
        counts=rng.poisson(true_rates),
        heldout=heldout,
        regions=np.array(["population"] * n_units),
        splits=splits,
        conditions=conditions,
        behavior=behavior,
        true_rates=true_rates,
    )


def _unit_ids(name: str, heldout: np.ndarray) -> tuple[str, ...]:
    """Held-in then held-out, as the session's tensors order them; named by session and unit."""
    order = np.concatenate([np.flatnonzero(~heldout), np.flatnonzero(heldout)])
    return tuple(f"{name}-u{unit:03d}" for unit in order)
