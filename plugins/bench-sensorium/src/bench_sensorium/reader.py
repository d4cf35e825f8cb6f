"""Read Sensorium 2023 mouse folders (layout in ``layout.py``) into :class:`EncodingData`.

Per mouse, the trials of the train tiers become ``train``, those of the val tiers ``val`` and
those of the eval tiers ``eval``; "none" trials are skipped, as the winner skipped them. A trial
lasts until its video's first NaN frame (cut at ``max_frames``); every other array must be finite
over those frames, responses included wherever they are scored. Eval responses that are withheld
(file absent, or all zero over the trial as in the published test tiers) leave
``eval.responses`` None. Arrays become (trials, frames, ...) float32, zero past each trial's
length. Perceptual-hash video groups are computed over every trial of every mouse at once, so a
group id means the same video across mice and splits.

Anything malformed raises :class:`DataFileError` naming the file, the field and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.api import BenchError, DataFileError, EncodingData, EncodingSplit, MouseRecording, content_checksum

from bench_sensorium import video_hash
from bench_sensorium.layout import BEHAVIOR_CHANNELS, DEFAULT_TIERS, EXCLUDED_TIER, FRAME_RATE_HZ, MAX_FRAMES, SKIP_FRAMES, TIERS

BEHAVIOR_ROWS = {field_name: len(channels.split(", ")) for field_name, channels in BEHAVIOR_CHANNELS.items()}

SPLIT_TIER_KEYS = {"train": "train_tiers", "val": "val_tiers", "eval": "eval_tiers"}
#: Where a synthetic dataset keeps its noise-free responses beside the published fields.
EXPECTED_FIELD = "expected"


@dataclass
class SplitTrials:
    """One split of one mouse while it is read: per-trial arrays, frames first."""

    trial_ids: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    videos: list[np.ndarray] = field(default_factory=list)  # (T, H, W)
    behavior: list[np.ndarray] = field(default_factory=list)  # (T, B)
    responses: list[np.ndarray | None] = field(default_factory=list)  # (T, N) or None (withheld)
    expected: list[np.ndarray] = field(default_factory=list)  # (T, N)


@dataclass
class MouseTrials:
    name: str
    folder: Path
    n_neurons: int
    splits: dict[str, SplitTrials]
    notes: list[str]
    #: The published neuron ids (meta/neurons/unit_ids.npy): a submission names them.
    unit_ids: np.ndarray | None = None


def is_mouse_folder(path: Path) -> bool:
    """A folder in the published per-mouse layout (it has ``data/`` and ``meta/``)."""
    return (path / "data").is_dir() and (path / "meta").is_dir()


def mouse_folders(path: Path) -> list[Path]:
    """``path`` itself when it is a mouse folder, else the mouse folders directly inside it."""
    path = Path(path)
    if is_mouse_folder(path):
        return [path]
    if not path.is_dir():
        return []
    return sorted(child for child in path.iterdir() if child.is_dir() and is_mouse_folder(child))


def split_tiers(config: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """split -> the tiers it takes, from the config (defaults in layout.DEFAULT_TIERS), checked."""
    chosen: dict[str, tuple[str, ...]] = {}
    for split, key in SPLIT_TIER_KEYS.items():
        value = config.get(key, DEFAULT_TIERS[key])
        tiers = (value,) if isinstance(value, str) else tuple(value)
        unknown = [tier for tier in tiers if tier not in TIERS or tier == EXCLUDED_TIER]
        if unknown:
            raise BenchError(f"dataset option '{key}': unknown tier(s) {unknown}; expected some of {TIERS[:-1]}")
        chosen[split] = tiers
    for split, tiers in chosen.items():
        for other, other_tiers in chosen.items():
            if split < other and set(tiers) & set(other_tiers):
                raise BenchError(f"dataset options: tier(s) {sorted(set(tiers) & set(other_tiers))} are in both {split} and {other}")
    if not chosen["train"] or not chosen["val"]:
        raise BenchError("dataset options: train_tiers and val_tiers must each name at least one tier")
    return chosen


def _load(path: Path, field_name: str, what: str) -> np.ndarray:
    if not path.is_file():
        raise DataFileError(path, field_name, what, "no such file")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DataFileError(path, field_name, what, f"an unreadable file ({error})") from None


def read_tiers(folder: Path) -> np.ndarray:
    path = folder / "meta" / "trials" / "tiers.npy"
    tiers = _load(path, "tiers", "a 1-D array of tier names (str), one per trial")
    if tiers.ndim != 1 or tiers.dtype.kind not in "US":
        raise DataFileError(path, "tiers", "a 1-D array of tier names (str), one per trial", f"dtype {tiers.dtype}, shape {tiers.shape}")
    tiers = tiers.astype(str)
    unknown = sorted(set(tiers.tolist()) - set(TIERS))
    if unknown:
        raise DataFileError(path, "tiers", f"tiers among {list(TIERS)}", f"unknown tier(s) {unknown}")
    return tiers


def read_unit_ids(folder: Path) -> np.ndarray:
    path = folder / "meta" / "neurons" / "unit_ids.npy"
    unit_ids = _load(path, "unit_ids", "a 1-D array of neuron ids")
    if unit_ids.ndim != 1 or unit_ids.size == 0:
        raise DataFileError(path, "unit_ids", "a non-empty 1-D array of neuron ids", f"shape {unit_ids.shape}")
    coordinates = folder / "meta" / "neurons" / "cell_motor_coordinates.npy"
    if coordinates.is_file():
        values = _load(coordinates, "cell_motor_coordinates", "an (N, 3) array")
        if values.shape != (unit_ids.size, 3):
            raise DataFileError(coordinates, "cell_motor_coordinates", f"shape ({unit_ids.size}, 3) (one row per unit id)", f"shape {values.shape}")
    return unit_ids


def trial_length(path: Path, video: np.ndarray) -> int:
    """Valid frames of a (H, W, T) video: up to its first frame holding NaN; only padding may follow."""
    if video.ndim != 3 or video.dtype.kind not in "fiu":
        raise DataFileError(path, "videos", "a numeric (height, width, frames) array", f"dtype {video.dtype}, shape {video.shape}")
    if video.dtype.kind != "f":
        return int(video.shape[2])
    invalid = np.isnan(video).any(axis=(0, 1))
    length = int(np.argmax(invalid)) if invalid.any() else int(video.shape[2])
    if length == 0:
        raise DataFileError(path, "videos", "at least one frame before the NaN padding", "NaN in the first frame")
    if not invalid[length:].all():
        raise DataFileError(path, "videos", "NaN only as padding after the last frame", f"NaN in frame {length}, valid frames after it")
    if not np.isfinite(video[:, :, :length]).all():
        raise DataFileError(path, "videos", "finite grey levels", "infinite values")
    return length


def _frames(path: Path, field_name: str, array: np.ndarray, rows: int | None, length: int, what: str, finite: bool = True) -> np.ndarray:
    """``array`` (rows, T) checked and cut to (length, rows) float32."""
    if array.ndim != 2 or array.dtype.kind not in "fiu":
        raise DataFileError(path, field_name, f"a numeric ({what}, frames) array", f"dtype {array.dtype}, shape {array.shape}")
    if rows is not None and array.shape[0] != rows:
        raise DataFileError(path, field_name, f"{rows} rows ({what})", f"shape {array.shape}")
    if array.shape[1] < length:
        raise DataFileError(path, field_name, f"at least {length} frames (the video's)", f"shape {array.shape}")
    values = array[:, :length].astype(np.float32).T
    if finite and not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise DataFileError(path, field_name, f"finite values over the trial's {length} frames", f"{bad} NaN/inf values")
    return values


def read_mouse(folder: Path, tiers_by_split: Mapping[str, Sequence[str]], max_frames: int = MAX_FRAMES) -> MouseTrials:
    """Read every trial of the chosen tiers of one mouse folder."""
    folder = Path(folder)
    tiers = read_tiers(folder)
    unit_ids = read_unit_ids(folder)
    n_neurons = int(unit_ids.size)
    data = folder / "data"
    has_expected = (data / EXPECTED_FIELD).is_dir()
    frame_shape: tuple[int, int] | None = None
    splits: dict[str, SplitTrials] = {}
    notes: list[str] = []
    for split, split_tier_names in tiers_by_split.items():
        trials = SplitTrials()
        scored = split != "eval"
        for trial in np.flatnonzero(np.isin(tiers, list(split_tier_names))):
            tier = tiers[trial]
            name = f"{trial}.npy"
            video_path = data / "videos" / name
            video = _load(video_path, "videos", f"the video of trial {trial} (tier {tier})")
            length = min(trial_length(video_path, video), max_frames)
            if frame_shape is None:
                frame_shape = video.shape[:2]
            elif video.shape[:2] != frame_shape:
                raise DataFileError(video_path, "videos", f"frames of {frame_shape[0]}x{frame_shape[1]} pixels like the other trials", f"shape {video.shape}")
            rows = []
            for field_name in ("behavior", "pupil_center"):
                path = data / field_name / name
                array = _load(path, field_name, f"the {field_name} of trial {trial} (tier {tier})")
                rows.append(_frames(path, field_name, array, BEHAVIOR_ROWS[field_name], length, BEHAVIOR_CHANNELS[field_name]))
            responses = _read_responses(data / "responses" / name, n_neurons, length, trial, tier, scored)
            if has_expected:
                path = data / EXPECTED_FIELD / name
                array = _load(path, EXPECTED_FIELD, f"the expected responses of trial {trial}")
                trials.expected.append(_frames(path, EXPECTED_FIELD, array, n_neurons, length, "neurons"))
            trials.trial_ids.append(int(trial))
            trials.lengths.append(length)
            trials.videos.append(np.moveaxis(video[:, :, :length], 2, 0).astype(np.float32))
            trials.behavior.append(np.concatenate(rows, axis=1))
            trials.responses.append(responses)
        if split in ("train", "val") and not trials.trial_ids:
            raise DataFileError(folder / "meta" / "trials" / "tiers.npy", "tiers", f"at least one trial of tier(s) {list(split_tier_names)} (the {split} split)", "none")
        withheld = sum(response is None for response in trials.responses)
        if withheld:
            notes.append(
                f"{folder.name}: responses of {withheld} of {len(trials.trial_ids)} {split} trials "
                f"(tiers {', '.join(split_tier_names)}) are withheld, so {split} is predicted, not scored"
            )
        splits[split] = trials
    return MouseTrials(folder.name, folder, n_neurons, splits, notes, unit_ids)


def _read_responses(path: Path, n_neurons: int, length: int, trial: int, tier: str, scored: bool) -> np.ndarray | None:
    """(length, N) responses, or None where an eval tier withholds them (absent or all zero)."""
    what = f"the responses of trial {trial} (tier {tier})"
    if not scored and not path.is_file():
        return None
    array = _load(path, "responses", what)
    if not scored and array.ndim == 2 and array.shape[1] >= length and not np.any(np.nan_to_num(array[:, :length])):
        return None
    return _frames(path, "responses", array, n_neurons, length, "neurons")


def _padded(arrays: Sequence[np.ndarray], n_frames: int, tail: tuple[int, ...]) -> np.ndarray:
    out = np.zeros((len(arrays), n_frames, *tail), dtype=np.float32)
    for index, array in enumerate(arrays):
        out[index, : len(array)] = array
    return out


def build_split(trials: SplitTrials, groups: np.ndarray, frame_shape: tuple[int, int], n_behavior: int, n_neurons: int) -> EncodingSplit:
    n_frames = max(trials.lengths, default=0)
    withheld = any(response is None for response in trials.responses)
    return EncodingSplit(
        video=_padded(trials.videos, n_frames, frame_shape),
        behavior=_padded(trials.behavior, n_frames, (n_behavior,)),
        responses=None if withheld else _padded(trials.responses, n_frames, (n_neurons,)),
        lengths=np.asarray(trials.lengths, dtype=np.int64),
        trial_ids=np.asarray(trials.trial_ids, dtype=np.int64),
        video_groups=np.asarray(groups, dtype=np.int64),
        expected=_padded(trials.expected, n_frames, (n_neurons,)) if trials.expected else None,
    )


def read_dataset(
    folders: Sequence[Path],
    config: Mapping[str, Any],
    *,
    name: str,
    source: str,
    notes: Sequence[str] = (),
) -> EncodingData:
    """Every mouse folder in ``folders`` as one :class:`EncodingData` (mice in the given order)."""
    if not folders:
        raise BenchError(f"dataset '{name}': no mouse folders to read")
    tiers_by_split = split_tiers(config)
    max_frames = int(config.get("max_frames", MAX_FRAMES))
    mice = [read_mouse(folder, tiers_by_split, max_frames) for folder in folders]
    reference = mice[0]
    first = reference.splits["train"]
    frame_shape = tuple(first.videos[0].shape[1:])
    n_behavior = int(first.behavior[0].shape[1])
    for mouse in mice[1:]:
        trials = mouse.splits["train"]
        if tuple(trials.videos[0].shape[1:]) != frame_shape:
            path = mouse.folder / "data" / "videos" / f"{trials.trial_ids[0]}.npy"
            raise DataFileError(path, "videos", f"{frame_shape[0]}x{frame_shape[1]} frames like mouse {reference.name}", f"{trials.videos[0].shape[1:]}")
        if trials.behavior[0].shape[1] != n_behavior:
            path = mouse.folder / "data" / "behavior" / f"{trials.trial_ids[0]}.npy"
            raise DataFileError(path, "behavior", f"{n_behavior} behaviour + pupil channels like mouse {reference.name}", f"{trials.behavior[0].shape[1]}")

    # One hash grouping over all trials of all mice: a video keeps its group across mice and splits.
    all_videos = [video for mouse in mice for split in mouse.splits.values() for video in split.videos]
    all_lengths = [length for mouse in mice for split in mouse.splits.values() for length in split.lengths]
    groups = video_hash.video_groups(all_videos, all_lengths, int(config.get("hash_distance", video_hash.MAX_DISTANCE)))
    recordings = []
    offset = 0
    arrays: dict[str, np.ndarray | None] = {}
    for mouse in mice:
        built = {}
        for split, trials in mouse.splits.items():
            count = len(trials.trial_ids)
            built[split] = build_split(trials, groups[offset : offset + count], frame_shape, n_behavior, mouse.n_neurons)
            offset += count
            for key in ("video", "behavior", "responses", "lengths", "trial_ids", "video_groups", "expected"):
                arrays[f"{mouse.name}/{split}/{key}"] = getattr(built[split], key)
        recordings.append(MouseRecording(name=mouse.name, n_neurons=mouse.n_neurons, neuron_ids=mouse.unit_ids, **built))
    skip_frames = int(config.get("skip_frames", SKIP_FRAMES))
    mapping = ", ".join(f"{split} <- {'+'.join(tiers)}" for split, tiers in tiers_by_split.items())
    all_notes = [*notes, f"tiers to splits: {mapping}; 'none' trials skipped", *[note for mouse in mice for note in mouse.notes]]
    return EncodingData(
        name=name,
        frame_rate_hz=float(config.get("frame_rate_hz", FRAME_RATE_HZ)),
        mice=tuple(recordings),
        skip_frames=skip_frames,
        checksum=content_checksum(arrays, extra=(f"skip_frames={skip_frames}",)),
        source=source,
        notes=tuple(all_notes),
    )
