"""A run's identity and place on disk, handed to lifecycle hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.store.home import runs_dir
from harness.specs import RunSpec


@dataclass
class RunContext:
    spec: RunSpec
    run_id: str
    run_dir: Path
    device: str
    #: The run's dataset as its task reads it (DatasetTensors, EncodingData), set once loaded.
    data: Any = None
    #: The run's TrainingPlan once built (None for closed-form baselines): ``plan.selection_metric``
    #: names the figure it selects checkpoints by, logged each epoch with its ``best_`` twin.
    plan: Any = None
    #: Set by hooks or the trainer: free-form facts a plugin wants to keep with the run.
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_spec(cls, spec: RunSpec, device: str) -> RunContext:
        run_id = spec.run_id()
        return cls(spec=spec, run_id=run_id, run_dir=runs_dir() / run_id, device=device)

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / "last.pt"

    @property
    def best_checkpoint(self) -> Path:
        return self.run_dir / "best.pt"

    @property
    def best_loss_checkpoint(self) -> Path:
        """The weights with the lowest training-objective loss on val (``best_checkpoint`` is best on
        the task's selection metric); tasks without a val loss write none."""
        return self.run_dir / "best_loss.pt"


def choose_device(requested: str | None) -> str:
    """CUDA when present, else CPU; ``requested`` ("cpu", "cuda", "cuda:1") overrides."""
    import torch

    from harness.errors import BenchError

    if requested in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"--device {requested}: CUDA is not available on this machine (use --device cpu)")
    try:
        torch.device(requested)
    except RuntimeError as error:
        raise BenchError(f"--device {requested}: {error}") from None
    return requested
