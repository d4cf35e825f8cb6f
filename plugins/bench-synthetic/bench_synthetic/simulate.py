"""Simulate a synthetic session: trial design, latent dynamics, Poisson spiking with known rates.

``simulate(name, config)`` is deterministic in ``config`` (the seed included). It returns the
generator's own view of the session (counts, true rates, latents...), which the NWB writer stores
and the tests compare against what the loader reads back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench_synthetic import dynamics
from bench_synthetic.defaults import DEFAULTS
from harness.api import BenchError

SPLIT_LABELS = ("train", "val", "test")
#: Silence between trials (seconds); the forward window lies inside the trial, before it.
INTER_TRIAL_GAP_S = 0.2
SESSION_OFFSET_S = 1.0
#: Spike times are whole milliseconds plus half a millisecond, as from a 1 kHz acquisition clock;
#: the half keeps every spike strictly inside its bin, whatever the float rounding of bin edges.
SPIKE_CLOCK_MS = 1


@dataclass(frozen=True)
class Simulation:
    """One simulated session. Per-trial arrays are in session order; S = observed + forward bins."""

    name: str
    config: Mapping[str, Any]
    bin_size_ms: int
    n_bins: int
    n_forward_bins: int
    counts: np.ndarray  # (R, S, N) spike counts per bin
    true_rates: np.ndarray  # (R, S, N) expected spikes per bin
    latents: np.ndarray  # (R, S, D) standardised latent state
    behavior: np.ndarray  # (R, S, 2) velocity-like readout of the latents
    conditions: np.ndarray  # (R,) condition id
    splits: np.ndarray  # (R,) "train" | "val" | "test"
    trial_starts: np.ndarray  # (R,) seconds
    heldout: np.ndarray  # (N,) bool
    regions: np.ndarray  # (N,) region label of each unit
    spike_times: tuple[np.ndarray, ...]  # per unit, seconds, sorted

    @property
    def n_total_bins(self) -> int:
        return self.n_bins + self.n_forward_bins

    @property
    def trial_duration_s(self) -> float:
        return self.n_total_bins * self.bin_size_ms / 1000.0


_POSITIVE = frozenset(
    ("bin_size_ms", "n_conditions", "trials_per_condition", "mean_rate_hz", "lorenz_speed", "n_latents",
     "tau_ms", "n_regions", "units_per_region", "latents_per_region")
)
_NON_NEGATIVE = frozenset(("n_forward_bins", "modulation", "trial_jitter", "gain", "coupling", "lag_ms"))


def checked_config(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` over the dataset's defaults, with every value checked and given its type."""
    if name not in DEFAULTS:
        raise BenchError(f"unknown synthetic dataset {name!r}; expected one of {sorted(DEFAULTS)}")
    merged = {**DEFAULTS[name], **config}
    unknown = sorted(set(merged) - set(DEFAULTS[name]))
    if unknown:
        known = ", ".join(sorted(DEFAULTS[name]))
        raise BenchError(f"dataset '{name}' has no option {unknown[0]!r}. Known options: {known}")
    checked = {key: _typed(name, key, merged[key], default) for key, default in DEFAULTS[name].items()}
    for key, value in checked.items():
        if key in _POSITIVE and value <= 0 or key in _NON_NEGATIVE and value < 0:
            bound = "positive" if key in _POSITIVE else "non-negative"
            raise BenchError(f"dataset '{name}': option '{key}' must be {bound}, got {value}")
    if checked["n_bins"] < 2:
        raise BenchError(f"dataset '{name}': option 'n_bins' must be at least 2, got {checked['n_bins']}")
    if not (0 < checked["val_fraction"] < 1 and 0 < checked["test_fraction"] < 1):
        raise BenchError(f"dataset '{name}': val_fraction and test_fraction must lie in (0, 1)")
    per_condition = _split_counts(checked)
    if per_condition["train"] < 1:
        raise BenchError(
            f"dataset '{name}': {checked['trials_per_condition']} trials per condition leave none for training "
            f"after val_fraction={checked['val_fraction']} and test_fraction={checked['test_fraction']}"
        )
    if "units_per_region" in checked:
        if not 0 < checked["heldout_per_region"] < checked["units_per_region"]:
            raise BenchError(f"dataset '{name}': need 0 < heldout_per_region < units_per_region")
    elif checked["n_heldin"] < 1 or checked["n_heldout"] < 1:
        raise BenchError(f"dataset '{name}': n_heldin and n_heldout must be at least 1")
    return checked


def _typed(name: str, key: str, value: Any, default: Any) -> int | float:
    """``value`` as the type of the option's default: a whole number stays whole."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BenchError(f"dataset '{name}': option '{key}' must be a number, got {value!r}") from None
    if isinstance(default, int):
        if isinstance(value, bool) or not number.is_integer():
            raise BenchError(f"dataset '{name}': option '{key}' must be a whole number, got {value!r}")
        return int(number)
    return number


def _split_counts(config: Mapping[str, Any]) -> dict[str, int]:
    """Trials of each condition per split: at least one val and one test trial per condition."""
    per_condition = config["trials_per_condition"]
    n_val = max(1, round(per_condition * config["val_fraction"]))
    n_test = max(1, round(per_condition * config["test_fraction"]))
    return {"train": per_condition - n_val - n_test, "val": n_val, "test": n_test}


def simulate(name: str, config: Mapping[str, Any]) -> Simulation:
    config = checked_config(name, config)
    design_rng, dynamics_rng, readout_rng, spikes_rng = (
        np.random.default_rng(stream) for stream in np.random.SeedSequence(config["seed"]).spawn(4)
    )
    conditions, splits = _trial_design(config, design_rng)
    n_total_bins = config["n_bins"] + config["n_forward_bins"]
    latents, unit_regions, region_of_latent, region_names = LATENT_GENERATORS[name](
        config, conditions, n_total_bins, dynamics_rng
    )
    latents = _standardise(latents)
    heldout = _pick_heldout(config, unit_regions, readout_rng)
    log_rates_hz = _log_rates(latents, unit_regions, region_of_latent, config, readout_rng)
    true_rates = np.exp(log_rates_hz) * config["bin_size_ms"] / 1000.0
    behavior = _standardise(latents @ readout_rng.normal(size=(latents.shape[2], 2)))
    counts = spikes_rng.poisson(true_rates)
    trial_starts = SESSION_OFFSET_S + np.arange(len(conditions)) * (
        n_total_bins * config["bin_size_ms"] / 1000.0 + INTER_TRIAL_GAP_S
    )
    spike_times = _spike_times(counts, trial_starts, config["bin_size_ms"], spikes_rng)
    return Simulation(
        name=name,
        config=config,
        bin_size_ms=config["bin_size_ms"],
        n_bins=config["n_bins"],
        n_forward_bins=config["n_forward_bins"],
        counts=counts,
        true_rates=true_rates,
        latents=latents,
        behavior=behavior,
        conditions=conditions,
        splits=splits,
        trial_starts=trial_starts,
        heldout=heldout,
        regions=np.asarray(region_names)[unit_regions],
        spike_times=spike_times,
    )


def _trial_design(config: Mapping[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Condition and split label of each trial, in a shuffled session order.

    Splits are stratified by condition, so every split has trials of every condition (PSTHs).
    """
    counts = _split_counts(config)
    labels_per_condition = np.repeat(SPLIT_LABELS, [counts[s] for s in SPLIT_LABELS])
    conditions = np.repeat(np.arange(config["n_conditions"]), config["trials_per_condition"])
    splits = np.concatenate([rng.permutation(labels_per_condition) for _ in range(config["n_conditions"])])
    order = rng.permutation(len(conditions))
    return conditions[order], splits[order]


def _standardise(values: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance along the last axis (over all trials and bins)."""
    flat = values.reshape(-1, values.shape[-1])
    return (values - flat.mean(axis=0)) / flat.std(axis=0).clip(min=1e-12)


def _pick_heldout(config: Mapping[str, Any], unit_regions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Held-out units drawn at random, the same number from every region."""
    heldout = np.zeros(len(unit_regions), dtype=bool)
    n_regions = int(unit_regions.max()) + 1
    per_region = config["heldout_per_region"] if "heldout_per_region" in config else config["n_heldout"]
    for region in range(n_regions):
        members = np.flatnonzero(unit_regions == region)
        heldout[rng.choice(members, size=per_region, replace=False)] = True
    return heldout


def _log_rates(
    latents: np.ndarray,
    unit_regions: np.ndarray,
    region_of_latent: np.ndarray,
    config: Mapping[str, Any],
    rng: np.random.Generator,
) -> np.ndarray:
    """Log firing rates (Hz): log(baseline) + modulation * (a unit's random view of its region's latents).

    Each unit's projection is scaled to unit variance, so ``modulation`` is the standard deviation
    of every log-rate; the -modulation^2/2 keeps each unit's mean rate near its baseline.
    """
    weights = rng.normal(size=(len(unit_regions), latents.shape[2]))
    weights *= unit_regions[:, None] == region_of_latent[None, :]
    projection = _standardise(latents @ weights.T)
    baselines = config["mean_rate_hz"] * rng.lognormal(0.0, 0.3, size=len(unit_regions))
    modulation = config["modulation"]
    return np.log(baselines) + modulation * projection - modulation**2 / 2


def _spike_times(
    counts: np.ndarray, trial_starts: np.ndarray, bin_size_ms: int, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Per unit, sorted spike times (s): each counted spike at a random clock tick inside its bin."""
    trial, bin_index, unit = np.nonzero(counts)
    repeats = counts[trial, bin_index, unit]
    trial, bin_index, unit = (np.repeat(a, repeats) for a in (trial, bin_index, unit))
    tick = rng.integers(0, bin_size_ms // SPIKE_CLOCK_MS, size=len(unit))
    offset_ms = bin_index * bin_size_ms + (tick + 0.5) * SPIKE_CLOCK_MS
    times = trial_starts[trial] + offset_ms / 1000.0
    order = np.lexsort((times, unit))
    boundaries = np.searchsorted(unit[order], np.arange(counts.shape[2] + 1))
    sorted_times = times[order]
    return tuple(sorted_times[boundaries[n] : boundaries[n + 1]] for n in range(counts.shape[2]))


# -- latent systems ------------------------------------------------------------------------------
# Each returns latents (R, S, D), the region index of each unit (N,), the region index of each
# latent dimension (D,) and the region names.


def _lorenz_latents(config, conditions, n_total_bins, rng):
    condition_states = dynamics.lorenz_attractor_points(config["n_conditions"], rng)
    spread = condition_states.std(axis=0)
    jitter = config["trial_jitter"] * spread * rng.standard_normal((len(conditions), 3))
    dt = config["lorenz_speed"] * config["bin_size_ms"] / 1000.0
    latents = dynamics.lorenz(condition_states[conditions] + jitter, n_total_bins, dt)
    n_units = config["n_heldin"] + config["n_heldout"]
    return latents, np.zeros(n_units, dtype=int), np.zeros(3, dtype=int), ("population",)


def _rnn_initial_states(config, conditions, n_regions, size, rng):
    """Condition initial states ~ N(0, 1) per RNN unit (LFADS' x0_std = 1), jittered per trial."""
    condition_states = rng.standard_normal((config["n_conditions"], n_regions, size))
    jitter = config["trial_jitter"] * rng.standard_normal((len(conditions), n_regions, size))
    return condition_states[conditions] + jitter


def _chaotic_rnn_latents(config, conditions, n_total_bins, rng):
    size = config["n_latents"]
    recurrent = dynamics.random_recurrent_weights(1, size, config["gain"], rng)
    initial = _rnn_initial_states(config, conditions, 1, size, rng)
    substeps = dynamics.rnn_substeps(config["bin_size_ms"], config["tau_ms"])
    dt_over_tau = config["bin_size_ms"] / substeps / config["tau_ms"]
    rates = dynamics.coupled_rnns(initial, recurrent, n_total_bins, substeps, dt_over_tau)
    n_units = config["n_heldin"] + config["n_heldout"]
    return rates[:, :, 0], np.zeros(n_units, dtype=int), np.zeros(size, dtype=int), ("population",)


def _multi_region_latents(config, conditions, n_total_bins, rng):
    n_regions, size = config["n_regions"], config["latents_per_region"]
    recurrent = dynamics.random_recurrent_weights(n_regions, size, config["gain"], rng)
    input_weights = config["coupling"] * rng.normal(0.0, 1.0 / math.sqrt(size), size=(n_regions, size, size))
    sources = tuple((region - 1) % n_regions for region in range(n_regions))  # a ring: k-1 drives k
    initial = _rnn_initial_states(config, conditions, n_regions, size, rng)
    substeps = dynamics.rnn_substeps(config["bin_size_ms"], config["tau_ms"])
    dt_over_tau = config["bin_size_ms"] / substeps / config["tau_ms"]
    lag_steps = round(config["lag_ms"] / (config["bin_size_ms"] / substeps))
    rates = dynamics.coupled_rnns(
        initial, recurrent, n_total_bins, substeps, dt_over_tau, input_weights, sources, lag_steps
    )
    latents = rates.reshape(rates.shape[0], rates.shape[1], n_regions * size)
    unit_regions = np.repeat(np.arange(n_regions), config["units_per_region"])
    region_of_latent = np.repeat(np.arange(n_regions), size)
    names = tuple(f"region_{region + 1}" for region in range(n_regions))
    return latents, unit_regions, region_of_latent, names


LATENT_GENERATORS = {
    "lorenz": _lorenz_latents,
    "chaotic_rnn": _chaotic_rnn_latents,
    "multi_region": _multi_region_latents,
}
