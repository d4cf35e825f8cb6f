"""Perceptual hashes of trial videos, and groups of trials showing the same or nearly the same video.

DwiseNeuro (lRomul/sensorium ``src/phash.py``) hashed five frames spread evenly over a trial's
valid frames with ``imagehash.phash`` and combined them by XOR, then put each trial in fold
``hash % K``: identical videos never split across folds. The frame hash here is the same
algorithm (the frame resized to 32x32, its 2-D DCT-II, the 8x8 lowest frequencies against their
median: 64 bits), written as two small matrix products so thousands of frames hash at once
(imagehash resizes with PIL one frame at a time, about a millisecond each).

The five frame hashes are kept side by side (320 bits) rather than XORed, and trials whose
signatures differ in at most ``max_distance`` bits are joined (union-find), so near-duplicates
share a group too, not only exact repeats. A one-pixel shift moves the DCT phases of a small frame
enough to flip a third of the bits, so each trial is also hashed shifted by one pixel up, down,
left and right, and two trials are as close as their closest variants. Unrelated videos differ in
about half their bits (~155 of 320, rarely under 130); noise, brightness changes and shifted copies
in under 40.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

#: Frames hashed per trial, as the winner did.
KEY_FRAMES = 5
BITS_PER_FRAME = 64
#: imagehash.phash's sizes: the frame is resized to 32x32 and the 8x8 lowest frequencies kept.
RESIZED = 32
KEPT = 8
#: Default join threshold in bits of the 320.
MAX_DISTANCE = 60
#: The one-pixel shifts each trial is also hashed at (rows, columns).
SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


def _resize_matrix(size: int) -> np.ndarray:
    """(RESIZED, size) linear interpolation between pixel centres (half-pixel aligned)."""
    centres = (np.arange(RESIZED) + 0.5) * size / RESIZED - 0.5
    centres = np.clip(centres, 0, size - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, size - 1)
    weight = centres - low
    matrix = np.zeros((RESIZED, size))
    matrix[np.arange(RESIZED), low] += 1 - weight
    matrix[np.arange(RESIZED), high] += weight
    return matrix


@lru_cache(maxsize=8)
def _projections(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(KEPT, height) and (width, KEPT): resize then DCT-II (scipy's unnormalised type 2), so
    that the kept coefficients of a frame F are ``rows @ F @ columns``."""
    k = np.arange(KEPT)[:, None]
    n = np.arange(RESIZED)[None, :]
    dct = 2 * np.cos(np.pi * k * (2 * n + 1) / (2 * RESIZED))
    return dct @ _resize_matrix(height), (dct @ _resize_matrix(width)).T


def frame_hashes(frames: np.ndarray) -> np.ndarray:
    """(F, 64) bools: the perceptual hash of each (H, W) grey frame of ``frames`` (F, H, W)."""
    frames = np.clip(np.nan_to_num(np.asarray(frames, dtype=np.float64)), 0, 255)
    rows, columns = _projections(*frames.shape[1:])
    low = (rows @ frames @ columns).reshape(len(frames), -1)
    return low > np.median(low, axis=1, keepdims=True)


def key_frame_indices(length: int, n_frames: int = KEY_FRAMES) -> list[int]:
    """``n_frames`` indices spread evenly over ``length`` valid frames (the middle of each
    of ``n_frames`` equal stretches; all frames when the trial is shorter)."""
    if length <= n_frames:
        return list(range(length))
    step = length // n_frames
    return list(range(step // 2, length, step))[:n_frames]


def _shifted(frames: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """``frames`` (F, H, W) moved by whole pixels, the edge repeated rather than wrapped."""
    height, width = frames.shape[1:]
    y = np.clip(np.arange(height) - rows, 0, height - 1)
    x = np.clip(np.arange(width) - columns, 0, width - 1)
    return frames[:, y][:, :, x]


def video_signatures(video: np.ndarray, length: int) -> np.ndarray:
    """(len(SHIFTS), KEY_FRAMES * 64) bools: the key frames' hashes side by side, for the video
    as it is and shifted by one pixel each way (a short trial's missing frames hash as False)."""
    signatures = np.zeros((len(SHIFTS), KEY_FRAMES * BITS_PER_FRAME), dtype=bool)
    indices = key_frame_indices(int(length))
    if indices:
        frames = np.asarray(video)[indices]
        variants = np.concatenate([_shifted(frames, dy, dx) for dy, dx in SHIFTS])
        hashes = frame_hashes(variants).reshape(len(SHIFTS), len(indices) * BITS_PER_FRAME)
        signatures[:, : hashes.shape[1]] = hashes
    return signatures


def hamming_distances(first: np.ndarray, second: np.ndarray | None = None, block: int = 1024) -> np.ndarray:
    """(R, Q) int: differing bits between every row of ``first`` and of ``second`` (default
    ``first``), in blocks of rows so thousands of trials stay within memory."""
    second = first if second is None else second
    a, b = first.astype(np.float32), second.astype(np.float32)
    distances = np.empty((len(a), len(b)), dtype=np.int32)
    for start in range(0, len(a), block):
        rows = a[start : start + block]
        # |x xor y| = x.(1 - y) + (1 - x).y
        distances[start : start + block] = np.rint(rows @ (1 - b).T + (1 - rows) @ b.T).astype(np.int32)
    return distances


def shift_tolerant_distances(signatures: np.ndarray) -> np.ndarray:
    """(R, R): for signatures (R, len(SHIFTS), bits), the fewest differing bits between any
    shifted variant of one trial and the other trial as it is, in either direction."""
    plain = signatures[:, 0]
    distances = hamming_distances(plain)
    for variant in range(1, signatures.shape[1]):
        distances = np.minimum(distances, hamming_distances(signatures[:, variant], plain))
    return np.minimum(distances, distances.T)


def group_close(distances: np.ndarray, max_distance: int) -> np.ndarray:
    """(R,) int group ids: pairs within ``max_distance`` are joined, transitively (union-find).
    Ids are numbered 0, 1, ... in order of each group's first trial."""
    n = len(distances)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(distances <= max_distance, k=1))):
        a, b = root(int(i)), root(int(j))
        if a != b:
            parent[max(a, b)] = min(a, b)
    roots = np.array([root(i) for i in range(n)], dtype=np.int64)
    groups = np.empty(n, dtype=np.int64)
    numbering: dict[int, int] = {}
    for index, value in enumerate(roots.tolist()):
        groups[index] = numbering.setdefault(value, len(numbering))
    return groups


def video_groups(videos: Sequence[np.ndarray], lengths: Sequence[int], max_distance: int = MAX_DISTANCE) -> np.ndarray:
    """Group ids for trial videos, each (T, H, W) with ``lengths[r]`` valid frames."""
    if not len(videos):
        return np.zeros(0, dtype=np.int64)
    signatures = np.stack([video_signatures(video, length) for video, length in zip(videos, lengths)])
    return group_close(shift_tolerant_distances(signatures), max_distance)
