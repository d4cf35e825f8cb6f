"""The NLB co-smoothing task: held-in spikes in, rates of held-in and held-out units out.

Everything NLB-specific the core used to do inline lives behind this one object: the training
pool (held-in-only trials, sample validation), the co-smoothing view that scores val co-bps each
epoch, rates of every split, nlb_tools scoring, the predictions h5 and the NLB submission, folds
over labelled trials, and the cross-fitted scores of ensembles. Names the records already use
(``val_co_bps``, ``best_val_co_bps``, ``co-bps``) are kept, so old runs, checkpoints and
leaderboards read as before. Torch and nlb_tools load only when a method needs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.contracts import COSMOOTHING_TASK, DatasetTensors, Objective, Predictions, RateModel
from harness.errors import BenchError
from harness.tasks.nlb.glossary import METRIC_LABELS


#: The folds of the protocol where eval targets are withheld (issue #21): 5 over mc_maze_small's
#: 75 labelled trials, 15 trials a fold.
PROTOCOL_FOLDS = 5
#: The compact submission a pooled K-fold record keeps in its run folder.
KEPT_SUBMISSION = "submission.h5"


class CoSmoothingTask:
    """NLB'21 co-smoothing (with forward prediction where a dataset has forward bins)."""

    name = COSMOOTHING_TASK
    primary_metric = "co-bps"
    validation_metric = "val_co_bps"
    validation_label = "val co-bps"
    predictions_file = "predictions.h5"
    submission_suffix = ".h5"
    model_contract = RateModel
    objective_contract = Objective
    baseline_model = "smoothing"
    report_figure = "report.png"

    @property
    def metric_order(self) -> tuple[str, ...]:
        from harness.tasks.nlb.fewshot import FEWSHOT_K
        from harness.tasks.nlb.fewshot import metric_name as fewshot_metric_name

        return (
            "co-bps", "vel R2", "psth R2", "fp-bps", *(fewshot_metric_name(k) for k in FEWSHOT_K),
            "val_co_bps", "tp corr", "rate R2", "oracle co-bps",
        )

    def higher_is_better(self, metric: str) -> bool:
        return True  # every NLB'21 figure and bps[...] grows with quality

    def metric_definitions(self, metrics: Sequence[str]) -> list[str]:
        from harness.tasks.nlb.fewshot import FEWSHOT_K
        from harness.tasks.nlb.fewshot import definition as fewshot_definition
        from harness.tasks.nlb.fewshot import metric_name as fewshot_metric_name

        if any(fewshot_metric_name(k) in metrics for k in FEWSHOT_K):
            return [f"**k-shot co-bps** (few-shot co-smoothing): {fewshot_definition()}"]
        return []

    #: record metric -> the label a board shows ("val_co_bps" -> "val co-bps")
    metric_labels = METRIC_LABELS

    def metric_glossary(self, metrics: Sequence[str]) -> dict[str, str]:
        """metric -> a one-line explanation (a board's header tooltips and list of terms)."""
        from harness.tasks.nlb.glossary import glossary

        return glossary(metrics)

    def display_note(self, metric: str, entry: Mapping[str, Any]) -> str:
        """A recorded metric's note as a board shows it (harness.tasks.nlb.glossary)."""
        from harness.tasks.nlb.glossary import display_note

        return display_note(metric, entry)

    def check_data(self, data: Any) -> None:
        if not isinstance(data, DatasetTensors):
            raise BenchError(f"dataset '{getattr(data, 'name', '?')}' poses task {self.name} but is a {type(data).__name__}, not DatasetTensors")

    def describe(self, data: DatasetTensors) -> str:
        return (
            f"dataset {data.name}: {data.train.n_trials} train / {data.val.n_trials} val / {data.eval.n_trials} eval trials, "
            f"{data.n_heldin} held-in + {data.n_heldout} held-out units, {data.n_bins}+{data.n_forward} bins of {data.bin_size_ms} ms"
        )

    def dataset_record(self, data: DatasetTensors) -> dict[str, Any]:
        return {"name": data.name, "checksum": data.checksum, "bin_size_ms": data.bin_size_ms, "source": data.source}

    def model_shape(self, data: DatasetTensors, model_config: Mapping[str, Any], objective: Objective | None):
        shape = data.shape()
        return shape if objective is None else replace(shape, n_prompts=max(1, objective.n_prompts))

    def training_plan(self, data: DatasetTensors, shape, objective: Objective, config, device: str, seed: int):
        from harness.tasks.nlb.plan import CoSmoothingPlan

        return CoSmoothingPlan(data, objective, config, device, seed)

    def predict(self, model, shape, objective: Objective | None, data: DatasetTensors, device: str) -> Predictions:
        """Rates of every split under the objective's inference view (the co-smoothing view for a
        closed-form baseline), with the bps of the objective's own eval masks on val."""
        import numpy as np

        from harness.tasks.nlb.predict import default_view, make_batch, masked_bps, predict_all

        view = objective.inference_batch if objective is not None else default_view
        predictions = predict_all(model, view, data, device)
        if objective is None:
            return predictions
        val_batch = make_batch(data.val, np.arange(data.val.n_trials), data, device)
        mask_bps = {
            mask: masked_bps(model, lambda batch, mask=mask: objective.eval_batch(batch, mask), val_batch)
            for mask in objective.eval_masks
        }
        return replace(predictions, mask_bps=mask_bps)

    def score(self, data: DatasetTensors, predictions: Predictions):
        from harness.tasks.nlb.metrics import score

        return score(data, predictions)

    def validation_score(self, data: DatasetTensors, predictions: Predictions) -> float | None:
        """nlb_tools bits per spike of the val held-out units (the record's ``val_co_bps``)."""
        import math

        from harness.tasks.nlb.bits import nlb_bits_per_spike

        if data.val.heldout is None or not data.val.n_trials:
            return None
        value = nlb_bits_per_spike(predictions.val.heldout, data.val.heldout)
        return value if math.isfinite(value) else None

    def render_report(self, record, data: DatasetTensors, predictions: Predictions) -> bytes:
        from harness.tasks.nlb.report import render_report

        return render_report(record, data, predictions)

    def score_submission(self, submission, target) -> dict[str, dict[str, float]]:
        """nlb_tools' ``evaluate`` of an NLB/EvalAI submission h5 against an eval-target h5."""
        from harness.tasks.nlb.submission import score_submission

        return score_submission(submission, target)

    def save_predictions(self, predictions: Predictions, path) -> Path:
        from harness.tasks.nlb.submission import save_predictions

        return save_predictions(predictions, path)

    def load_predictions(self, path) -> Predictions:
        from harness.tasks.nlb.submission import load_predictions

        return load_predictions(path)

    def write_submission(self, data: DatasetTensors, predictions: Predictions, path) -> dict[str, tuple[int, ...]]:
        from harness.tasks.nlb.submission import write_submission

        return write_submission(data, predictions, path)

    def write_kept_submission(self, data: DatasetTensors, predictions: Predictions, folder) -> Path | None:
        """The eval rates as ``bench submit`` writes them (gzip h5, no train rates: ~2 MB on
        mc_maze_small), in ``folder/submission.h5``; None for data without a submission name."""
        from harness.tasks.nlb.submission import write_submission

        if not data.submission_name:
            return None
        path = Path(folder) / KEPT_SUBMISSION
        write_submission(data, predictions, path, eval_only=True)
        return path

    def submission_description(self, data: DatasetTensors) -> str:
        return f"group '{data.submission_name}' (float32 rates)"

    def limit_train_trials(self, data: DatasetTensors, n_trials: int) -> DatasetTensors:
        """``train.max_train_trials``: the first ``n_trials`` of a fixed order of train trials."""
        from harness.tasks.nlb.trials import limit_train_trials

        return limit_train_trials(data, n_trials)

    def ranks_by_folds(self, data: DatasetTensors) -> int | None:
        """Eval targets withheld (NLB's public files): the labelled trials are all there is to
        rank on, so boards rank pooled K-fold rows and searches select on them."""
        return PROTOCOL_FOLDS if data.eval.heldout is None else None

    def fold_split(self, data: DatasetTensors, fold: int, folds: int) -> DatasetTensors:
        from harness.tasks.nlb.folds import fold_split

        return fold_split(data, fold, folds)

    def to_dataset_layout(self, predictions: Predictions, data: DatasetTensors, fold: int, folds: int) -> Predictions:
        from harness.tasks.nlb.folds import to_dataset_layout

        return to_dataset_layout(predictions, data, fold, folds)

    def pool_folds(self, data: DatasetTensors, fold_predictions: Sequence[Predictions], eval_predictions: Predictions, folds: int):
        """Out-of-fold rates of every labelled trial scored once with nlb_tools; a dataset that
        withholds its eval targets also gets the co-bps with eval-sized null rates."""
        from harness.tasks.nlb.crossval import pool_folds

        return pool_folds(data, fold_predictions, eval_predictions, folds)

    def ensemble_metrics(self, host, ensembler: str, settings, candidates, combined: Predictions, data: DatasetTensors, folds: int, seed: int):
        """Val metrics cross-fitted over folds of val trials (an ensembler may fit on val targets),
        with the in-sample val co-bps beside them; plain scores when val has no targets."""
        from harness.tasks.nlb.ensembles import ensemble_metrics

        return ensemble_metrics(host, ensembler, settings, candidates, combined, data, folds, seed)


    def ensemble_folds(self, host, ensembler: str, settings, candidates, data: DatasetTensors, folds: int):
        """K-fold members combined on their out-of-fold rates, cross-fitted over their training
        folds: (predictions, metrics, chosen, the record's ``folds``)."""
        from harness.tasks.nlb.fold_ensembles import fold_ensemble

        return fold_ensemble(host, ensembler, settings, candidates, data, folds)

def build() -> CoSmoothingTask:
    """The registered factory."""
    return CoSmoothingTask()
