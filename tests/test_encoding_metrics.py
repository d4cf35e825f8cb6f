"""Encoding metrics against independent computations on the same arrays (scipy's pearsonr per
neuron over hand-picked frames), padding and skipped frames filled with garbage that must not count."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr

from harness.contracts import EncodingData, EncodingPredictions, EncodingSplit, MouseRecording
from harness.tasks.encoding.metrics import (
    correlation_to_average,
    poisson_loss,
    score_encoding,
    scored_mask,
    scores_by_mouse,
    single_trial_correlation,
)

SKIP = 3


def _arrays(seed=0, n_trials=6, n_frames=15, n_neurons=4, lengths=None):
    rng = np.random.default_rng(seed)
    lengths = np.array(lengths if lengths is not None else [15, 12, 10, 15, 9, 11][:n_trials])
    signal = rng.gamma(2.0, 1.0, size=(n_trials, n_frames, n_neurons))
    responses = rng.poisson(signal).astype(np.float32)
    predictions = (signal + rng.normal(0, 0.5, size=signal.shape)).clip(0.05).astype(np.float32)
    for r, length in enumerate(lengths):  # garbage where nothing is scored
        responses[r, length:] = 1e3
        predictions[r, length:] = -7.0
        responses[r, :SKIP] = 500.0
    return responses, predictions, lengths


def _valid_frames(array, lengths, skip):
    return np.concatenate([array[r, skip:length] for r, length in enumerate(lengths)])


def test_scored_mask():
    mask = scored_mask(np.array([5, 2]), 6, skip_frames=1)
    assert mask.tolist() == [[False, True, True, True, True, False], [False, True, False, False, False, False]]


def test_single_trial_correlation_is_pearson_over_concatenated_scored_frames():
    responses, predictions, lengths = _arrays()
    observed, predicted = _valid_frames(responses, lengths, SKIP), _valid_frames(predictions, lengths, SKIP)
    expected = np.array([pearsonr(predicted[:, n], observed[:, n])[0] for n in range(4)])
    per_neuron = single_trial_correlation(responses, predictions, lengths, SKIP, per_neuron=True)
    np.testing.assert_allclose(per_neuron, expected, atol=1e-6)
    assert single_trial_correlation(responses, predictions, lengths, SKIP) == pytest.approx(expected.mean(), abs=1e-6)


def test_a_constant_neuron_counts_as_zero():
    responses, predictions, lengths = _arrays()
    predictions[:, :, 2] = 1.0
    per_neuron = single_trial_correlation(responses, predictions, lengths, SKIP, per_neuron=True)
    assert per_neuron[2] == 0.0 and np.all(np.isfinite(per_neuron))


def test_correlation_to_average_over_repeats():
    responses, predictions, lengths = _arrays()
    groups = np.array([7, 7, 3, 7, 9, 3])  # video 7 three times, video 3 twice, video 9 once (left out)
    averaged = []
    for members in ([2, 5], [0, 1, 3]):  # groups in ascending id order: 3 then 7
        length = min(lengths[members])
        averaged.append((responses[members, SKIP:length].mean(axis=0), predictions[members, SKIP:length].mean(axis=0)))
    observed = np.concatenate([a for a, _ in averaged])
    predicted = np.concatenate([b for _, b in averaged])
    expected = np.array([pearsonr(predicted[:, n], observed[:, n])[0] for n in range(4)])
    value = correlation_to_average(responses, predictions, lengths, groups, SKIP)
    assert value == pytest.approx(expected.mean(), abs=1e-6)
    assert np.isnan(correlation_to_average(responses, predictions, lengths, np.arange(6), SKIP))


def test_poisson_loss_is_the_mean_over_scored_entries():
    responses, predictions, lengths = _arrays()
    observed, predicted = _valid_frames(responses, lengths, SKIP), _valid_frames(predictions, lengths, SKIP)
    expected = np.mean(predicted - observed * np.log(predicted + 1e-12))
    assert poisson_loss(responses, predictions, lengths, SKIP) == pytest.approx(expected, rel=1e-6)


def test_shapes_must_agree():
    responses, predictions, lengths = _arrays()
    with pytest.raises(ValueError, match="differ in shape"):
        single_trial_correlation(responses, predictions[:, :, :3], lengths)
    with pytest.raises(ValueError, match="lengths"):
        poisson_loss(responses, predictions, lengths[:3])


def _split(seed, n_neurons, groups, withheld=False, expected=True):
    responses, predictions, lengths = _arrays(seed=seed, n_neurons=n_neurons)
    n_trials, n_frames = responses.shape[:2]
    split = EncodingSplit(
        video=np.zeros((n_trials, n_frames, 2, 3), np.float32),
        behavior=np.zeros((n_trials, n_frames, 4), np.float32),
        responses=None if withheld else responses,
        lengths=lengths,
        trial_ids=np.arange(n_trials),
        video_groups=np.asarray(groups),
        expected=predictions * 0.9 + 0.1 if expected else None,
    )
    return split, predictions


def _data(expected=True):
    mice, predicted = [], {}
    for index, n_neurons in enumerate((3, 5)):
        splits, outputs = {}, {}
        for name, groups in (("train", np.arange(6)), ("val", [0, 0, 1, 1, 2, 2]), ("eval", np.arange(6))):
            splits[name], outputs[name] = _split(10 * index + len(name), n_neurons, groups, withheld=name == "eval", expected=expected)
        mice.append(MouseRecording(name=f"m{index}", n_neurons=n_neurons, **splits))
        predicted[f"m{index}"] = outputs
    data = EncodingData(name="tiny", frame_rate_hz=30.0, mice=tuple(mice), skip_frames=SKIP)
    return data, EncodingPredictions(predicted)


def test_score_encoding_pools_the_neurons_of_every_mouse():
    data, predictions = _data()
    scores = score_encoding(data, predictions, "val")
    per_neuron = np.concatenate(
        [single_trial_correlation(m.val.responses, predictions.split(m.name, "val"), m.val.lengths, SKIP, per_neuron=True) for m in data.mice]
    )
    assert scores["single-trial correlation"] == pytest.approx(per_neuron.mean())
    assert len(per_neuron) == 8  # 3 + 5 neurons: a mouse weighs by its neurons, as the competition pooled them
    oracle = np.concatenate(
        [single_trial_correlation(m.val.responses, m.val.expected, m.val.lengths, SKIP, per_neuron=True) for m in data.mice]
    )
    assert scores["oracle single-trial correlation"] == pytest.approx(oracle.mean())
    assert scores["% of oracle"] == pytest.approx(100 * per_neuron.mean() / oracle.mean())
    assert {"correlation to average", "oracle correlation to average", "poisson loss", "oracle poisson loss"} <= set(scores)
    by_mouse = scores_by_mouse(data, predictions, "val")
    assert by_mouse["m1"]["single-trial correlation"] == pytest.approx(per_neuron[3:].mean())


def test_split_without_repeats_or_oracle_and_withheld_split():
    data, predictions = _data(expected=False)
    scores = score_encoding(data, predictions, "train")
    assert set(scores) == {"single-trial correlation", "poisson loss"}  # no repeats, no oracle
    with pytest.raises(ValueError, match="withholds its responses"):
        score_encoding(data, predictions, "eval")
