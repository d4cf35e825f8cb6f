"""The session-set task (``nlb_sessions``): NLB co-smoothing in every session of a
:class:`harness.sessions.SessionSet`, one model with per-session read-in and read-out.

Models and objectives registered for NLB co-smoothing serve it (``component_task``): the model
must also be registered ``sessions=True``, the objective is built once per session. A run on a
set is a pretraining run; it is scored session by session (``co-bps [s03]``) and by the mean over
sessions (``co-bps``). What is NLB-submission-shaped (submit, folds, ensembles, report) belongs to
runs on one session, an ordinary dataset: it is refused here in one line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from harness.contracts import COSMOOTHING_TASK
from harness.errors import BenchError
from harness.sessions import SESSIONS_TASK, MultiSessionModel, SessionObjectives, SessionSet, SessionShapes
from harness.tasks.nlb.glossary import METRIC_LABELS



def _one_session(what: str) -> BenchError:
    return BenchError(f"{what} is not defined for a session set: run it on one session (--dataset SET:SESSION)")


class SessionsTask:
    name = SESSIONS_TASK
    #: The task whose models and objectives serve this one (harness.plugin.host.Host.check_serves).
    component_task = COSMOOTHING_TASK
    primary_metric = "co-bps"
    validation_metric = "val_co_bps"
    validation_label = "val co-bps (mean over sessions)"
    predictions_file = "predictions.npz"
    submission_suffix = ".h5"
    model_contract = MultiSessionModel
    objective_contract = SessionObjectives
    baseline_model = None
    report_figure = None
    metric_order = ("co-bps", "fp-bps", "vel R2", "psth R2", "val_co_bps", "oracle co-bps", "rate R2")
    metric_labels = METRIC_LABELS

    def higher_is_better(self, metric: str) -> bool:
        return True

    def metric_definitions(self, metrics: Sequence[str]) -> list[str]:
        return ["**co-bps** and the other plain metrics of a session set: the mean over its sessions; `co-bps [s03]` is session s03's own."]

    def check_data(self, data: Any) -> None:
        if not isinstance(data, SessionSet):
            raise BenchError(f"dataset '{getattr(data, 'name', '?')}' poses task {self.name} but is a {type(data).__name__}, not a SessionSet")

    def describe(self, data: SessionSet) -> str:
        units = ", ".join(f"{s.name} {s.data.n_heldin}+{s.data.n_heldout}" for s in data.sessions[:6])
        more = f", ... ({len(data.sessions)} sessions)" if len(data.sessions) > 6 else ""
        trials = sum(s.data.train.n_trials for s in data.sessions)
        return f"session set {data.name}: {len(data.sessions)} sessions, {trials} train trials, units (held-in+held-out) {units}{more}"

    def dataset_record(self, data: SessionSet) -> dict[str, Any]:
        return {"name": data.name, "checksum": data.checksum, "bin_size_ms": data.bin_size_ms, "source": data.source, "sessions": list(data.names)}

    def model_shape(self, data: SessionSet, model_config: Mapping[str, Any], objective: SessionObjectives | None) -> SessionShapes:
        if objective is None:
            raise BenchError("a session set trains by gradient descent: closed-form baselines fit one session (--dataset SET:SESSION)")
        shapes = tuple(dataclasses.replace(s.data.shape(), n_prompts=max(1, objective.n_prompts)) for s in data.sessions)
        return SessionShapes(data.names, shapes)

    def training_plan(self, data: SessionSet, shape, objective: SessionObjectives, config, device: str, seed: int):
        from harness.tasks.sessions.plan import SessionsPlan

        return SessionsPlan(data, objective, config, device, seed)

    def predict(self, model, shape: SessionShapes, objective: SessionObjectives, data: SessionSet, device: str):
        from harness.tasks.nlb.task import CoSmoothingTask
        from harness.tasks.sessions.bound import BoundSession
        from harness.tasks.sessions.predictions import SessionPredictions

        single = CoSmoothingTask()
        return SessionPredictions({
            session.name: single.predict(BoundSession(model, index), shape.shapes[index], objective[index], session.data, device)
            for index, session in enumerate(data.sessions)
        })

    def score(self, data: SessionSet, predictions):
        from harness.tasks.sessions.predictions import score_sessions

        return score_sessions(data, predictions)

    def validation_score(self, data: SessionSet, predictions) -> float | None:
        from harness.tasks.nlb.task import CoSmoothingTask

        values = [CoSmoothingTask().validation_score(s.data, predictions.by_session[s.name]) for s in data.sessions]
        return None if any(v is None for v in values) else sum(values) / len(values)

    def save_predictions(self, predictions, path):
        from harness.tasks.sessions.predictions import save_session_predictions

        return save_session_predictions(predictions, path)

    def load_predictions(self, path):
        from harness.tasks.sessions.predictions import load_session_predictions

        return load_session_predictions(path)

    def limit_train_trials(self, data: SessionSet, n_trials: int) -> SessionSet:
        """Every session trained on ``n_trials`` of its train trials (harness.tasks.nlb.trials)."""
        from harness.tasks.nlb.trials import limit_train_trials

        sessions = tuple(dataclasses.replace(s, data=limit_train_trials(s.data, n_trials)) for s in data.sessions)
        return dataclasses.replace(data, sessions=sessions)

    # -- what belongs to runs on one session ---------------------------------------------------
    def render_report(self, record, data, predictions) -> bytes:
        raise _one_session("a report figure")

    def score_submission(self, submission, target):
        return None

    def write_submission(self, data, predictions, path):
        raise _one_session("an NLB submission")

    def write_kept_submission(self, data, predictions, folder):
        return None

    def submission_description(self, data) -> str:
        raise _one_session("an NLB submission")

    def ranks_by_folds(self, data) -> int | None:
        return None

    def fold_split(self, data, fold: int, folds: int):
        raise _one_session("--folds")

    def to_dataset_layout(self, predictions, data, fold: int, folds: int):
        raise _one_session("--folds")

    def pool_folds(self, data, fold_predictions, eval_predictions, folds: int):
        raise _one_session("--folds")

    def ensemble_metrics(self, host, ensembler, settings, candidates, combined, data, folds, seed):
        raise _one_session("bench ensemble")


def build() -> SessionsTask:
    """The registered factory."""
    return SessionsTask()
