"""The reader on fixture folders in the published layout: what comes back is what was written."""

from __future__ import annotations

import numpy as np
import pytest

from harness.api import BenchError, ENCODING_TASK, EncodingData

from bench_sensorium.datasets import load_sensorium
from bench_sensorium.defaults import SENSORIUM_DEFAULTS


def load(path, **options) -> EncodingData:
    return load_sensorium({**SENSORIUM_DEFAULTS, "path": str(path), **options})


def trials_of(written, *tiers):
    return [trial for trial, tier in enumerate(written.tiers) if tier in tiers]


def test_round_trip_of_one_mouse(mouse):
    data = load(mouse.folder, skip_frames=3)
    assert data.task == ENCODING_TASK and data.frame_rate_hz == 30.0 and data.skip_frames == 3
    (recording,) = data.mice
    assert recording.name == mouse.folder.name and recording.n_neurons == 5
    np.testing.assert_array_equal(recording.neuron_ids, np.arange(100, 105))  # meta/neurons/unit_ids, named by a submission
    for split, tiers in (("train", ("train",)), ("val", ("oracle",)), ("eval", ("live_test_main", "final_test_main"))):
        part = recording.split(split)
        trials = trials_of(mouse, *tiers)
        assert part.trial_ids.tolist() == trials
        assert part.lengths.tolist() == [mouse.lengths[t] for t in trials]
        n_frames = max(part.lengths)
        assert part.video.shape == (len(trials), n_frames, 12, 16) and part.video.dtype == np.float32
        assert part.behavior.shape == (len(trials), n_frames, 4)
        for row, trial in enumerate(trials):
            length = mouse.lengths[trial]
            np.testing.assert_array_equal(part.video[row, :length], mouse.videos[trial])
            np.testing.assert_array_equal(part.behavior[row, :length], mouse.behavior[trial])
            assert not part.video[row, length:].any() and not part.behavior[row, length:].any()  # zero padding
            if part.responses is not None:
                np.testing.assert_array_equal(part.responses[row, :length], mouse.responses[trial])
        assert part.expected is None
    assert recording.eval.responses is None  # the test tiers' responses are withheld (all zero)
    assert recording.train.responses is not None and recording.val.responses is not None
    assert any("withheld" in note for note in data.notes)
    assert 6 not in np.concatenate([recording.split(s).trial_ids for s in ("train", "val", "eval")])  # "none" skipped


def test_repeated_oracle_videos_share_a_group_and_others_do_not(mouse):
    (recording,) = load(mouse.folder).mice
    val = recording.val
    by_trial = dict(zip(val.trial_ids.tolist(), val.video_groups.tolist()))
    assert by_trial[1] == by_trial[8] and by_trial[4] == by_trial[11] and by_trial[1] != by_trial[4]
    everything = np.concatenate([recording.split(s).video_groups for s in ("train", "val", "eval")])
    assert len(np.unique(everything)) == len(everything) - 2  # only the two oracle repeats merge


def test_released_test_responses_are_read(tmp_path, write_mouse):
    written = write_mouse(tmp_path / "m", withheld=())
    (recording,) = load(written.folder).mice
    trials = trials_of(written, "live_test_main", "final_test_main")
    assert recording.eval.responses is not None
    for row, trial in enumerate(trials):
        np.testing.assert_array_equal(recording.eval.responses[row, : written.lengths[trial]], written.responses[trial])


def test_tiers_to_splits_can_be_chosen(mouse):
    (recording,) = load(mouse.folder, eval_tiers=["final_test_main"], val_tiers="oracle").mice
    assert recording.eval.trial_ids.tolist() == [10]
    with pytest.raises(BenchError, match="unknown tier"):
        load(mouse.folder, eval_tiers=["test"])
    with pytest.raises(BenchError, match="in both"):
        load(mouse.folder, val_tiers=["oracle", "train"])


def test_max_frames_cuts_trials(mouse):
    (recording,) = load(mouse.folder, max_frames=10).mice
    assert set(recording.train.lengths.tolist()) == {10} and recording.train.video.shape[1] == 10


def test_several_mice_in_one_folder_and_choosing_some(tmp_path, write_mouse):
    first = write_mouse(tmp_path / "mice" / "mouseA", seed=1, n_neurons=5)
    second = write_mouse(tmp_path / "mice" / "mouseB", seed=2, n_neurons=7)
    data = load(tmp_path / "mice")
    assert [m.name for m in data.mice] == ["mouseA", "mouseB"]
    assert data.shape(window=16).n_neurons == (5, 7)
    assert data.frame_shape == (12, 16) and data.n_behavior == 4
    assert [m.name for m in load(tmp_path / "mice", mice=["mouseB"]).mice] == ["mouseB"]
    assert [m.name for m in load_sensorium({**SENSORIUM_DEFAULTS, "path": [str(second.folder), str(first.folder)]}).mice] == ["mouseB", "mouseA"]
    with pytest.raises(BenchError, match="'mice'.*mouseC"):
        load(tmp_path / "mice", mice=["mouseC"])


def test_a_video_shown_to_two_mice_keeps_its_group(tmp_path, write_mouse):
    write_mouse(tmp_path / "mice" / "mouseA", seed=1)
    write_mouse(tmp_path / "mice" / "mouseB", seed=1)  # same seed: the same videos
    first, second = load(tmp_path / "mice").mice
    np.testing.assert_array_equal(first.train.video_groups, second.train.video_groups)


def test_checksum_follows_the_content(tmp_path, write_mouse):
    written = write_mouse(tmp_path / "m")
    before = load(written.folder).checksum
    assert load(written.folder).checksum == before
    np.save(written.folder / "data" / "responses" / "0.npy", np.ones((5, 20), np.float32))
    assert load(written.folder).checksum != before


def test_the_plugin_claims_mouse_folders_and_their_parent(mouse, host, tmp_path):
    assert host.resolve_dataset(str(mouse.folder))[0].name == "sensorium"
    entry, config = host.resolve_dataset(str(mouse.folder.parent))
    assert entry.name == "sensorium" and config["path"] == str(mouse.folder.parent.resolve())
    (tmp_path / "other").mkdir()
    with pytest.raises(BenchError, match="no installed dataset plugin"):
        host.resolve_dataset(str(tmp_path / "other"))


def test_registered_for_the_encoding_task(host):
    for name in ("sensorium", "sensorium_synthetic"):
        entry = host.registries.datasets.get(name)
        assert entry.tasks == (ENCODING_TASK,)
    assert host.registries.datasets.get("sensorium").downloader


def test_search_folders_and_locator(mouse, monkeypatch, tmp_path):
    from bench_sensorium.locate import locate_sensorium

    monkeypatch.chdir(tmp_path)  # no shared/data/sensorium above
    assert locate_sensorium({}) == ""
    monkeypatch.setenv("BENCH_DATA_PATH", str(mouse.folder.parent))
    assert locate_sensorium({}) == str(mouse.folder)
    assert [m.name for m in load_sensorium(dict(SENSORIUM_DEFAULTS)).mice] == [mouse.folder.name]


def test_nothing_found_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BenchError, match="bench data download sensorium"):
        load_sensorium(dict(SENSORIUM_DEFAULTS))
    with pytest.raises(BenchError, match="no such folder"):
        load(tmp_path / "absent")
