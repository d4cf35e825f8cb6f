"""``sensorium_synthetic``: a seeded stand-in for Sensorium 2023, written in the published layout.

Videos: each trial shows one video of 1-3 clips cut together; a clip is a 1/f ("pink", natural
image-like) texture that drifts across the screen and slowly morphs into another, at its own mean
luminance and contrast, in grey levels 0-255. Some train videos are shown twice (exact repeats),
some as near-duplicates (pixel noise, a brightness shift or a one-pixel shift), and the oracle
tier shows a few videos several times each, as the real data does.

Neurons: linear-nonlinear cells with a Gabor receptive field (quadrature pairs for the complex
cells) times a biphasic temporal kernel (~0.4 s), rectified by a softplus, multiplied by a gain
that rises with running speed and pupil size. Responses are Poisson draws around these expected
rates, which are kept (``data/expected/``, beside the published fields) so the oracle correlation
is known. Test videos keep their responses too, so held-out trials can be scored.

The generated folders live under ``BENCH_HOME/cache/sensorium_synthetic/<key>/`` (key: the
generator version and the checked config) and are read back through the same reader as the
real data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.api import BenchError, cache_dir

from bench_sensorium.defaults import SYNTHETIC_DEFAULTS as DEFAULTS

#: Bump when a config starts producing different data (old folders are then not reused).
GENERATOR_VERSION = 2

#: Temporal kernels span this many frames (0.4 s at 30 Hz).
KERNEL_FRAMES = 12
GREY = 128.0


def checked_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The generator's options over the defaults (reader options pass through), checked."""
    merged = {**DEFAULTS, **dict(config or {})}
    for key in DEFAULTS:
        value = merged[key]
        if isinstance(DEFAULTS[key], int) and (isinstance(value, bool) or not isinstance(value, int)):
            raise BenchError(f"sensorium_synthetic option '{key}': expected an integer, found {value!r}")
        if isinstance(DEFAULTS[key], float) and not isinstance(value, (int, float)):
            raise BenchError(f"sensorium_synthetic option '{key}': expected a number, found {value!r}")
    positive = ("n_mice", "n_neurons", "frame_height", "frame_width", "n_train_videos", "n_oracle_videos", "oracle_repeats")
    for key in positive:
        if merged[key] < 1:
            raise BenchError(f"sensorium_synthetic option '{key}': expected at least 1, found {merged[key]}")
    if merged["oracle_repeats"] < 2:
        raise BenchError("sensorium_synthetic option 'oracle_repeats': expected at least 2 (the oracle tier repeats videos)")
    if not 20 <= merged["min_trial_frames"] <= merged["max_trial_frames"]:
        raise BenchError("sensorium_synthetic options: expected 20 <= min_trial_frames <= max_trial_frames")
    if min(merged["frame_height"], merged["frame_width"]) < 8:
        raise BenchError("sensorium_synthetic options: frames of at least 8x8 pixels (the Gabor receptive fields)")
    if not 0 < merged["rf_spread"] <= 1:
        raise BenchError(f"sensorium_synthetic option 'rf_spread': expected a share of the frame in (0, 1], found {merged['rf_spread']}")
    if not 0 <= merged["complex_fraction"] <= 1 or merged["rate_scale"] <= 0:
        raise BenchError("sensorium_synthetic options: complex_fraction in [0, 1] and rate_scale > 0")
    return merged


def generator_key(config: Mapping[str, Any]) -> str:
    chosen = {key: config[key] for key in DEFAULTS}
    text = json.dumps([GENERATOR_VERSION, chosen], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dataset_folder(config: Mapping[str, Any] | None = None) -> Path:
    return cache_dir() / "sensorium_synthetic" / generator_key(checked_config(config))


# -- videos -------------------------------------------------------------------------------------


def _pink_spectrum(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """The Fourier coefficients of a random image whose amplitude falls as 1/f."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    frequency = np.sqrt(fx**2 + fy**2)
    frequency[0, 0] = np.inf  # no mean: luminance is set per clip
    amplitude = 1.0 / np.maximum(frequency, 1.0 / max(height, width))
    amplitude[0, 0] = 0.0
    noise = rng.normal(size=(height, width)) + 1j * rng.normal(size=(height, width))
    return amplitude * noise


def _clip(rng: np.random.Generator, n_frames: int, height: int, width: int) -> np.ndarray:
    """(n_frames, height, width) grey levels: a drifting, slowly morphing 1/f texture."""
    canvas = (2 * height, 2 * width)
    first, second = _pink_spectrum(rng, *canvas), _pink_spectrum(rng, *canvas)
    t = np.arange(n_frames)[:, None, None]
    angle = rng.uniform(0, np.pi / 2) + rng.uniform(0.01, 0.05) * t  # morph from one texture to the other
    speed, direction = rng.uniform(0.0, 0.7), rng.uniform(0, 2 * np.pi)
    start = rng.uniform(0, canvas[0]), rng.uniform(0, canvas[1])
    shift_y = start[0] + speed * np.sin(direction) * t
    shift_x = start[1] + speed * np.cos(direction) * t
    fy = np.fft.fftfreq(canvas[0])[None, :, None]
    fx = np.fft.fftfreq(canvas[1])[None, None, :]
    # A sub-pixel translation, separable in y and x (two small exponentials, not one per pixel).
    phase = np.exp(-2j * np.pi * fy * shift_y) * np.exp(-2j * np.pi * fx * shift_x)
    spectrum = (np.cos(angle) * first + np.sin(angle) * second) * phase
    frames = np.fft.ifft2(spectrum).real[:, :height, :width]
    frames = (frames - frames.mean()) / (frames.std() + 1e-9)
    luminance, contrast = rng.uniform(90, 165), rng.uniform(25, 55)
    return np.clip(np.round(luminance + contrast * frames), 0, 255)


def make_video(rng: np.random.Generator, n_frames: int, height: int, width: int) -> np.ndarray:
    """(n_frames, height, width) float32: 1-3 clips with hard cuts between them."""
    n_clips = int(rng.integers(1, 4))
    cuts = sorted(rng.choice(np.arange(20, n_frames - 19), size=n_clips - 1, replace=False)) if n_frames >= 60 else []
    bounds = [0, *cuts, n_frames]
    clips = [_clip(rng, end - start, height, width) for start, end in zip(bounds[:-1], bounds[1:])]
    return np.concatenate(clips, axis=0).astype(np.float32)


NEAR_DUPLICATE_KINDS = ("noise", "brightness", "shift")


def near_duplicate(rng: np.random.Generator, video: np.ndarray, kind: str | None = None) -> np.ndarray:
    """A slightly altered copy: pixel noise, a brightness shift, or a one-pixel shift (``kind``,
    drawn when None)."""
    kind = kind or NEAR_DUPLICATE_KINDS[int(rng.integers(len(NEAR_DUPLICATE_KINDS)))]
    if kind == "noise":
        altered = video + rng.normal(0, 4.0, size=video.shape)
    elif kind == "brightness":
        altered = video + rng.choice([-1, 1]) * rng.uniform(8, 15)
    else:
        axis = int(rng.integers(1, 3))
        altered = np.roll(video, 1, axis=axis)
        edge = [slice(None)] * 3
        edge[axis] = 0
        altered[tuple(edge)] = video[tuple(edge)]  # repeat the edge rather than wrap around
    return np.clip(np.round(altered), 0, 255).astype(np.float32)


# -- behaviour and neurons ----------------------------------------------------------------------


def _ou(rng: np.random.Generator, n_frames: int, tau: float) -> np.ndarray:
    """A unit-variance Ornstein-Uhlenbeck trace with time constant ``tau`` frames."""
    decay = np.exp(-1.0 / tau)
    noise = rng.normal(size=n_frames) * np.sqrt(1 - decay**2)
    trace = np.empty(n_frames)
    trace[0] = rng.normal()
    for t in range(1, n_frames):
        trace[t] = decay * trace[t - 1] + noise[t]
    return trace


@dataclass(frozen=True)
class Behaviour:
    """One trial's published rows and the standardised signals the gain uses."""

    behavior: np.ndarray  # (2, T): pupil dilation, running speed
    pupil_center: np.ndarray  # (2, T): horizontal, vertical
    running_z: np.ndarray  # (T,)
    pupil_z: np.ndarray  # (T,)


def make_behaviour(rng: np.random.Generator, n_frames: int) -> Behaviour:
    state = rng.normal(-0.3, 0.8)  # some trials the mouse sits, some it runs
    drive = 3.0 * (state + 0.5 * _ou(rng, n_frames, 40.0))
    running = 5.0 * np.logaddexp(0.0, drive)
    running_z = (running - 8.0) / 8.0
    pupil_z = 0.6 * np.tanh(running_z) + 0.8 * _ou(rng, n_frames, 60.0)
    pupil = 400.0 + 80.0 * pupil_z
    center = np.stack([200.0 + 6.0 * _ou(rng, n_frames, 20.0), 150.0 + 4.0 * _ou(rng, n_frames, 20.0)])
    return Behaviour(np.stack([pupil, running]), center, running_z, pupil_z)


@dataclass(frozen=True)
class Neurons:
    """One mouse's cells: receptive fields (P, N) (and their quadrature partners for complex
    cells), temporal kernels (KERNEL_FRAMES, N), rectification thresholds, gains and mean rates."""

    even: np.ndarray
    odd: np.ndarray
    complex_cell: np.ndarray
    kernels: np.ndarray
    threshold: np.ndarray
    running_gain: np.ndarray
    pupil_gain: np.ndarray
    mean_rate: np.ndarray


def make_neurons(
    rng: np.random.Generator, n_neurons: int, height: int, width: int, complex_fraction: float, rate_scale: float, rf_spread: float = 1.0
) -> Neurons:
    y, x = np.mgrid[0:height, 0:width].astype(float)
    even, odd = [], []
    # the patch the mouse's neurons look at: a box rf_spread of the usable frame, placed at random
    low_y, high_y, low_x, high_x = 3.0, height - 3.0, 4.0, width - 4.0
    box_y, box_x = rf_spread * (high_y - low_y), rf_spread * (high_x - low_x)
    top, left = rng.uniform(low_y, high_y - box_y), rng.uniform(low_x, high_x - box_x)
    for _ in range(n_neurons):
        cy, cx = rng.uniform(top, top + box_y), rng.uniform(left, left + box_x)
        sigma, frequency = rng.uniform(1.5, 3.0), rng.uniform(0.08, 0.18)
        orientation, phase = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
        along = (x - cx) * np.cos(orientation) + (y - cy) * np.sin(orientation)
        envelope = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
        for fields_, offset in ((even, 0.0), (odd, np.pi / 2)):
            gabor = envelope * np.cos(2 * np.pi * frequency * along + phase + offset)
            fields_.append((gabor / np.linalg.norm(gabor)).ravel())
    lags = np.arange(KERNEL_FRAMES, dtype=float)[:, None]
    fast = rng.uniform(0.8, 1.5, size=n_neurons)
    kernels = (lags / fast) ** 3 * np.exp(-lags / fast) - rng.uniform(0.2, 0.6, size=n_neurons) * (lags / (2 * fast)) ** 3 * np.exp(-lags / (2 * fast))
    kernels /= np.linalg.norm(kernels, axis=0, keepdims=True)
    return Neurons(
        even=np.ascontiguousarray(np.array(even).T),
        odd=np.ascontiguousarray(np.array(odd).T),
        complex_cell=rng.random(n_neurons) < complex_fraction,
        kernels=kernels,
        threshold=rng.uniform(0.0, 1.0, size=n_neurons),
        running_gain=rng.uniform(0.1, 0.5, size=n_neurons),
        pupil_gain=rng.uniform(-0.2, 0.3, size=n_neurons),
        mean_rate=rate_scale * rng.lognormal(0.0, 0.3, size=n_neurons),
    )


def _temporal_filter(projection: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Causal per-neuron filtering along frames: (R, T, N) -> (R, T, N); before frame 0 the
    screen is grey, which projects to 0."""
    filtered = np.zeros_like(projection)
    for lag in range(kernels.shape[0]):
        filtered[:, lag:] += kernels[lag] * projection[:, : projection.shape[1] - lag]
    return filtered


def expected_responses(neurons: Neurons, videos: np.ndarray, lengths: np.ndarray, behaviour: list[Behaviour]) -> np.ndarray:
    """(R, T, N) noise-free rates for padded videos (R, T, H, W); zero past each trial's length."""
    n_trials, n_frames = videos.shape[:2]
    pixels = (videos.reshape(n_trials, n_frames, -1) - GREY) / 64.0
    valid = np.arange(n_frames)[None, :] < lengths[:, None]
    pixels[~valid] = 0.0
    linear = _temporal_filter(pixels @ neurons.even.astype(np.float32), neurons.kernels)
    quadrature = _temporal_filter(pixels @ neurons.odd.astype(np.float32), neurons.kernels)
    drive = np.where(neurons.complex_cell, np.sqrt(linear**2 + quadrature**2), linear)
    scored = drive[valid]
    drive = (drive - scored.mean(axis=0)) / (scored.std(axis=0) + 1e-9)
    sharpness = 3.0
    rectified = np.logaddexp(0.0, sharpness * (drive - neurons.threshold)) / sharpness
    running = np.zeros((n_trials, n_frames))
    pupil = np.zeros((n_trials, n_frames))
    for index, trial in enumerate(behaviour):
        running[index, : lengths[index]] = trial.running_z
        pupil[index, : lengths[index]] = trial.pupil_z
    gain = np.exp(neurons.running_gain * running[..., None] + neurons.pupil_gain * pupil[..., None])
    rates = rectified * gain
    rates *= neurons.mean_rate / rates[valid].mean(axis=0)
    rates[~valid] = 0.0
    return rates.astype(np.float32)


# -- the folders --------------------------------------------------------------------------------


def _padded_videos(videos: list[np.ndarray], n_frames: int) -> np.ndarray:
    out = np.full((len(videos), n_frames, *videos[0].shape[1:]), GREY, dtype=np.float32)
    for index, video in enumerate(videos):
        out[index, : len(video)] = video
    return out


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array)


def _nan_padded(rows: np.ndarray, n_frames: int) -> np.ndarray:
    """(C, length) -> (C, n_frames) float32 with NaN after the trial, as published."""
    out = np.full((rows.shape[0], n_frames), np.nan, dtype=np.float32)
    out[:, : rows.shape[1]] = rows
    return out


def write_mouse(folder: Path, tiers: np.ndarray, videos: list[np.ndarray], behaviour: list[Behaviour], responses: np.ndarray, expected: np.ndarray, n_frames: int, rng: np.random.Generator) -> None:
    """Write one mouse's trials in the published layout (plus ``data/expected``)."""
    data, meta = folder / "data", folder / "meta"
    n_neurons = responses.shape[2]
    for trial, video in enumerate(videos):
        length = len(video)
        movie = np.full((video.shape[1], video.shape[2], n_frames), np.nan, dtype=np.float32)
        movie[:, :, :length] = np.moveaxis(video, 0, 2)
        _save(data / "videos" / f"{trial}.npy", movie)
        _save(data / "behavior" / f"{trial}.npy", _nan_padded(behaviour[trial].behavior, n_frames))
        _save(data / "pupil_center" / f"{trial}.npy", _nan_padded(behaviour[trial].pupil_center, n_frames))
        _save(data / "responses" / f"{trial}.npy", _nan_padded(responses[trial, :length].T, n_frames))
        _save(data / "expected" / f"{trial}.npy", _nan_padded(expected[trial, :length].T, n_frames))
    _save(meta / "trials" / "tiers.npy", tiers.astype("<U16"))
    _save(meta / "neurons" / "unit_ids.npy", np.arange(1, n_neurons + 1, dtype=np.int32))
    _save(meta / "neurons" / "cell_motor_coordinates.npy", rng.uniform(0, 400, size=(n_neurons, 3)).astype(np.float32))
    _write_statistics(meta / "statistics", tiers, videos, behaviour, responses)


def _write_statistics(folder: Path, tiers: np.ndarray, videos, behaviour, responses: np.ndarray) -> None:
    """mean/std/min/max/median over the train trials' frames, per channel (videos: one value)."""
    train = np.flatnonzero(tiers == "train")
    columns = {
        "videos": np.concatenate([videos[i].ravel() for i in train])[:, None],
        "responses": np.concatenate([responses[i, : len(videos[i])] for i in train]),
        "behavior": np.concatenate([behaviour[i].behavior.T for i in train]),
        "pupil_center": np.concatenate([behaviour[i].pupil_center.T for i in train]),
    }
    for name, values in columns.items():
        squeeze = name == "videos"
        for statistic, function in (("mean", np.mean), ("std", np.std), ("min", np.min), ("max", np.max), ("median", np.median)):
            value = function(values, axis=0).astype(np.float32)
            _save(folder / name / "all" / f"{statistic}.npy", value[0] if squeeze else value)


def generate(config: Mapping[str, Any], target: Path) -> None:
    """Write every mouse folder of ``config`` into ``target`` (which must not exist yet)."""
    cfg = checked_config(config)
    height, width = cfg["frame_height"], cfg["frame_width"]
    root = np.random.default_rng(cfg["seed"])
    video_rng, *mouse_rngs = root.spawn(1 + cfg["n_mice"])

    def length() -> int:
        return int(video_rng.integers(cfg["min_trial_frames"], cfg["max_trial_frames"] + 1))

    def pool(count: int) -> list[np.ndarray]:
        return [make_video(video_rng, length(), height, width) for _ in range(count)]

    train_pool, oracle_pool, test_pool = pool(cfg["n_train_videos"]), pool(cfg["n_oracle_videos"]), pool(cfg["n_test_videos"])
    key = generator_key(cfg)
    for mouse, rng in enumerate(mouse_rngs):
        shown: list[tuple[str, np.ndarray]] = [("train", video) for video in train_pool]
        picks = rng.permutation(len(train_pool))
        repeats = picks[: cfg["n_exact_repeats"]]
        altered = picks[cfg["n_exact_repeats"] : cfg["n_exact_repeats"] + cfg["n_near_duplicates"]]
        shown += [("train", train_pool[i]) for i in repeats]
        shown += [("train", near_duplicate(rng, train_pool[i])) for i in altered]
        shown += [("oracle", video) for video in oracle_pool for _ in range(cfg["oracle_repeats"])]
        shown += [("live_test_main", video) for video in test_pool]
        shown += [("none", make_video(rng, length(), height, width)) for _ in range(cfg["n_excluded"])]
        order = rng.permutation(len(shown))  # published trial numbers carry no meaning
        tiers = np.array([shown[i][0] for i in order])
        videos = [shown[i][1] for i in order]
        lengths = np.array([len(video) for video in videos])
        behaviour = [make_behaviour(rng, int(n)) for n in lengths]
        neurons = make_neurons(rng, cfg["n_neurons"] + 4 * mouse, height, width, cfg["complex_fraction"], cfg["rate_scale"], cfg["rf_spread"])
        expected = expected_responses(neurons, _padded_videos(videos, cfg["max_trial_frames"]), lengths, behaviour)
        responses = rng.poisson(expected).astype(np.float32)
        name = f"synthetic{mouse + 1}-{cfg['seed']}-Video-{key}"
        write_mouse(target / name, tiers, videos, behaviour, responses, expected, cfg["max_trial_frames"], rng)


def ensure_generated(config: Mapping[str, Any] | None = None) -> Path:
    """The folder of mouse folders for ``config``, generated now when absent (atomically: written
    beside, then renamed into place; a concurrent generator's copy is kept)."""
    cfg = checked_config(config)
    target = dataset_folder(cfg)
    if target.is_dir():
        return target
    staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        generate(cfg, staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(staging, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
