"""The video-encoding task (Sensorium 2023): video and behaviour in, each mouse's responses out.

A model gets ``window``-frame windows (the model config's ``window``, default 16; whole trials
are predicted by windows ``predict_stride`` frames apart, default 1) of one mouse at a time, normalised with the train split's statistics (harness.tasks.encoding.train); the trainer
selects checkpoints and stops early on the single-trial correlation on val
(``val_correlation``); whole trials are predicted by sliding windows, scored by
:func:`harness.tasks.encoding.metrics.score_encoding`, saved as npz (harness.tasks.encoding.io) and
exported per mouse by ``bench submit``; ``--folds K`` groups trials by video (harness.tasks.encoding.folds).
Torch loads only when a model is trained or predicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.contracts import ENCODING_TASK, EncodingData, EncodingModel, EncodingObjective, EncodingPredictions
from harness.errors import BenchError


def _trial_ids(data: EncodingData, split: str) -> list[int]:
    return [int(t) for mouse in data.mice for t in mouse.split(split).trial_ids]


class EncodingTask:
    """Single-trial correlation is the primary metric (the competition's), on eval when the
    dataset gives eval responses, else on val; ``val_correlation`` is the same figure on val."""

    name = ENCODING_TASK
    primary_metric = "single-trial correlation"
    validation_metric = "val_correlation"
    validation_label = "val correlation"
    predictions_file = "predictions.npz"
    submission_suffix = ""  # a folder, one file per mouse
    model_contract = EncodingModel
    objective_contract = EncodingObjective
    metric_order = (
        "single-trial correlation", "oracle single-trial correlation", "% of oracle", "correlation to average",
        "oracle correlation to average", "poisson loss", "oracle poisson loss", "val_correlation",
    )
    baseline_model = None
    report_figure = None

    def higher_is_better(self, metric: str) -> bool:
        return "loss" not in metric  # as score() marks each value

    def metric_definitions(self, metrics: Sequence[str]) -> list[str]:
        return []

    def check_data(self, data: Any) -> None:
        if not isinstance(data, EncodingData):
            raise BenchError(f"dataset '{getattr(data, 'name', '?')}' poses task {self.name} but is a {type(data).__name__}, not EncodingData")
        if not data.mice:
            raise BenchError(f"dataset '{data.name}': no mice")

    def describe(self, data: EncodingData) -> str:
        counts = " / ".join(f"{sum(m.split(s).n_trials for m in data.mice)} {s}" for s in ("train", "val", "eval"))
        return (
            f"dataset {data.name}: {len(data.mice)} mice, {counts} trials, {sum(m.n_neurons for m in data.mice)} neurons, "
            f"frames {data.frame_shape[0]}x{data.frame_shape[1]} at {data.frame_rate_hz:g} Hz, first {data.skip_frames} frames unscored"
        )

    def dataset_record(self, data: EncodingData) -> dict[str, Any]:
        # no bin size: frames are not bins (the frame rate is part of the dataset's config and checksum)
        return {"name": data.name, "checksum": data.checksum, "source": data.source}

    def model_shape(self, data: EncodingData, model_config: Mapping[str, Any], objective: Any):
        from harness.tasks.encoding.train import check_window, predict_stride_of, window_of

        window = window_of(model_config)
        check_window(data, window)
        return data.shape(window, predict_stride_of(model_config, window))

    def training_plan(self, data: EncodingData, shape, objective, config, device: str, seed: int):
        from harness.tasks.encoding.train import EncodingPlan

        return EncodingPlan(data, objective, shape.window, config.batch_size, device, shape.predict_stride)

    def predict(self, model, shape, objective, data: EncodingData, device: str) -> EncodingPredictions:
        from harness.tasks.encoding.train import predict_all

        return predict_all(model, data, shape.window, device, shape.predict_stride)

    def score(self, data: EncodingData, predictions: EncodingPredictions) -> dict[str, Any]:
        """The competition's metrics (:func:`harness.tasks.encoding.metrics.score_encoding`: single-trial
        correlation, correlation to average, Poisson loss, and the oracle's figures where the
        dataset knows the noise-free responses) on eval, or on val where eval responses are
        withheld; plus the single-trial correlation on val every run reports (``val_correlation``)."""
        from harness.tasks.encoding.metrics import score_encoding

        withheld = any(mouse.eval.responses is None or not mouse.eval.n_trials for mouse in data.mice)
        split = "val" if withheld else "eval"
        metrics = self._metric_values(data, score_encoding(data, predictions, split), split)
        on_val = score_encoding(data, predictions, "val")["single-trial correlation"]
        metrics[self.validation_metric] = self._metric_values(data, {"single-trial correlation": on_val}, "val")["single-trial correlation"]
        return metrics

    def _metric_values(self, data: EncodingData, scores: Mapping[str, float], split: str) -> dict[str, Any]:
        from harness.contracts import MetricValue

        trials = _trial_ids(data, split)
        n_neurons = sum(mouse.n_neurons for mouse in data.mice)
        where = f"pooled over the {n_neurons} neurons of {len(data.mice)} mice, frames from {data.skip_frames} on"
        notes = {
            "single-trial correlation": f"per neuron over every scored frame of every trial, then the mean, {where}",
            "correlation to average": f"per neuron over frames averaged across repeats of a video, then the mean, {where}",
            "poisson loss": f"prediction - response * log(prediction), mean per scored entry, {where}",
            "% of oracle": "single-trial correlation as a percentage of the oracle's (the noise-free responses as the prediction)",
        }
        values = {}
        for name, value in scores.items():
            note = notes.get(name) or notes.get(name.removeprefix("oracle "), "")
            if name.startswith("oracle "):
                note = f"the oracle: the noise-free (expected) responses as the prediction; {note}"
            finite = value is not None and bool(np.isfinite(value))
            values[name] = MetricValue(float(value) if finite else None, split, len(trials), trials, note, higher_is_better="loss" not in name)
        return values

    def validation_score(self, data: EncodingData, predictions: EncodingPredictions) -> float | None:
        """The single-trial correlation on val (the record's ``val_correlation``)."""
        from harness.tasks.encoding.metrics import score_encoding

        if any(mouse.val.responses is None or not mouse.val.n_trials for mouse in data.mice):
            return None
        value = score_encoding(data, predictions, "val")["single-trial correlation"]
        return float(value) if value is not None and np.isfinite(value) else None

    def render_report(self, record, data: EncodingData, predictions: EncodingPredictions) -> bytes:
        raise BenchError(f"task {self.name} draws no report figure")

    def score_submission(self, submission, target) -> None:
        return None  # the competition scored its own held-back responses; there is no target file to score against

    def save_predictions(self, predictions: EncodingPredictions, path) -> Path:
        from harness.tasks.encoding.io import save_predictions

        return save_predictions(predictions, path)

    def load_predictions(self, path) -> EncodingPredictions:
        from harness.tasks.encoding.io import load_predictions

        return load_predictions(path)

    def write_submission(self, data: EncodingData, predictions: EncodingPredictions, path) -> dict[str, tuple[int, ...]]:
        from harness.tasks.encoding.io import write_submission

        return write_submission(data, predictions, path)

    def submission_description(self, data: EncodingData) -> str:
        return (
            f"one <mouse>.npz per mouse ({', '.join(m.name for m in data.mice)}): int64 trial_indices, neuron_ids and lengths, "
            "float32 prediction (trials x neurons x scored frames, NaN past a trial's end)"
        )

    def write_kept_submission(self, data: EncodingData, predictions: EncodingPredictions, folder) -> None:
        """None: an encoding submission is a folder of files per mouse, not kept beside records."""
        return None

    def ranks_by_folds(self, data: EncodingData) -> int | None:
        """None: an encoding run is scored on its dataset's own split (K-fold rows are optional)."""
        return None

    def fold_split(self, data: EncodingData, fold: int, folds: int) -> EncodingData:
        from harness.tasks.encoding.folds import fold_split

        return fold_split(data, fold, folds)

    def to_dataset_layout(self, predictions: EncodingPredictions, data: EncodingData, fold: int, folds: int) -> EncodingPredictions:
        from harness.tasks.encoding.folds import to_dataset_layout

        return to_dataset_layout(predictions, data, fold, folds)

    def pool_folds(self, data: EncodingData, fold_predictions: Sequence[EncodingPredictions], eval_predictions: EncodingPredictions, folds: int):
        """Every labelled trial scored once, by the fold model that validated on it."""
        from harness.tasks.encoding.folds import out_of_fold, pooled_view
        from harness.store.records import record_metrics

        pooled = out_of_fold(list(fold_predictions), data, eval_predictions)
        view, view_predictions = pooled_view(data, pooled)
        scored = self.score(view, view_predictions)
        n_labelled = sum(mouse.train.n_trials + mouse.val.n_trials for mouse in data.mice)
        metrics = record_metrics(scored)
        for entry in metrics.values():
            if entry["split"] == "val":
                entry["split"] = f"{folds}-fold val"
                note = f"pooled over all {n_labelled} labelled trials, each predicted by the fold model that validated on it (folds grouped by video)"
                entry["note"] = f"{entry['note']}; {note}" if entry["note"] else note
        return metrics, pooled, n_labelled

    def ensemble_metrics(self, host, ensembler: str, settings, candidates, combined: EncodingPredictions, data: EncodingData, folds: int, seed: int):
        """Scored as any run: the encoding task serves only ensemblers that fit nothing on val
        (the mean of every member), so there is nothing to cross-fit."""
        return self.score(data, combined), {}, None


def build() -> EncodingTask:
    """The registered factory."""
    return EncodingTask()
