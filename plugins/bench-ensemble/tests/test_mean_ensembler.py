"""The mean ensembler: the conformance kit, ranking by val co-bps, and its arithmetic."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench_ensemble.mean import build, val_co_bps
from harness.api import BenchError, Predictions
from harness.testing import EnsemblerContract, make_tiny_dataset


class TestMeanContract(EnsemblerContract):
    name = "mean"


class TestMeanOfTopTwoContract(EnsemblerContract):
    name = "mean"
    config = {"top": 2}


def scaled(candidate: Predictions, factor: float) -> Predictions:
    """The same candidate with every rate multiplied by ``factor`` (worse the further from 1)."""
    def split(name):
        rates = candidate.split(name)
        return dataclasses.replace(rates, **{key: array * factor for key, array in rates.arrays().items()})

    return Predictions(train=split("train"), val=split("val"), eval=split("eval"))


def test_mean_of_all_is_the_elementwise_mean():
    data = make_tiny_dataset()
    candidates = EnsemblerContract.candidates(data, n=3)
    combined = build({"top": 0}).combine(candidates, data)
    for split in ("train", "val", "eval"):
        expected = np.mean([c.split(split).heldout for c in candidates], axis=0)
        np.testing.assert_allclose(combined.split(split).heldout, expected)


def test_top_keeps_the_candidates_best_on_val_and_says_so():
    data = make_tiny_dataset()
    truth = EnsemblerContract.candidates(data, n=1)[0]
    candidates = [scaled(truth, 3.0), scaled(truth, 1.0), scaled(truth, 0.2), scaled(truth, 1.1)]
    ensembler = build({"top": 2})
    combined = ensembler.combine(candidates, data)
    scores = [val_co_bps(c, data) for c in candidates]
    assert ensembler.chosen["used"] == sorted(range(4), key=lambda i: -scores[i])[:2] == [1, 3]
    assert ensembler.chosen["candidate_val_co_bps"] == pytest.approx(scores)
    np.testing.assert_allclose(combined.eval.heldout, truth.eval.heldout * 1.05)


def test_top_needs_val_targets_and_a_sane_count():
    data = make_tiny_dataset()
    candidates = EnsemblerContract.candidates(data, n=2)
    without_val = dataclasses.replace(data, val=dataclasses.replace(data.val, heldout=None))
    with pytest.raises(BenchError, match="no val held-out spikes"):
        build({"top": 1}).combine(candidates, without_val)
    with pytest.raises(BenchError, match="top must be"):
        build({"top": -1})
