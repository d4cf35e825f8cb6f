"""The mean ensembler: average predictions over candidates (any task's, through the harness'
task-neutral averaging), optionally only the best N on val co-bps (NLB co-smoothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.api import BenchError, DatasetTensors, Predictions, average_predictions, nlb_bits_per_spike


def val_co_bps(candidate: Predictions, data: DatasetTensors) -> float:
    """A candidate's co-bps on the val split's held-out units (what every run reports)."""
    return float(nlb_bits_per_spike(candidate.val.heldout, data.val.heldout))


class MeanEnsembler:
    """``combine`` returns the mean predictions; ``chosen`` then says which candidates it used and why."""

    def __init__(self, top: int):
        if top < 0:
            raise BenchError(f"ensembler 'mean': top must be 0 (all) or a positive count, got {top}")
        self.top = top
        self.chosen: dict[str, Any] = {}

    def combine(self, candidates: Sequence[Any], data: Any) -> Any:
        if not candidates:
            raise BenchError("ensembler 'mean' needs at least one candidate")
        scores = None
        if isinstance(data, DatasetTensors) and data.val.heldout is not None:  # rates with val co-bps to rank by
            scores = [val_co_bps(candidate, data) for candidate in candidates]
        used = list(range(len(candidates)))
        if self.top:
            if scores is None:
                raise BenchError(f"ensembler 'mean' with top={self.top} ranks on val co-bps, but '{data.name}' has no val held-out spikes")
            used = sorted(used, key=lambda i: -scores[i])[: self.top]
        self.chosen = {"used": used, "candidate_val_co_bps": scores}
        return average_predictions([candidates[i] for i in used])


def build(config: Mapping[str, Any]) -> MeanEnsembler:
    """The registered factory; ``config`` is the plugin's defaults merged with the user's."""
    return MeanEnsembler(int(config["top"]))
