"""Fine-tuning: a run that starts from the shared core of a finished run (``--init-from RUN_ID``).

The pretraining run is an ordinary run on a session set; the fine-tuning run is an ordinary run
on a new session (an ordinary dataset) whose model, registered ``sessions=True``, is built with
one session (:meth:`harness.sessions.SessionShapes.single`): its own read-in, read-out and token,
and the core loaded from the pretraining run's best checkpoint. With
``train.freeze_core_steps`` the first updates train only the new session's layers. Refused in one
line: a run id not in the results store, a run of another model, a core of another width.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.errors import BenchError
from harness.sessions import MultiSessionModel, SessionShapes


def pretrained_record(records: Iterable[Mapping[str, Any]], run_id: str, model: str, model_supports_sessions: bool) -> Mapping[str, Any]:
    """The finished run ``run_id`` a run of ``model`` starts from, refused in one line unless it
    is in the store, trained the same model, and that model stitches sessions."""
    record = next((r for r in records if r["run_id"] == run_id), None)
    if record is None:
        raise BenchError(f"--init-from {run_id}: no such run in the results store (bench results lists them)")
    if record["model"] != model:
        raise BenchError(f"--init-from {run_id}: that run trained model '{record['model']}', this run's model is '{model}'")
    if not model_supports_sessions:
        raise BenchError(f"--init-from: model '{model}' has no shared core to load (it is not registered sessions=True)")
    if not record["paths"].get("checkpoint"):
        raise BenchError(f"--init-from {run_id}: that run kept no checkpoint")
    return record


def one_session_shape(shape: Any, name: str) -> SessionShapes:
    """What the fine-tuning model is built with: the run's own shape as a set of one session."""
    return shape if isinstance(shape, SessionShapes) else SessionShapes.single(shape, name)


def load_core(model: Any, record: Mapping[str, Any], device: str) -> int:
    """Load the core weights of ``record``'s best checkpoint into ``model``; the number loaded.
    A tensor of another shape (another width, depth, ff size) is refused naming the first."""
    from pathlib import Path

    from harness.run.checkpoints import load_checkpoint

    if not isinstance(model, MultiSessionModel):
        raise BenchError(f"--init-from: the model built ({type(model).__name__}) has no core_keys(): it does not honour MultiSessionModel")
    path = Path(record["paths"]["checkpoint"])
    if not path.is_file():
        raise BenchError(f"--init-from {record['run_id']}: its checkpoint {path} is gone")
    state = load_checkpoint(path, device)["model"]
    own = model.state_dict()
    core = model.core_keys()
    missing = [key for key in core if key not in state]
    if missing:
        raise BenchError(f"--init-from {record['run_id']}: its checkpoint has no core weight '{missing[0]}' (a model of another depth or kind)")
    for key in core:
        if tuple(state[key].shape) != tuple(own[key].shape):
            raise BenchError(
                f"--init-from {record['run_id']}: its core has another width: '{key}' is {tuple(state[key].shape)} there, "
                f"{tuple(own[key].shape)} here (use the pretraining run's model settings)"
            )
    model.load_state_dict({key: state[key] for key in core}, strict=False)
    return len(core)


def core_parameters(model: Any) -> list[Any]:
    """The parameters of the model's core (what ``train.freeze_core_steps`` holds fixed)."""
    core = set(model.core_keys())
    return [parameter for name, parameter in model.named_parameters() if name in core]


def provenance(record: Mapping[str, Any], n_loaded: int, freeze_core_steps: int) -> dict[str, Any]:
    """The fine-tuning record's ``pretrained`` entry: which run, on what, what was loaded."""
    return {
        "run_id": record["run_id"],
        "model": record["model"],
        "dataset": record["dataset"]["name"],
        # a set's record lists its sessions; a run on one session names it in its dataset config
        "sessions": list(record["dataset"].get("sessions") or record["dataset"]["config"].get("sessions") or []),
        "checkpoint": record["paths"]["checkpoint"],
        "core_tensors": n_loaded,
        "freeze_core_steps": freeze_core_steps,
    }
