"""harness.tasks.nlb.metrics: the nlb_tools adapter against nlb's own evaluate, and what nlb_tools lacks."""

from __future__ import annotations


import numpy as np
import pytest
from nlb_tools import evaluation
from scipy.special import gammaln

from harness.tasks.nlb import metrics
from harness.contracts import Predictions, SplitRates
from harness.tasks.nlb.submission import write_submission

import fixtures.synthetic_nlb as fx




@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """A dataset with eval targets, its predictions, and what nlb's evaluate says of them."""
    folder = tmp_path_factory.mktemp("nlb")
    data = fx.make_dataset(seed=3)
    predictions = fx.make_predictions(data)
    submission = folder / "submission.h5"
    target = fx.write_target(data, folder / "target.h5")
    write_submission(data, predictions, submission)
    result = evaluation.evaluate(str(target), str(submission))
    nlb_scores = {key.removeprefix("[100] "): value for key, value in result[0]["mc_maze_scaling_split"].items()}
    return data, predictions, submission, target, nlb_scores


def test_score_equals_nlb_evaluate(evaluated):
    data, predictions, _, _, nlb_scores = evaluated
    assert set(nlb_scores) == {"co-bps", "vel R2", "psth R2", "fp-bps"}
    scores = metrics.score(data, predictions)
    for name, expected in nlb_scores.items():
        assert scores[name].value == pytest.approx(expected, rel=1e-9, abs=1e-12), name
        assert scores[name].split == "eval"
        assert scores[name].trials == [int(i) for i in data.eval.trial_ids]
        assert scores[name].n_trials == data.eval.n_trials


def test_adapter_group_scores_equal_nlb_evaluate(evaluated):
    import h5py

    _, _, submission, target, nlb_scores = evaluated
    with h5py.File(target) as t, h5py.File(submission) as s:
        ours = metrics.nlb_group_scores(t["mc_maze_small"], s["mc_maze_small"])
    assert ours.keys() == nlb_scores.keys()
    for name, expected in nlb_scores.items():
        assert ours[name] == pytest.approx(expected, rel=1e-12), name


def test_withheld_eval_scores_on_val_and_says_so():
    data = fx.make_dataset(seed=4, eval_targets=False)
    predictions = fx.make_predictions(data)
    scores = metrics.score(data, predictions)
    expected = evaluation.bits_per_spike(predictions.val.heldout.astype(float), data.val.heldout.astype(float))
    for name in ("co-bps", "val_co_bps"):
        assert scores[name].split == "val"
        assert scores[name].value == pytest.approx(expected, rel=1e-12)
        assert scores[name].trials == [int(i) for i in data.val.trial_ids]
    assert "withheld" in scores["co-bps"].note
    assert scores["fp-bps"].split == "val"
    # velocity: cross-validated over every train+val trial, in trial-id order
    assert scores["vel R2"].split == "train+val"
    assert scores["vel R2"].trials == sorted(int(i) for i in np.concatenate([data.train.trial_ids, data.val.trial_ids]))
    assert scores["vel R2"].value is not None and -1 < scores["vel R2"].value <= 1
    assert scores["psth R2"].split == "val" and scores["psth R2"].value is not None


def test_cross_validated_velocity_uses_nlb_decoder_per_fold():
    from sklearn.model_selection import KFold

    data = fx.make_dataset(seed=5, eval_targets=False)
    predictions = fx.make_predictions(data)
    order = np.argsort(np.concatenate([data.train.trial_ids, data.val.trial_ids]))
    all_rates = np.concatenate(
        [np.concatenate([p.heldin, p.heldout], axis=-1) for p in (predictions.train, predictions.val)]
    )[order]
    behavior = fx.merged_train(data, "behavior")
    flat = lambda a: a.reshape(-1, a.shape[-1]).astype(float)  # noqa: E731
    folds = KFold(n_splits=metrics.VELOCITY_CV_FOLDS, shuffle=True, random_state=metrics.VELOCITY_CV_SEED).split(all_rates)
    expected = np.mean(
        [evaluation.fit_and_eval_decoder(flat(all_rates[a]), flat(behavior[a]), flat(all_rates[b]), flat(behavior[b])) for a, b in folds]
    )
    assert metrics.score(data, predictions)["vel R2"].value == pytest.approx(expected, rel=1e-12)


def test_uncomputable_metrics_are_none_with_a_reason():
    data = fx.make_dataset(seed=6, eval_targets=False, with_behavior=False, metrics=("co-bps", "vel R2", "tp corr", "made-up"))
    scores = metrics.score(data, fx.make_predictions(data))
    assert scores["vel R2"].value is None and "behaviour" in scores["vel R2"].note
    assert scores["tp corr"].value is None and scores["tp corr"].note
    assert scores["made-up"].value is None and "no scorer" in scores["made-up"].note
    # only what the dataset lists, plus val_co_bps and few-shot co-bps; no ground truth here
    assert set(scores) == {"co-bps", "vel R2", "tp corr", "made-up", "val_co_bps", "16-shot co-bps", "32-shot co-bps", "64-shot co-bps"}


def test_masked_bps_equals_a_hand_computation():
    rng = np.random.default_rng(0)
    spikes = rng.poisson(0.4, size=(3, 6, 4)).astype(float)
    rates = rng.uniform(0.1, 1.0, size=spikes.shape)
    mask = rng.random(spikes.shape) < 0.6
    # By hand: Poisson log-likelihood of the rates minus that of each unit's mean rate over the
    # scored entries, in bits, per scored spike.
    log_lik = lambda r, k: k * np.log(r) - r - gammaln(k + 1)  # noqa: E731
    gain = 0.0
    for unit in range(spikes.shape[-1]):
        scored = mask[..., unit]
        k = spikes[..., unit][scored]
        null = k.mean()
        gain += log_lik(rates[..., unit][scored], k).sum() - log_lik(np.full_like(k, null), k).sum()
    expected = gain / spikes[mask].sum() / np.log(2)
    assert metrics.masked_bps(rates, spikes, mask) == pytest.approx(expected, rel=1e-12)
    # all-true mask is plain bits per spike; the inputs are left untouched
    before = rates.copy()
    assert metrics.masked_bps(rates, spikes, np.ones_like(mask)) == pytest.approx(evaluation.bits_per_spike(rates.copy(), spikes))
    np.testing.assert_array_equal(rates, before)


def test_masked_bps_is_nan_without_scored_spikes():
    spikes = np.ones((2, 3, 2))
    assert np.isnan(metrics.masked_bps(np.ones_like(spikes), spikes, np.zeros_like(spikes, dtype=bool)))


def test_ground_truth_gives_rate_r2_and_oracle_co_bps():
    data = fx.make_dataset(seed=7, with_truth=True, metrics=("co-bps",))
    truth = {}
    for name in ("train", "val", "eval"):
        rates = data.split(name).true_rates
        truth[name] = SplitRates(heldin=rates[:, :20, :8], heldout=rates[:, :20, 8:], heldin_forward=rates[:, 20:, :8], heldout_forward=rates[:, 20:, 8:])
    perfect = Predictions(**truth)
    scores = metrics.score(data, perfect)
    assert scores["rate R2"].value == pytest.approx(1.0)
    assert scores["rate R2"].split == "eval"
    assert scores["oracle co-bps"].value == pytest.approx(scores["co-bps"].value, rel=1e-12)
    assert scores["oracle co-bps"].value > 0
    noisy = metrics.score(data, fx.make_predictions(data))
    assert noisy["rate R2"].value < 1.0
    assert noisy["co-bps"].value < noisy["oracle co-bps"].value


def test_mask_bps_and_region_co_bps():
    regions = ("M1", "M1", "PMd", "PMd")
    data = fx.make_dataset(seed=8, metrics=("co-bps", "co-bps[PMd]"), heldout_regions=regions)
    predictions = fx.make_predictions(data, mask_bps={"region": 0.12, "random": 0.2})
    scores = metrics.score(data, predictions)
    assert scores["bps[region]"].value == pytest.approx(0.12)
    assert scores["bps[region]"].split == "val" and scores["bps[region]"].n_trials == data.val.n_trials
    pmd = slice(2, 4)
    expected = evaluation.bits_per_spike(predictions.eval.heldout[..., pmd].astype(float), data.eval.heldout[..., pmd].astype(float))
    assert scores["co-bps[PMd]"].value == pytest.approx(expected, rel=1e-12)


def test_metric_value_round_trips_through_a_dict():
    value = metrics.MetricValue(0.25, "val", 2, [4, 9], "note", True)
    assert metrics.MetricValue.from_dict(value.to_dict()) == value


def test_views_bits_per_spike_equals_nlb():
    torch = pytest.importorskip("torch")
    from harness.tasks.nlb.views import bits_per_spike

    rng = np.random.default_rng(1)
    spikes = rng.poisson(0.5, size=(4, 7, 5)).astype(float)
    rates = rng.uniform(0.1, 1.5, size=spikes.shape)
    everything = torch.ones(spikes.shape, dtype=torch.bool)
    live = bits_per_spike(torch.log(torch.tensor(rates)), torch.tensor(spikes), everything)
    assert live == pytest.approx(evaluation.bits_per_spike(rates.copy(), spikes.copy()), rel=1e-9)
    mask = rng.random(spikes.shape) < 0.5
    live_masked = bits_per_spike(torch.log(torch.tensor(rates)), torch.tensor(spikes), torch.tensor(mask))
    assert live_masked == pytest.approx(metrics.masked_bps(rates, spikes, mask), rel=1e-9)
