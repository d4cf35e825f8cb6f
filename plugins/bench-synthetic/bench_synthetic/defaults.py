"""Default configs of the three synthetic datasets (plain data: imported by the light plugin module).

Every key here is an option a run spec may override (``dataset: {name: lorenz, seed: 3}``).
Sizes of ``lorenz`` are chosen so that a default NDT run on two CPU cores finishes in a minute
or two and can get close to the oracle co-bps.
"""

from __future__ import annotations

#: What `bench data list` shows as the origin of every synthetic dataset.
SOURCE = "synthetic (seeded)"

#: Options every synthetic dataset has: the trial design, the spiking level and the splits.
COMMON = {
    "seed": 0,
    "bin_size_ms": 20,
    "n_conditions": 20,
    "trials_per_condition": 12,
    "n_bins": 50,
    "n_forward_bins": 10,
    "val_fraction": 0.2,
    "test_fraction": 0.2,
    # Spiking level: each unit's mean rate is drawn log-normally around mean_rate_hz, and its
    # log-rate swings with standard deviation `modulation` about that mean.
    "mean_rate_hz": 15.0,
    "modulation": 0.8,
    # Trials of one condition start from initial states this far (in units of the spread of
    # condition initial states) from the condition's own, so single trials differ beyond Poisson noise.
    "trial_jitter": 0.05,
}

DEFAULTS = {
    "lorenz": {
        **COMMON,
        "n_heldin": 30,
        "n_heldout": 10,
        # Lorenz time units per second: a 1.2 s trial spans about 1.3 turns around the attractor.
        "lorenz_speed": 0.75,
    },
    "chaotic_rnn": {
        **COMMON,
        "n_heldin": 30,
        "n_heldout": 10,
        "n_latents": 50,
        "gain": 1.5,
        "tau_ms": 25.0,
    },
    "multi_region": {
        **COMMON,
        "n_regions": 3,
        "units_per_region": 20,
        "heldout_per_region": 5,
        "latents_per_region": 32,
        "gain": 1.5,
        "tau_ms": 25.0,
        # Each region drives the next one (in a ring) with its state `lag_ms` ago.
        "coupling": 1.0,
        "lag_ms": 60.0,
    },
}

DESCRIPTIONS = {
    "lorenz": "Poisson population driven by a 3-D Lorenz system, trials grouped into conditions (LFADS/NDT family)",
    "chaotic_rnn": "Poisson population driven by a chaotic tanh RNN (gain 1.5), conditions from initial states (LFADS)",
    "multi_region": "Regions with their own RNN dynamics coupled through lagged inter-region inputs",
}


def n_trials(config: dict) -> int:
    return int(config["n_conditions"]) * int(config["trials_per_condition"])


def n_units(config: dict) -> int:
    if "units_per_region" in config:
        return int(config["n_regions"]) * int(config["units_per_region"])
    return int(config["n_heldin"]) + int(config["n_heldout"])


#: ``lorenz_sessions`` (bench_synthetic.sessions): per group, how many sessions; per session,
#: ranges its units, trials per condition, mean rate and modulation are drawn from. Small: the
#: whole set simulates in a second or two, and a session trains in seconds.
SESSION_DEFAULTS = {
    "seed": 0,
    "bin_size_ms": 20,
    "n_bins": 30,
    "n_forward_bins": 5,
    "n_conditions": 8,
    "n_near": 16,
    "n_far": 4,
    "n_target": 1,
    "units_min": 15,
    "units_max": 40,
    "heldout_fraction": 0.25,
    "trials_per_condition_min": 4,
    "trials_per_condition_max": 10,
    # the target sessions: 12 per condition is 96 trials, 64 of them train (fine-tuning: 10, 25, 50, all)
    "target_trials_per_condition": 12,
    "rate_min_hz": 5.0,
    "rate_max_hz": 25.0,
    "modulation_min": 0.5,
    "modulation_max": 1.0,
    "trial_jitter": 0.05,
    "val_fraction": 0.2,
    "test_fraction": 0.2,
    "lorenz_speed": 0.75,
    # Rössler time units per second: a 0.7 s trial spans most of a turn of its spiral
    "far_speed": 6.0,
    "sessions": [],
}
SESSION_DESCRIPTION = (
    "session set with ground truth: near sessions s00.. (Lorenz), far f00.. (Rössler), target t00 (Lorenz, more trials); "
    "each its own neurons, read-out, trials and rates"
)


def session_names(config: dict) -> tuple[str, ...]:
    """The sessions of a ``lorenz_sessions`` config, near then far then target."""
    return (
        *(f"s{index:02d}" for index in range(int(config["n_near"]))),
        *(f"f{index:02d}" for index in range(int(config["n_far"]))),
        *(f"t{index:02d}" for index in range(int(config["n_target"]))),
    )
