"""The one figure the trainer needs each epoch on the encoding task: single-trial correlation
(per neuron, over every scored frame of every trial, then the mean over neurons), in numpy.
The scored metrics of a run come from :mod:`harness.encoding_metrics`."""

from __future__ import annotations

import numpy as np


def scored_frames(lengths: np.ndarray, n_frames: int, skip_frames: int) -> np.ndarray:
    """(R, T) bool: the frames scored, from ``skip_frames`` up to each trial's length."""
    frames = np.arange(n_frames)[None, :]
    return (frames >= skip_frames) & (frames < np.asarray(lengths)[:, None])


def single_trial_correlation(predicted: np.ndarray, responses: np.ndarray, lengths: np.ndarray, skip_frames: int = 0, per_neuron: bool = False):
    """Pearson correlation of each neuron's predicted and recorded responses over all scored
    frames of all trials; a neuron that never varies (in either) counts as 0. The mean over
    neurons, or the (N,) values with ``per_neuron``."""
    mask = scored_frames(lengths, predicted.shape[1], skip_frames)
    x = predicted[mask].astype(np.float64)  # (frames, N)
    y = responses[mask].astype(np.float64)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    denominator = np.sqrt((x**2).sum(axis=0) * (y**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(denominator > 0, (x * y).sum(axis=0) / np.where(denominator > 0, denominator, 1.0), 0.0)
    return values if per_neuron else float(values.mean())
