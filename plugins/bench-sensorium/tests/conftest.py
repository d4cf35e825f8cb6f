"""Fixtures: a private BENCH_HOME, a plugin host, and a writer of small mouse folders in the exact
published Sensorium 2023 layout (written into tmp_path; no data is committed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from harness.api import Host, make_plugin_manager

#: A small mouse: 6 train trials, 2 oracle videos x 2 repeats, 2 test trials (responses withheld
#: as published: all zero), 1 excluded ("none") trial.
TIERS = ("train", "oracle", "train", "live_test_main", "oracle", "train", "none", "train", "oracle", "train", "final_test_main", "oracle", "train")
ORACLE_VIDEO = {1: 0, 4: 1, 8: 0, 11: 1}  # trial -> which of the two oracle videos it shows


@dataclass
class WrittenMouse:
    """What the writer put on disk, frames first, cut to each trial's length."""

    folder: Path
    tiers: tuple[str, ...]
    lengths: dict[int, int]
    videos: dict[int, np.ndarray] = field(default_factory=dict)  # (T, H, W)
    behavior: dict[int, np.ndarray] = field(default_factory=dict)  # (T, 4): behavior rows, pupil rows
    responses: dict[int, np.ndarray] = field(default_factory=dict)  # (T, N)


def smooth_video(rng: np.random.Generator, n_frames: int, height: int, width: int) -> np.ndarray:
    """(T, H, W) grey levels with structure a perceptual hash can tell apart (blurred noise)."""
    from scipy.ndimage import gaussian_filter

    video = gaussian_filter(rng.normal(size=(n_frames, height, width)), sigma=(2, 1.5, 1.5))
    video = 128 + 60 * video / video.std()
    return np.clip(np.round(video), 0, 255).astype(np.float32)


def write_mouse_folder(
    folder: Path,
    *,
    tiers: tuple[str, ...] = TIERS,
    n_neurons: int = 5,
    height: int = 12,
    width: int = 16,
    n_frames: int = 20,
    seed: int = 0,
    withheld: tuple[str, ...] = ("live_test_main", "final_test_main"),
) -> WrittenMouse:
    """Write one mouse folder; trial i lasts ``n_frames - i % 3`` frames, NaN after that."""
    rng = np.random.default_rng(seed)
    oracle_videos = [smooth_video(rng, n_frames - 1, height, width) for _ in range(2)]
    written = WrittenMouse(folder, tiers, {})
    data = folder / "data"
    for name in ("videos", "responses", "behavior", "pupil_center"):
        (data / name).mkdir(parents=True, exist_ok=True)
    for trial, tier in enumerate(tiers):
        if trial in ORACLE_VIDEO:
            video = oracle_videos[ORACLE_VIDEO[trial]]
        else:
            video = smooth_video(rng, n_frames - trial % 3, height, width)
        length = len(video)
        behavior = rng.normal(size=(2, length)).astype(np.float32)
        pupil = rng.normal(size=(2, length)).astype(np.float32)
        responses = rng.gamma(1.0, 1.0, size=(n_neurons, length)).astype(np.float32)
        if tier in withheld:
            responses = np.zeros_like(responses)
        np.save(data / "videos" / f"{trial}.npy", pad_nan(np.moveaxis(video, 0, 2), n_frames))
        np.save(data / "behavior" / f"{trial}.npy", pad_nan(behavior, n_frames))
        np.save(data / "pupil_center" / f"{trial}.npy", pad_nan(pupil, n_frames))
        np.save(data / "responses" / f"{trial}.npy", pad_nan(responses, n_frames))
        written.lengths[trial] = length
        written.videos[trial] = video
        written.behavior[trial] = np.concatenate([behavior, pupil]).T
        written.responses[trial] = responses.T
    meta = folder / "meta"
    for sub in ("trials", "neurons", "statistics/responses/all"):
        (meta / sub).mkdir(parents=True, exist_ok=True)
    np.save(meta / "trials" / "tiers.npy", np.array(tiers))
    np.save(meta / "neurons" / "unit_ids.npy", np.arange(100, 100 + n_neurons))
    np.save(meta / "neurons" / "cell_motor_coordinates.npy", rng.uniform(size=(n_neurons, 3)))
    np.save(meta / "statistics" / "responses" / "all" / "std.npy", np.ones(n_neurons, np.float32))
    return written


def pad_nan(array: np.ndarray, n_frames: int) -> np.ndarray:
    """Frames last, NaN after the trial's last frame, as the published files."""
    out = np.full((*array.shape[:-1], n_frames), np.nan, dtype=np.float32)
    out[..., : array.shape[-1]] = array
    return out


@pytest.fixture(autouse=True)
def bench_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "bench-home"
    monkeypatch.setenv("BENCH_HOME", str(home))
    for variable in ("BENCH_DATA_PATH", "BENCH_SENSORIUM_GIN_URL", "BENCH_SENSORIUM_MICE"):
        monkeypatch.delenv(variable, raising=False)
    return home


@pytest.fixture
def host() -> Host:
    return Host(make_plugin_manager())


@pytest.fixture
def write_mouse():
    """``write_mouse(folder, **options)`` writes a mouse folder (see write_mouse_folder)."""
    return write_mouse_folder


@pytest.fixture
def mouse(tmp_path) -> WrittenMouse:
    return write_mouse_folder(tmp_path / "mice" / "dynamic1-1-1-Video-fixture")


@pytest.fixture
def tiny_synthetic() -> dict:
    return dict(TINY_SYNTHETIC)


#: A tiny synthetic config: two mice, a handful of trials, generated in well under a second.
TINY_SYNTHETIC = {
    "n_mice": 2,
    "n_neurons": 6,
    "frame_height": 12,
    "frame_width": 16,
    "min_trial_frames": 24,
    "max_trial_frames": 30,
    "n_train_videos": 10,
    "n_exact_repeats": 2,
    "n_near_duplicates": 3,
    "n_oracle_videos": 2,
    "oracle_repeats": 3,
    "n_test_videos": 3,
    "n_excluded": 1,
    "skip_frames": 5,
}
