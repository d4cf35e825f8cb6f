"""The mean ensembler: average predicted rates over candidates, optionally only the best N on val."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.contracts import DatasetTensors, Predictions, SplitRates
from harness.errors import BenchError
from harness.metrics import nlb_bits_per_spike

SPLITS = ("train", "val", "eval")


def val_co_bps(candidate: Predictions, data: DatasetTensors) -> float:
    """A candidate's co-bps on the val split's held-out units (what every run reports)."""
    return float(nlb_bits_per_spike(candidate.val.heldout, data.val.heldout))


def mean_rates(candidates: Sequence[Predictions], split: str) -> SplitRates:
    arrays = [candidate.split(split).arrays() for candidate in candidates]
    return SplitRates(**{key: np.mean([a[key] for a in arrays], axis=0) for key in arrays[0]})


class MeanEnsembler:
    """``combine`` returns the mean rates; ``chosen`` then says which candidates it used and why."""

    def __init__(self, top: int):
        if top < 0:
            raise BenchError(f"ensembler 'mean': top must be 0 (all) or a positive count, got {top}")
        self.top = top
        self.chosen: dict[str, Any] = {}

    def combine(self, candidates: Sequence[Predictions], data: DatasetTensors) -> Predictions:
        if not candidates:
            raise BenchError("ensembler 'mean' needs at least one candidate")
        scores = None
        if data.val.heldout is not None:
            scores = [val_co_bps(candidate, data) for candidate in candidates]
        used = list(range(len(candidates)))
        if self.top:
            if scores is None:
                raise BenchError(f"ensembler 'mean' with top={self.top} ranks on val co-bps, but '{data.name}' has no val held-out spikes")
            used = sorted(used, key=lambda i: -scores[i])[: self.top]
        self.chosen = {"used": used, "candidate_val_co_bps": scores}
        members = [candidates[i] for i in used]
        return Predictions(**{split: mean_rates(members, split) for split in SPLITS})


def build(config: Mapping[str, Any]) -> MeanEnsembler:
    """The registered factory; ``config`` is the plugin's defaults merged with the user's."""
    return MeanEnsembler(int(config["top"]))
