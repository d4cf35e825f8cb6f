"""How the trainer trains and predicts on the video-encoding task (imports torch).

Batches are random ``window``-frame windows of one mouse's train trials at a time (each trial
gives one window per epoch; the mice's batches interleaved in a random order), video and
behaviour normalised with the train split's statistics. Whole trials are predicted by sliding
windows: each frame by the window that ends at it, the frames before the first full window by
the first window. Validation each epoch is the single-trial correlation on val from windows
that do not overlap (each predicting all its frames: the frame-by-frame slide costs ``window``
times the frames, too much to repeat every epoch); the record scores the slid predictions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from harness.contracts import EncodingBatch, EncodingData, EncodingPredictions, EncodingSplit, MouseRecording
from harness.tasks.encoding.metrics import single_trial_correlation
from harness.errors import BenchError

#: Windows predicted per forward pass when sliding over whole trials.
PREDICT_BATCH = 64


@dataclass(frozen=True)
class Normalisation:
    """One mouse's train-split statistics: the video's mean and sd (one number each: grey
    levels), behaviour's per channel. Channels that never vary are left unscaled."""

    video_mean: float
    video_std: float
    behavior_mean: np.ndarray
    behavior_std: np.ndarray

    @classmethod
    def of(cls, split: EncodingSplit) -> Normalisation:
        frames = np.arange(split.video.shape[1])[None, :] < split.lengths[:, None]  # (R, T) valid frames
        video = split.video[frames]
        behavior = split.behavior[frames]
        std = behavior.std(axis=0)
        return cls(
            video_mean=float(video.mean()),
            video_std=float(video.std()) or 1.0,
            behavior_mean=behavior.mean(axis=0).astype(np.float32),
            behavior_std=np.where(std > 1e-6, std, 1.0).astype(np.float32),
        )

    def video(self, array: np.ndarray) -> np.ndarray:
        return ((array - self.video_mean) / self.video_std).astype(np.float32)

    def behavior(self, array: np.ndarray) -> np.ndarray:
        return ((array - self.behavior_mean) / self.behavior_std).astype(np.float32)


def window_of(model_config) -> int:
    """Frames per window: the model config's ``window`` (16, the winner's, when it has none)."""
    window = int(model_config.get("window", 16))
    if window < 1:
        raise BenchError(f"model option window={window}: expected a positive number of frames")
    return window


def predict_stride_of(model_config, window: int) -> int:
    """Frames between the windows that predict whole trials: the model config's
    ``predict_stride`` where the model declares one, else 1 (each frame by the window ending at it)."""
    stride = int(model_config.get("predict_stride", 1))
    if not 1 <= stride <= window:
        raise BenchError(f"model option predict_stride={stride}: expected 1 to the window ({window} frames)")
    return stride


def check_window(data: EncodingData, window: int) -> None:
    """Refuse a window longer than some train trial (it would train on padding frames)."""
    for mouse in data.mice:
        shortest = int(mouse.train.lengths.min()) if mouse.train.n_trials else window
        if shortest < window:
            raise BenchError(
                f"model option window={window}: mouse {mouse.name} has a train trial of only {shortest} frames; use window <= {shortest}"
            )


def _windows(split: EncodingSplit, norm: Normalisation, trials: np.ndarray, starts: np.ndarray, window: int, mouse: int, device: str, with_responses: bool = True) -> EncodingBatch:
    frames = starts[:, None] + np.arange(window)[None, :]  # (b, window)
    rows = trials[:, None]
    responses = None
    if with_responses and split.responses is not None:
        responses = torch.as_tensor(split.responses[rows, frames].astype(np.float32), device=device)
    return EncodingBatch(
        video=torch.as_tensor(norm.video(split.video[rows, frames]), device=device),
        behavior=torch.as_tensor(norm.behavior(split.behavior[rows, frames]), device=device),
        responses=responses,
        mouse=mouse,
    )


class EncodingPlan:
    """The :class:`harness.contracts.TrainingPlan` of an encoding run: selects checkpoints on
    ``val_correlation`` (single-trial correlation on val, higher is better)."""

    selection_metric = "val_correlation"
    selection_label = "val correlation"
    higher_is_better = True

    def __init__(self, data: EncodingData, objective, window: int, batch_size: int, device: str, predict_stride: int = 1):
        check_window(data, window)
        self.data, self.objective, self.window, self.batch_size, self.device = data, objective, window, batch_size, device
        self.norms = [Normalisation.of(mouse.train) for mouse in data.mice]
        #: Each epoch's val windows do not overlap (each predicts all its frames, as every frame of
        #: a training window is in the loss): the frame-by-frame slide costs ``window`` forward
        #: frames per frame, too much to repeat every epoch; the record's scores slide.
        self.validation_stride = window
        self.steps_per_epoch = sum(max(1, math.ceil(mouse.train.n_trials / batch_size)) for mouse in data.mice)

    def epoch(self, model: torch.nn.Module, generator: torch.Generator) -> Iterator[torch.Tensor]:
        model.train()
        batches = []  # (mouse index, train trials of the batch)
        for index, mouse in enumerate(self.data.mice):
            order = torch.randperm(mouse.train.n_trials, generator=generator).numpy()
            batches += [(index, order[start : start + self.batch_size]) for start in range(0, len(order), self.batch_size)]
        for position in torch.randperm(len(batches), generator=generator).tolist():
            index, trials = batches[position]
            split = self.data.mice[index].train
            room = split.lengths[trials] - self.window + 1  # possible window starts per trial
            starts = (torch.rand(len(trials), generator=generator).numpy() * room).astype(np.int64)
            batch = self.objective.training_batch(_windows(split, self.norms[index], trials, starts, self.window, index, self.device), generator)
            yield self.objective.loss(model(batch.video, batch.behavior, batch.mouse), batch)

    def validate(self, model: torch.nn.Module) -> dict[str, float]:
        predicted, targets = [], []
        for index, mouse in enumerate(self.data.mice):
            predicted.append(predict_split(model, mouse.val, self.norms[index], self.window, index, self.device, self.validation_stride))
            targets.append(mouse.val)
        return {"val_correlation": pooled_correlation(predicted, targets, self.data.skip_frames)}


def pooled_correlation(predicted: list[np.ndarray], splits: list[EncodingSplit], skip_frames: int) -> float:
    """Single-trial correlation over the neurons of every mouse (each neuron counts once)."""
    per_neuron = [single_trial_correlation(s.responses, p, s.lengths, skip_frames, per_neuron=True) for p, s in zip(predicted, splits)]
    return float(np.mean(np.concatenate(per_neuron)))


def window_starts(length: int, window: int, stride: int = 1) -> np.ndarray:
    """Starts of the windows that cover a trial of ``length`` frames, every ``stride`` frames,
    the last one ending at the trial's last frame."""
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return np.asarray(starts, dtype=np.int64)


@torch.no_grad()
def predict_split(model: torch.nn.Module, split: EncodingSplit, norm: Normalisation, window: int, mouse: int, device: str, stride: int = 1) -> np.ndarray:
    """Responses (R, T, N) of every trial by sliding windows; padding frames are zero.

    With ``stride`` 1 each frame is predicted by the window that ends at it, and the frames
    before the first full window by the first window. A larger stride (the per-epoch validation's,
    ``stride`` times cheaper) lets each window predict the frames since the previous one ended.
    """
    model.eval()
    n_trials, n_frames = split.video.shape[:2]
    out: np.ndarray | None = None
    for trial in range(n_trials):
        length = int(split.lengths[trial])
        if length < window:  # a short trial: one window, padded past its end
            batch = _windows(split, norm, np.zeros(1, dtype=np.int64) + trial, np.zeros(1, dtype=np.int64), min(window, n_frames), mouse, device, False)
            frames = model(batch.video, batch.behavior, mouse)[0, :length].double().cpu().numpy()
        else:
            starts = window_starts(length, window, stride)
            pieces, covered = [], 0  # frames [0, covered) are predicted
            for first in range(0, len(starts), PREDICT_BATCH):
                chunk = starts[first : first + PREDICT_BATCH]
                batch = _windows(split, norm, np.full(len(chunk), trial), chunk, window, mouse, device, False)
                output = model(batch.video, batch.behavior, mouse).double().cpu().numpy()
                for start, predicted in zip(chunk, output):
                    end = int(start) + window
                    pieces.append(predicted[covered - int(start) :])
                    covered = end
            frames = np.concatenate(pieces, axis=0)
        if out is None:
            out = np.zeros((n_trials, n_frames, frames.shape[1]), dtype=np.float32)
        out[trial, :length] = frames
    if out is None:  # no trials
        return np.zeros((0, n_frames, 0), dtype=np.float32)
    return out


def predict_all(model: torch.nn.Module, data: EncodingData, window: int, device: str, stride: int = 1) -> EncodingPredictions:
    """Every split of every mouse, normalised with that mouse's train statistics: val and eval
    windows ``stride`` frames apart (1: frame by frame; what is scored and submitted), train by
    windows that do not overlap, as the per-epoch validation (no score reads train predictions;
    sliding over every train frame would cost more than several epochs)."""
    responses = {}
    for index, mouse in enumerate(data.mice):
        norm = Normalisation.of(mouse.train)
        strides = {"train": window, "val": stride, "eval": stride}
        responses[mouse.name] = {
            name: _empty_or(predict_split(model, mouse.split(name), norm, window, index, device, stride), mouse) for name, stride in strides.items()
        }
    return EncodingPredictions(responses)


def _empty_or(array: np.ndarray, mouse: MouseRecording) -> np.ndarray:
    """A split without trials still has the mouse's neuron count as its last axis."""
    return array if array.shape[0] else np.zeros((0, array.shape[1], mouse.n_neurons), dtype=np.float32)
