"""A malformed mouse folder is refused with a DataFileError naming the file, the field and what
was expected."""

from __future__ import annotations

import numpy as np
import pytest

from harness.api import DataFileError

from bench_sensorium.datasets import load_sensorium
from bench_sensorium.defaults import SENSORIUM_DEFAULTS


def _nan_padded(array, n_frames=20):
    out = np.full((*array.shape[:-1], n_frames), np.nan, dtype=np.float32)
    out[..., : array.shape[-1]] = array
    return out


def _video_with_hole():
    video = np.full((12, 16, 20), 100.0, dtype=np.float32)
    video[:, :, 5] = np.nan
    return video


def _responses_with_nan():
    responses = np.ones((5, 20), np.float32)
    responses[2, 3] = np.nan
    return responses


# case: (relative file, what to write there: an array, None to delete, or bytes), field, expected text
BROKEN = {
    "missing video": ("data/videos/0.npy", None, "videos", "no such file"),
    "missing responses of a train trial": ("data/responses/2.npy", None, "responses", "no such file"),
    "missing behaviour": ("data/behavior/1.npy", None, "behavior", "no such file"),
    "missing pupil centre": ("data/pupil_center/5.npy", None, "pupil_center", "no such file"),
    "missing tiers": ("meta/trials/tiers.npy", None, "tiers", "no such file"),
    "missing unit ids": ("meta/neurons/unit_ids.npy", None, "unit_ids", "no such file"),
    "unreadable file": ("data/videos/2.npy", b"not a numpy file", "videos", "unreadable"),
    "video of rank 2": ("data/videos/0.npy", np.zeros((12, 320), np.float32), "videos", "(height, width, frames)"),
    "video of another frame size": ("data/videos/2.npy", np.zeros((10, 16, 20), np.float32), "videos", "12x16 pixels"),
    "NaN hole in a video": ("data/videos/0.npy", _video_with_hole(), "videos", "NaN only as padding"),
    "behaviour with 3 rows": ("data/behavior/0.npy", np.zeros((3, 20), np.float32), "behavior", "2 rows (pupil dilation, running speed)"),
    "behaviour shorter than the video": ("data/behavior/0.npy", np.zeros((2, 8), np.float32), "behavior", "at least 20 frames"),
    "NaN in behaviour": ("data/behavior/0.npy", _nan_padded(np.full((2, 10), 1.0)), "behavior", "finite values"),
    "responses of the wrong neuron count": ("data/responses/0.npy", np.zeros((4, 20), np.float32), "responses", "5 rows"),
    "NaN in responses of a scored tier": ("data/responses/0.npy", _responses_with_nan(), "responses", "finite values over the trial's 20 frames"),
    "NaN in responses of the oracle tier": ("data/responses/1.npy", _nan_padded(np.ones((5, 3))), "responses", "finite values"),
    "unknown tier": ("meta/trials/tiers.npy", np.array(["train", "oracle", "holdout"] + ["train"] * 10), "tiers", "unknown tier(s) ['holdout']"),
    "tiers as objects": ("meta/trials/tiers.npy", np.array(["train"] * 13, dtype=object), "tiers", "unreadable"),
    "tiers without an oracle trial": ("meta/trials/tiers.npy", np.array(["train"] * 13), "tiers", "at least one trial of tier(s) ['oracle']"),
    "unit ids of rank 2": ("meta/neurons/unit_ids.npy", np.zeros((5, 1)), "unit_ids", "1-D array"),
    "coordinates for other neurons": ("meta/neurons/cell_motor_coordinates.npy", np.zeros((4, 3)), "cell_motor_coordinates", "(5, 3)"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_mouse_folder_is_refused(case, mouse):
    relative, content, field, expected = BROKEN[case]
    path = mouse.folder / relative
    if content is None:
        path.unlink()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content, allow_pickle=True)
    with pytest.raises(DataFileError) as caught:
        load_sensorium({**SENSORIUM_DEFAULTS, "path": str(mouse.folder)})
    error = caught.value
    assert (error.path, error.field) == (str(path), field)
    assert str(path) in str(error) and f"'{field}'" in str(error) and expected in str(error)


def test_withheld_test_responses_may_be_absent_or_nan(mouse):
    (mouse.folder / "data" / "responses" / "3.npy").unlink()  # a live_test_main trial
    np.save(mouse.folder / "data" / "responses" / "10.npy", np.full((5, 20), np.nan, np.float32))  # final_test_main
    (recording,) = load_sensorium({**SENSORIUM_DEFAULTS, "path": str(mouse.folder)}).mice
    assert recording.eval.responses is None and recording.eval.n_trials == 2


def test_partly_nan_test_responses_are_refused(mouse):
    path = mouse.folder / "data" / "responses" / "3.npy"
    np.save(path, _responses_with_nan())
    with pytest.raises(DataFileError) as caught:
        load_sensorium({**SENSORIUM_DEFAULTS, "path": str(mouse.folder)})
    assert caught.value.path == str(path) and caught.value.field == "responses"


def test_mice_with_different_frames_are_refused(tmp_path, write_mouse):
    write_mouse(tmp_path / "mice" / "a")
    other = write_mouse(tmp_path / "mice" / "b", height=10)
    with pytest.raises(DataFileError) as caught:
        load_sensorium({**SENSORIUM_DEFAULTS, "path": str(tmp_path / "mice")})
    assert caught.value.field == "videos" and str(other.folder) in caught.value.path and "like mouse a" in str(caught.value)
