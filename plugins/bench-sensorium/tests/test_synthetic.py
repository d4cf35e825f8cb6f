"""The synthetic generator: deterministic, written in the published layout, read back by the same
reader, with repeats and near-duplicates grouped and a known, positive oracle."""

from __future__ import annotations

import time

import numpy as np
import pytest

from harness.api import BenchError, EncodingPredictions, score_encoding

from bench_sensorium import synthetic
from bench_sensorium.datasets import load_sensorium_synthetic, locate_sensorium_synthetic
from bench_sensorium.reader import is_mouse_folder


def test_generated_folders_are_in_the_published_layout(tiny_synthetic):
    started = time.monotonic()
    folder = synthetic.ensure_generated(tiny_synthetic)
    assert time.monotonic() - started < 10
    mice = sorted(folder.iterdir())
    assert len(mice) == 2 and all(is_mouse_folder(m) for m in mice)
    first = mice[0]
    tiers = np.load(first / "meta" / "trials" / "tiers.npy")
    assert tiers.dtype.kind == "U" and set(tiers.tolist()) == {"train", "oracle", "live_test_main", "none"}
    video = np.load(first / "data" / "videos" / "0.npy")
    assert video.shape[:2] == (12, 16) and video.shape[2] == 30 and video.dtype == np.float32
    assert np.load(first / "data" / "behavior" / "0.npy").shape == (2, 30)
    assert np.load(first / "data" / "pupil_center" / "0.npy").shape == (2, 30)
    assert np.load(first / "data" / "responses" / "0.npy").shape == (6, 30)
    assert np.load(first / "meta" / "neurons" / "unit_ids.npy").shape == (6,)
    assert np.load(first / "meta" / "statistics" / "responses" / "all" / "std.npy").shape == (6,)
    assert locate_sensorium_synthetic(tiny_synthetic) == str(folder)


def test_load_is_deterministic_and_seeded(tiny_synthetic, bench_home, tmp_path, monkeypatch):
    first = load_sensorium_synthetic(tiny_synthetic)
    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "elsewhere"))
    again = load_sensorium_synthetic(tiny_synthetic)
    assert again.checksum == first.checksum
    np.testing.assert_array_equal(again.mice[1].train.video, first.mice[1].train.video)
    assert load_sensorium_synthetic({**tiny_synthetic, "seed": 1}).checksum != first.checksum


def test_splits_groups_and_oracle(tiny_synthetic):
    data = load_sensorium_synthetic(tiny_synthetic)
    assert data.skip_frames == 5 and [m.n_neurons for m in data.mice] == [6, 10]
    for mouse in data.mice:
        train, val, eval_ = mouse.train, mouse.val, mouse.eval
        assert train.n_trials == 10 + 2 + 3 and val.n_trials == 2 * 3 and eval_.n_trials == 3
        # exact repeats and near-duplicates join their originals: one group per train video
        assert len(np.unique(train.video_groups)) == 10
        assert sorted(np.unique(val.video_groups, return_counts=True)[1].tolist()) == [3, 3]
        assert not set(val.video_groups.tolist()) & set(train.video_groups.tolist())
        for part in (train, val, eval_):
            assert part.responses is not None and part.expected is not None
            assert np.all(part.responses >= 0) and np.all(part.responses == np.round(part.responses))  # Poisson counts
    # the same train videos are shown to both mice, so their groups match
    first, second = data.mice
    assert set(first.train.video_groups.tolist()) == set(second.train.video_groups.tolist())
    oracle = EncodingPredictions({m.name: {s: m.split(s).expected for s in ("train", "val", "eval")} for m in data.mice})
    scores = score_encoding(data, oracle, "val")
    assert 0 < scores["oracle single-trial correlation"] < 1
    assert scores["oracle correlation to average"] > scores["oracle single-trial correlation"]
    assert scores["% of oracle"] == pytest.approx(100.0)


def test_behaviour_modulates_the_expected_responses(tiny_synthetic):
    """Running (channel 1: the published behaviour rows are pupil dilation, running speed) raises
    the gain of every neuron: the expected rates correlate with running over frames."""
    data = load_sensorium_synthetic({**tiny_synthetic, "n_train_videos": 30})
    train = data.mice[0].train
    valid = np.arange(train.video.shape[1])[None, :] < train.lengths[:, None]
    running = train.behavior[..., 1][valid]
    population = train.expected.sum(axis=2)[valid]
    assert np.corrcoef(running, population)[0, 1] > 0.1


def test_bad_options_are_refused(tiny_synthetic):
    with pytest.raises(BenchError, match="'oracle_repeats'"):
        synthetic.checked_config({**tiny_synthetic, "oracle_repeats": 1})
    with pytest.raises(BenchError, match="'n_mice': expected an integer"):
        synthetic.checked_config({**tiny_synthetic, "n_mice": 2.5})
    with pytest.raises(BenchError, match="'rf_spread': expected a share of the frame"):
        synthetic.checked_config({**tiny_synthetic, "rf_spread": 0.0})


def test_receptive_fields_of_one_mouse_share_a_patch_of_the_screen():
    """rf_spread bounds where one mouse's receptive fields are centred (one scan, one patch of V1)."""
    import numpy as np

    def centres(spread: float) -> np.ndarray:
        neurons = synthetic.make_neurons(np.random.default_rng(3), 60, 18, 32, 0.0, 0.2, spread)
        envelope = np.abs(neurons.even) + np.abs(neurons.odd)  # (pixels, neurons), peaks near each centre
        return np.unravel_index(envelope.argmax(axis=0), (18, 32))[1]  # horizontal centres

    assert np.ptp(centres(0.3)) <= 0.3 * 24 + 3  # within the box (plus a Gabor's peak offset)
    assert np.ptp(centres(1.0)) > 0.6 * 24
