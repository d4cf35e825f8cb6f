"""Perceptual hashes of trial videos, and groups of trials showing the same or nearly the same video.

DwiseNeuro (lRomul/sensorium ``src/phash.py``) hashed five frames spread evenly over a trial's
valid frames with ``imagehash.phash`` (DCT of the frame shrunk to 32x32, the 8x8 lowest
frequencies against their median: 64 bits) and combined them by XOR, then put each trial in fold
``hash % K``: identical videos never split across folds. Here the five frame hashes are kept side
by side (320 bits), and trials whose signatures differ in at most ``max_distance`` bits are joined
(union-find), so near-duplicates (re-encoded, shifted by a pixel, brighter) share a group too, not
only exact repeats. Unrelated videos differ in about half their bits (160 of 320).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Frames hashed per trial, as the winner did.
KEY_FRAMES = 5
BITS_PER_FRAME = 64
#: Default join threshold: at most this many differing bits of the 320 (about 1 in 6).
MAX_DISTANCE = 50


def frame_hash(frame: np.ndarray) -> np.ndarray:
    """The 64-bit perceptual hash (as 64 bools) of one (H, W) grey frame in 0-255."""
    import imagehash
    from PIL import Image

    image = Image.fromarray(np.clip(np.nan_to_num(frame), 0, 255).astype(np.uint8), "L")
    return imagehash.phash(image).hash.ravel()


def key_frame_indices(length: int, n_frames: int = KEY_FRAMES) -> list[int]:
    """``n_frames`` indices spread evenly over ``length`` valid frames (the middle of each
    of ``n_frames`` equal stretches; all frames when the trial is shorter)."""
    if length <= n_frames:
        return list(range(length))
    step = length // n_frames
    return list(range(step // 2, length, step))[:n_frames]


def video_signature(video: np.ndarray, length: int) -> np.ndarray:
    """(KEY_FRAMES * 64,) bools: the key frames' hashes of one (T, H, W) video side by side
    (frames missing from a short trial hash as all-False)."""
    signature = np.zeros(KEY_FRAMES * BITS_PER_FRAME, dtype=bool)
    for slot, index in enumerate(key_frame_indices(int(length))):
        signature[slot * BITS_PER_FRAME : (slot + 1) * BITS_PER_FRAME] = frame_hash(video[index])
    return signature


def hamming_distances(signatures: np.ndarray, block: int = 1024) -> np.ndarray:
    """(R, R) int: differing bits between every pair of signatures, in blocks of rows so a
    dataset of thousands of trials stays within memory."""
    bits = signatures.astype(np.float32)
    distances = np.empty((len(bits), len(bits)), dtype=np.int32)
    for start in range(0, len(bits), block):
        rows = bits[start : start + block]
        # |a xor b| = a.(1 - b) + (1 - a).b
        distances[start : start + block] = np.rint(rows @ (1 - bits).T + (1 - rows) @ bits.T).astype(np.int32)
    return distances


def group_signatures(signatures: np.ndarray, max_distance: int = MAX_DISTANCE) -> np.ndarray:
    """(R,) int group ids: signatures within ``max_distance`` bits are joined, transitively
    (union-find). Ids are numbered 0, 1, ... in order of each group's first trial."""
    n = len(signatures)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n:
        close = hamming_distances(signatures) <= max_distance
        for i, j in zip(*np.nonzero(np.triu(close, k=1))):
            a, b = root(int(i)), root(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    roots = np.array([root(i) for i in range(n)], dtype=np.int64)
    _, first_seen, ids = np.unique(roots, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first_seen))  # renumber groups by their first trial
    return order[ids].astype(np.int64)


def video_groups(videos: Sequence[np.ndarray], lengths: Sequence[int], max_distance: int = MAX_DISTANCE) -> np.ndarray:
    """Group ids for trial videos, each (T, H, W) with ``lengths[r]`` valid frames."""
    signatures = np.array([video_signature(video, length) for video, length in zip(videos, lengths)], dtype=bool)
    return group_signatures(signatures.reshape(len(videos), -1), max_distance)
