"""A session set's predictions (one NLB Predictions per session), their scores and their file."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.contracts import MetricValue, Predictions
from harness.errors import BenchError
from harness.sessions import SessionSet

#: What a session-set predictions file says it is (an npz: the flat arrays and the mask bps).
PREDICTIONS_FORMAT = "bench-harness session predictions"


@dataclass(frozen=True)
class SessionPredictions:
    """``by_session[name]`` is that session's Predictions (its own units' rates)."""

    by_session: Mapping[str, Predictions]

    def flat(self) -> dict[str, np.ndarray]:
        """Every rate array by ``<session>/<split>/<field>`` (what a task-neutral ensembler averages)."""
        return {f"{name}/{key}": array for name, predictions in self.by_session.items() for key, array in predictions.flat().items()}

    @classmethod
    def from_flat(cls, arrays: Mapping[str, np.ndarray]) -> SessionPredictions:
        grouped: dict[str, dict[str, np.ndarray]] = {}
        for key, array in arrays.items():
            name, _, rest = key.partition("/")
            grouped.setdefault(name, {})[rest] = array
        return cls({name: Predictions.from_flat(flat) for name, flat in grouped.items()})


def session_metric(name: str, session: str) -> str:
    """The record metric of one session's figure: ``co-bps [s03]``."""
    return f"{name} [{session}]"


def score_sessions(data: SessionSet, predictions: SessionPredictions) -> dict[str, MetricValue]:
    """Every session scored as an ordinary NLB dataset (``co-bps [s03]``, ...), and each metric
    every session has a value of as the mean over sessions under its plain name (``co-bps``)."""
    from harness.tasks.nlb.metrics import score

    results: dict[str, MetricValue] = {}
    per_session = {session.name: score(session.data, predictions.by_session[session.name]) for session in data.sessions}
    for session, metrics in per_session.items():
        for name, value in metrics.items():
            results[session_metric(name, session)] = value
    first = next(iter(per_session.values()))
    for name, value in first.items():
        values = [metrics.get(name) for metrics in per_session.values()]
        if any(v is None or v.value is None for v in values):
            continue
        results[name] = MetricValue(
            value=float(np.mean([v.value for v in values])),
            split=value.split,
            n_trials=int(sum(v.n_trials for v in values)),
            trials=[trial for v in values for trial in v.trials],  # session by session (each numbers its own)
            note=f"mean over the {len(values)} sessions ({', '.join(per_session)}); each session's as '{session_metric(name, 'SESSION')}'",
            higher_is_better=value.higher_is_better,
        )
    return results


def save_session_predictions(predictions: SessionPredictions, path: str | Path) -> Path:
    from harness.store.atomic import write_bytes

    mask_bps = {name: {k: float(v) for k, v in p.mask_bps.items()} for name, p in predictions.by_session.items()}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{key: np.asarray(a, dtype=np.float32) for key, a in predictions.flat().items()},
                        __format__=np.array(PREDICTIONS_FORMAT), __mask_bps__=np.array(json.dumps(mask_bps, sort_keys=True)))
    write_bytes(path, buffer.getvalue())
    return Path(path)


def load_session_predictions(path: str | Path) -> SessionPredictions:
    from dataclasses import replace

    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{path}: no such predictions file")
    with np.load(path) as file:
        if "__format__" not in file or str(file["__format__"]) != PREDICTIONS_FORMAT:
            raise BenchError(f"{path}: not a bench-harness session predictions file")
        mask_bps = json.loads(str(file["__mask_bps__"]))
        arrays = {key: file[key] for key in file.files if not key.startswith("__")}
    loaded = SessionPredictions.from_flat(arrays)
    return SessionPredictions({name: replace(p, mask_bps=mask_bps.get(name, {})) for name, p in loaded.by_session.items()})
