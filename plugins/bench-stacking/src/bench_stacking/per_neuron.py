"""Per-neuron selection: for each held-out unit, the mean of the k candidates that predict that
unit's val spikes best (by Poisson log-likelihood, the same order as per-unit bits per spike).

Held-in units and forward bins get the mean of all candidates: held-in spikes were the models'
inputs (and, with ``heldin_only_trials``, their training targets), so ranking on them would reward
memorising, and a per-unit choice made on observed bins says little about forecasting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bench_stacking.common import SPLITS, check_candidates, mean_rates, per_unit, per_unit_targets, poisson_log_likelihood
from harness.api import BenchError, DatasetTensors, Predictions


class PerNeuronEnsembler:
    def __init__(self, top: int):
        if top < 1:
            raise BenchError(f"ensembler 'per-neuron': top must be a positive count, got {top}")
        self.top = top
        self.chosen: dict[str, Any] = {}

    def combine(self, candidates: Sequence[Predictions], data: DatasetTensors) -> Predictions:
        check_candidates("per-neuron", candidates, data)
        rates = per_unit(candidates, "val").transpose(0, 2, 1)  # units, candidates, samples
        likelihood = poisson_log_likelihood(rates, per_unit_targets(data.val.heldout)[:, None, :])
        # likelihood: (units, candidates); the best first, ties to the earlier candidate
        order = np.argsort(-likelihood, axis=1, kind="stable")[:, : self.top]
        weights = np.zeros_like(likelihood)
        np.put_along_axis(weights, order, 1.0 / order.shape[1], axis=1)
        self.chosen = {"top": self.top, "used_per_unit": order.tolist()}
        combined = {}
        for split in SPLITS:
            rates = mean_rates(candidates, split)
            heldout = np.einsum("rtom,om->rto", np.stack([c.split(split).heldout for c in candidates], axis=-1), weights)
            combined[split] = dataclasses.replace(rates, heldout=heldout.astype(rates.heldout.dtype))
        return Predictions(**combined)


def build(config: Mapping[str, Any]) -> PerNeuronEnsembler:
    """The registered factory; ``config`` is the plugin's defaults merged with the user's."""
    return PerNeuronEnsembler(int(config["top"]))
