"""Default configs (plain data: the light plugin module imports them at registration)."""

from __future__ import annotations

from typing import Any

from bench_sensorium.layout import DEFAULT_TIERS, FRAME_RATE_HZ, MAX_FRAMES, SKIP_FRAMES

#: Options of the reader, shared by both datasets: which tiers make each split, where trials are
#: cut, and how close (in bits of the 320-bit perceptual signature) near-duplicate videos are.
READER_DEFAULTS: dict[str, Any] = {
    **{key: list(value) for key, value in DEFAULT_TIERS.items()},
    "max_frames": MAX_FRAMES,
    "hash_distance": 60,
}

SENSORIUM_DEFAULTS: dict[str, Any] = {
    "path": None,  # a mouse folder, a folder of them, or a list; None searches (locate.py)
    "mice": None,  # folder names or letters A-J; None: every mouse found
    "skip_frames": SKIP_FRAMES,
    "frame_rate_hz": FRAME_RATE_HZ,
    **READER_DEFAULTS,
}

#: The synthetic generator's options. Sized so that a small DwiseNeuro on two CPU cores can get
#: close to the oracle in about 15 minutes: three mice of 40-48 neurons, 18x32 frames, 2-3 s trials.
SYNTHETIC_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "n_mice": 3,
    "n_neurons": 40,  # mouse m has n_neurons + 4 m neurons, so readouts differ in size
    "frame_height": 18,
    "frame_width": 32,
    "min_trial_frames": 60,
    "max_trial_frames": 90,
    "n_train_videos": 160,
    "n_exact_repeats": 8,
    "n_near_duplicates": 8,
    "n_oracle_videos": 6,
    "oracle_repeats": 5,
    "n_test_videos": 16,
    "n_excluded": 2,
    "complex_fraction": 0.25,
    # Receptive-field centres of one mouse lie in a box this share of the frame wide and high,
    # around a centre of its own: one scan images one retinotopic patch of V1, so its neurons
    # look at one neighbourhood of the screen (1.0 spreads them over the whole frame).
    "rf_spread": 0.4,
    # Mean expected response per frame: sets the Poisson noise level (oracle correlation ~0.6).
    "rate_scale": 0.2,
    # The first frames of a trial are not scored (the real data skips 50 of ~300).
    "skip_frames": 15,
}

#: Scored trials of all mice (train, val and eval; the excluded ones are not read).
SYNTHETIC_N_TRIALS = SYNTHETIC_DEFAULTS["n_mice"] * (
    SYNTHETIC_DEFAULTS["n_train_videos"] + SYNTHETIC_DEFAULTS["n_exact_repeats"] + SYNTHETIC_DEFAULTS["n_near_duplicates"]
    + SYNTHETIC_DEFAULTS["n_oracle_videos"] * SYNTHETIC_DEFAULTS["oracle_repeats"] + SYNTHETIC_DEFAULTS["n_test_videos"]
)
SYNTHETIC_N_NEURONS = sum(SYNTHETIC_DEFAULTS["n_neurons"] + 4 * m for m in range(SYNTHETIC_DEFAULTS["n_mice"]))
