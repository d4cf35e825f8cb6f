"""Perceptual-hash groups: repeats and slightly altered copies join their video, others stay apart."""

from __future__ import annotations

import numpy as np
import pytest

from bench_sensorium import video_hash
from bench_sensorium.synthetic import NEAR_DUPLICATE_KINDS, make_video, near_duplicate


@pytest.fixture(scope="module")
def videos():
    rng = np.random.default_rng(5)
    return [make_video(rng, 70, 18, 32) for _ in range(6)]


def test_duplicates_and_near_duplicates_share_a_group(videos):
    rng = np.random.default_rng(0)
    shown = list(videos)  # six different videos: groups 0..5
    shown.append(videos[2].copy())  # an exact repeat
    shown += [near_duplicate(rng, videos[4], kind) for kind in NEAR_DUPLICATE_KINDS]
    groups = video_hash.video_groups(shown, [len(v) for v in shown])
    assert groups[:6].tolist() == [0, 1, 2, 3, 4, 5]
    assert groups[6] == groups[2]
    assert groups[7:].tolist() == [groups[4]] * 3


def test_different_videos_are_far_apart(videos):
    signatures = np.stack([video_hash.video_signatures(v, len(v)) for v in videos])
    distances = video_hash.shift_tolerant_distances(signatures)
    off_diagonal = distances[~np.eye(len(videos), dtype=bool)]
    assert off_diagonal.min() > 1.5 * video_hash.MAX_DISTANCE
    assert np.all(np.diag(distances) == 0)


def test_a_shifted_copy_is_close_only_through_the_shifted_variants(videos):
    video = videos[0]
    shifted = np.concatenate([video[:, :1], video[:, :-1]], axis=1)  # down by one pixel, edge repeated
    signatures = np.stack([video_hash.video_signatures(v, len(v)) for v in (video, shifted)])
    assert video_hash.hamming_distances(signatures[:, 0])[0, 1] > 20  # the plain hashes differ a lot
    assert video_hash.shift_tolerant_distances(signatures)[0, 1] <= 10


def test_frame_hash_agrees_with_imagehash(videos):
    imagehash = pytest.importorskip("imagehash")
    from PIL import Image

    frames = np.concatenate([v[::10] for v in videos])
    ours = video_hash.frame_hashes(frames)
    theirs = np.array([imagehash.phash(Image.fromarray(f.astype(np.uint8), "L")).hash.ravel() for f in frames])
    # the same algorithm; only the resize filter differs (linear here, Lanczos in PIL)
    assert np.mean(ours == theirs) > 0.9


def test_hamming_distances_match_a_plain_count():
    rng = np.random.default_rng(1)
    signatures = rng.random((7, 320)) < 0.5
    expected = np.array([[np.count_nonzero(a != b) for b in signatures] for a in signatures])
    np.testing.assert_array_equal(video_hash.hamming_distances(signatures, block=3), expected)
    np.testing.assert_array_equal(video_hash.hamming_distances(signatures[:3], signatures), expected[:3])


def test_groups_join_transitively_and_are_numbered_by_first_trial():
    base = np.zeros(320, dtype=bool)
    step1, step2 = base.copy(), base.copy()
    step1[:30] = True  # 30 bits from base
    step2[:60] = True  # 30 bits from step1, 60 from base: joined through step1
    far = np.ones(320, dtype=bool)
    signatures = np.array([far, base, step2, step1])
    groups = video_hash.group_close(video_hash.hamming_distances(signatures), max_distance=40)
    assert groups.tolist() == [0, 1, 1, 1]


def test_key_frames_spread_over_the_valid_frames():
    assert video_hash.key_frame_indices(100) == [10, 30, 50, 70, 90]
    assert video_hash.key_frame_indices(3) == [0, 1, 2]
