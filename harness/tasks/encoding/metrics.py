"""Metrics of the encoding task (numpy only), computed as Sensorium 2023 computed them.

Arrays are (R, T, N): trials, frames, neurons. A frame is scored when ``skip_frames <= t <
lengths[r]``: frames past a trial's length are padding, and the first ``skip_frames`` are never
scored so a model always has a history (the competition skipped 50 frames at 30 Hz).

- Single-trial correlation (the competition's ranking metric): per neuron, the Pearson correlation
  between prediction and response over every scored frame of every trial, concatenated; then the
  mean over neurons. As in the competition's evaluation code (sensorium's ``get_correlations`` with
  neuralpredictors' ``corr``): standard deviations with ddof=0 plus eps=1e-8, a neuron whose
  correlation is undefined counts as 0, and across mice the per-neuron correlations are pooled
  before the mean (a mouse weighs by its neurons).
- Correlation to average: trials showing the same video (one ``video_groups`` id, at least two
  repeats) are averaged frame by frame, responses and predictions alike; then per-neuron
  correlation over the concatenated averaged frames, the mean over neurons (sensorium 2022's
  ``get_correlations`` on repeats; predictions are averaged too because behaviour makes them differ
  between repeats). Trials of a group are cut to the group's shortest length.
- Poisson loss: ``prediction - response * log(prediction + eps)`` per scored entry (eps=1e-12 as in
  sensorium's ``get_poisson_loss``), averaged rather than summed so datasets of any size compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: Added to each standard deviation, as neuralpredictors' ``corr`` does.
CORRELATION_EPS = 1e-8
#: Inside the log of the Poisson loss, as sensorium's ``get_poisson_loss``.
POISSON_EPS = 1e-12


def scored_mask(lengths: np.ndarray, n_frames: int, skip_frames: int = 0) -> np.ndarray:
    """(R, T) bool: the frames that count, ``skip_frames <= t < lengths[r]``."""
    frames = np.arange(n_frames)[None, :]
    lengths = np.asarray(lengths)[:, None]
    return (frames >= skip_frames) & (frames < lengths)


def neuron_correlations(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per-column Pearson correlation of two (F, N) arrays, as neuralpredictors computes it
    (ddof=0 deviations plus eps); undefined values (fewer than two frames) become 0."""
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    if first.shape[0] == 0:
        return np.zeros(first.shape[1])
    first = (first - first.mean(axis=0)) / (first.std(axis=0) + CORRELATION_EPS)
    second = (second - second.mean(axis=0)) / (second.std(axis=0) + CORRELATION_EPS)
    correlations = (first * second).mean(axis=0)
    return np.nan_to_num(correlations, nan=0.0)


def _scored_frames(array: np.ndarray, lengths: np.ndarray, skip_frames: int) -> np.ndarray:
    """The scored frames of every trial, concatenated: (F, N)."""
    array = np.asarray(array)
    if array.ndim != 3:
        raise ValueError(f"expected a (trials, frames, neurons) array, got shape {array.shape}")
    mask = scored_mask(lengths, array.shape[1], skip_frames)
    return array[mask]


def _check_pair(responses: np.ndarray, predictions: np.ndarray, lengths: np.ndarray) -> None:
    if np.shape(responses) != np.shape(predictions):
        raise ValueError(f"responses {np.shape(responses)} and predictions {np.shape(predictions)} differ in shape")
    if len(lengths) != np.shape(responses)[0]:
        raise ValueError(f"{len(lengths)} lengths for {np.shape(responses)[0]} trials")


def single_trial_correlation(
    responses: np.ndarray, predictions: np.ndarray, lengths: np.ndarray, skip_frames: int = 0, per_neuron: bool = False
) -> float | np.ndarray:
    """Per neuron, Pearson over all scored frames of all trials concatenated; the mean over
    neurons (or the (N,) correlations with ``per_neuron``)."""
    _check_pair(responses, predictions, lengths)
    correlations = neuron_correlations(
        _scored_frames(predictions, lengths, skip_frames), _scored_frames(responses, lengths, skip_frames)
    )
    return correlations if per_neuron else float(correlations.mean())


def repeat_averages(
    array: np.ndarray, lengths: np.ndarray, video_groups: np.ndarray, skip_frames: int = 0
) -> np.ndarray:
    """Scored frames of every repeated video (a group of at least two trials), averaged over its
    repeats frame by frame and concatenated over groups in ascending group order: (F, N)."""
    array = np.asarray(array)
    video_groups = np.asarray(video_groups)
    averaged = []
    for group in np.unique(video_groups):
        members = np.flatnonzero(video_groups == group)
        if members.size < 2:
            continue
        length = int(np.min(np.asarray(lengths)[members]))
        if length > skip_frames:
            averaged.append(array[members, skip_frames:length].mean(axis=0))
    if not averaged:
        return np.zeros((0, array.shape[2]))
    return np.concatenate(averaged, axis=0)


def has_repeats(video_groups: np.ndarray) -> bool:
    """Whether any video is shown in at least two trials (correlation to average needs one)."""
    _, counts = np.unique(np.asarray(video_groups), return_counts=True)
    return bool(np.any(counts >= 2))


def correlation_to_average(
    responses: np.ndarray,
    predictions: np.ndarray,
    lengths: np.ndarray,
    video_groups: np.ndarray,
    skip_frames: int = 0,
    per_neuron: bool = False,
) -> float | np.ndarray:
    """Per neuron, Pearson between predictions and responses each averaged over the repeats of
    a video, over the concatenated scored frames; the mean over neurons. NaN when no video is
    repeated."""
    _check_pair(responses, predictions, lengths)
    if not has_repeats(video_groups):
        return np.full(np.shape(responses)[2], np.nan) if per_neuron else float("nan")
    correlations = neuron_correlations(
        repeat_averages(predictions, lengths, video_groups, skip_frames),
        repeat_averages(responses, lengths, video_groups, skip_frames),
    )
    return correlations if per_neuron else float(correlations.mean())


def poisson_loss(
    responses: np.ndarray, predictions: np.ndarray, lengths: np.ndarray, skip_frames: int = 0, per_neuron: bool = False
) -> float | np.ndarray:
    """Mean over scored frames (and neurons) of ``prediction - response * log(prediction + eps)``."""
    _check_pair(responses, predictions, lengths)
    observed = _scored_frames(responses, lengths, skip_frames).astype(np.float64)
    predicted = _scored_frames(predictions, lengths, skip_frames).astype(np.float64)
    loss = predicted - observed * np.log(predicted + POISSON_EPS)
    per = loss.mean(axis=0) if loss.shape[0] else np.full(loss.shape[1], np.nan)
    return per if per_neuron else float(per.mean())


# -- data level: every mouse of an EncodingData, as the competition pooled them ----------------


def _pooled(per_mouse: Sequence[np.ndarray]) -> float:
    """The mean over all neurons of all mice (the competition's ``np.hstack`` then mean), NaN
    neurons (a mouse without repeats) left out."""
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in per_mouse]) if per_mouse else np.zeros(0)
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def split_scores(
    responses: np.ndarray,
    predictions: np.ndarray,
    lengths: np.ndarray,
    video_groups: np.ndarray,
    skip_frames: int,
) -> dict[str, np.ndarray]:
    """Per-neuron metrics of one mouse's split: the (N,) arrays that ``score_encoding`` pools."""
    return {
        "single-trial correlation": single_trial_correlation(responses, predictions, lengths, skip_frames, per_neuron=True),
        "correlation to average": correlation_to_average(responses, predictions, lengths, video_groups, skip_frames, per_neuron=True),
        "poisson loss": poisson_loss(responses, predictions, lengths, skip_frames, per_neuron=True),
    }


def score_encoding(data, predictions, split: str) -> dict[str, float]:
    """Score ``predictions`` (an :class:`~harness.contracts.EncodingPredictions`) on ``split`` of
    ``data`` (an :class:`~harness.contracts.EncodingData`), pooling every mouse's neurons.

    Returns "single-trial correlation", "poisson loss" and, where the split repeats a video,
    "correlation to average". Where the data knows the noise-free responses (``expected``), the
    same metrics with ``expected`` as the prediction are added as "oracle single-trial
    correlation", "oracle correlation to average" and "oracle poisson loss", with "% of oracle"
    (100 x single-trial correlation / its oracle). A split whose responses are withheld cannot be
    scored: ValueError.
    """
    per_neuron: dict[str, list[np.ndarray]] = {}
    oracle: dict[str, list[np.ndarray]] = {}
    for mouse in data.mice:
        part = mouse.split(split)
        if part.responses is None:
            raise ValueError(f"split '{split}' of mouse '{mouse.name}' withholds its responses: nothing to score")
        predicted = predictions.split(mouse.name, split)
        for key, values in split_scores(part.responses, predicted, part.lengths, part.video_groups, data.skip_frames).items():
            per_neuron.setdefault(key, []).append(values)
        if part.expected is not None:
            for key, values in split_scores(part.responses, part.expected, part.lengths, part.video_groups, data.skip_frames).items():
                oracle.setdefault(key, []).append(values)
    scores = _summaries(per_neuron, "")
    if oracle and len(oracle["single-trial correlation"]) == len(data.mice):
        scores.update(_summaries(oracle, "oracle "))
        reference = scores["oracle single-trial correlation"]
        if reference > 0:
            scores["% of oracle"] = 100.0 * scores["single-trial correlation"] / reference
    return scores


def _summaries(per_neuron: Mapping[str, list[np.ndarray]], prefix: str) -> dict[str, float]:
    scores = {}
    for key, values in per_neuron.items():
        pooled = _pooled(values)
        if not np.isnan(pooled):  # no repeated video: no correlation to average at all
            scores[prefix + key] = pooled
    return scores


def scores_by_mouse(data, predictions, split: str) -> dict[str, dict[str, float]]:
    """The same metrics per mouse (each the mean over that mouse's neurons), for reports."""
    result = {}
    for mouse in data.mice:
        part = mouse.split(split)
        if part.responses is None:
            continue
        predicted = predictions.split(mouse.name, split)
        values = split_scores(part.responses, predicted, part.lengths, part.video_groups, data.skip_frames)
        result[mouse.name] = {key: _pooled([array]) for key, array in values.items() if not np.all(np.isnan(array))}
    return result
