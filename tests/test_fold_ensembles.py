"""Ensembles of K-fold results: fitted on the members' out-of-fold rates, cross-fitted on their own
training folds, recorded and ranked as a K-fold row."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.cli import main
from harness.tasks.nlb.metrics import nlb_bits_per_spike
from harness.tasks.nlb.submission import load_predictions
from harness.testing import KitComponentsPlugin, kit_host

from fixtures.withheld import WithheldPlugin, load_withheld

K = 3


def records(bench_home):
    return {r["run_id"]: r for r in (json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json"))}


def host(*extra):
    from fixtures.ensemblers import GainPlugin

    return kit_host(KitComponentsPlugin(), WithheldPlugin(), GainPlugin(), *extra)


@pytest.fixture
def two_kfold_results(bench_home, capsys):
    for seed in ("0", "1"):
        args = ["run", "--dataset", "tiny-withheld", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "2",
                "--no-progress", "--fold-ensembler", "kit-mean", "--folds", str(K), "--seed", seed]
        assert main(args, host=host()) == 0
    capsys.readouterr()
    pooled = [r for r in records(bench_home).values() if r.get("folds")]
    assert len(pooled) == 2
    return pooled


def test_each_fold_is_predicted_by_a_fit_on_the_other_folds_out_of_fold_rates(bench_home, two_kfold_results, capsys):
    from fixtures.ensemblers import GainEnsembler

    from harness.tasks.nlb.crossval import EVAL_SIZED, grouped_bits_per_spike
    from harness.tasks.nlb.folds import FoldPlan, labelled_trials, pooled_predictions

    GainEnsembler.calls.clear()
    ids = [r["run_id"] for r in two_kfold_results]
    assert main(["--verbose", "ensemble", *ids, "--ensembler", "test-gain"], host=host()) == 0
    (record,) = [r for r in records(bench_home).values() if r["ensembler"] == "test-gain"]
    data = load_withheld({"seed": 0})
    labelled = labelled_trials(data)
    all_ids = sorted(labelled.trial_ids.tolist())

    # the folds it was cross-fitted on are the members' own: each fold run validated on them
    fold_runs = [r for r in records(bench_home).values() if r["spec"].get("fold") is not None and r["seed"] == 0]
    member_folds = [sorted(r["metrics"]["val_co_bps"]["trials"]) for r in sorted(fold_runs, key=lambda r: r["spec"]["fold"])]
    final, *folds = GainEnsembler.calls
    assert final["fit"] == all_ids  # the exported fit: every labelled trial's out-of-fold rates
    assert [sorted(fold["predicted"]) for fold in folds] == member_folds
    for fold in folds:
        assert not set(fold["fit"]) & set(fold["predicted"]) and not fold["eval_targets"]

    # the pooled co-bps by hand: the members' out-of-fold rates averaged, each fold times its own gain
    members = [load_predictions(r["paths"]["predictions"]) for r in two_kfold_results]
    in_pooled_order = [pooled_predictions(m.train, m.val, m.eval, data, K) for m in members]  # trial-id order
    mean = np.mean([m.val.heldout for m in in_pooled_order], axis=0)
    position = {trial: i for i, trial in enumerate(all_ids)}
    chosen = record["hyperparameters"]["chosen"]["folds"]
    pooled = mean.copy()
    for fold in chosen:
        pooled[[position[t] for t in fold["held_out_trials"]]] *= fold["gain"]
    plan = FoldPlan.for_data(data, K)
    targets = labelled.heldout[plan.order]
    metrics = record["metrics"]
    assert metrics["co-bps"]["value"] == pytest.approx(nlb_bits_per_spike(pooled, targets), rel=1e-6)
    assert metrics["co-bps"]["split"] == f"{K}-fold val" and metrics["co-bps"]["n_trials"] == len(all_ids)
    # per fold, on that fold's trials alone: what the paired noise marks compare with a member's
    per_fold = record["folds"]["per_fold"]["co-bps"]
    for value, trials in zip(per_fold, member_folds):
        rows = [position[t] for t in trials]
        assert value == pytest.approx(nlb_bits_per_spike(pooled[rows], targets[rows]), rel=1e-6)
    assert record["folds"]["k"] == K and record["folds"]["spread"]["co-bps"] == pytest.approx(np.std(per_fold, ddof=1))
    # the eval-size null figure groups the same trials as a member's does
    in_labelled_order = np.empty_like(pooled)
    in_labelled_order[plan.order] = pooled
    expected = grouped_bits_per_spike(in_labelled_order, labelled.heldout, data.eval.n_trials)
    assert metrics[EVAL_SIZED]["value"] == pytest.approx(expected, rel=1e-6)
    # saved as a member's: the cross-fitted rates in the dataset's layout; eval from the final fit
    saved = load_predictions(record["paths"]["predictions"])
    np.testing.assert_allclose(pooled_predictions(saved.train, saved.val, saved.eval, data, K).val.heldout, pooled, rtol=1e-5)
    eval_mean = np.mean([m.eval.heldout for m in members], axis=0)
    np.testing.assert_allclose(saved.eval.heldout, eval_mean * record["hyperparameters"]["chosen"]["gain"], rtol=1e-6)
    assert record["spec"]["cross_fit"]["folds"] == K and record["updates"]["done"] == sum(r["updates"]["done"] for r in two_kfold_results)


def test_a_fold_ensemble_is_a_k_fold_row_of_the_board(bench_home, two_kfold_results, capsys):
    from harness.leaderboard.board import boards_from_records

    ids = [r["run_id"] for r in two_kfold_results]
    assert main(["ensemble", *ids, "--ensembler", "kit-mean"], host=host()) == 0
    (board,) = boards_from_records(sorted(records(bench_home).values(), key=lambda r: r["created"]))
    (row,) = [row for row in board.rows if row.ensembler]
    assert row.folds == K and row.label.endswith(f"({K}-fold)")
    assert row.spread("co-bps") is not None


def test_k_fold_results_combine_only_with_k_fold_results_on_the_same_folds(bench_home, two_kfold_results, capsys):
    args = ["run", "--dataset", "tiny-withheld", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "2", "--no-progress"]
    assert main([*args, "--seed", "2"], host=host()) == 0
    assert main([*args, "--seed", "3", "--fold-ensembler", "kit-mean", "--folds", "2"], host=host()) == 0
    found = records(bench_home).values()
    (single,) = [r for r in found if r["seed"] == 2]
    (two_fold,) = [r for r in found if r.get("folds") and r["folds"]["k"] == 2]
    capsys.readouterr()
    assert main(["ensemble", two_kfold_results[0]["run_id"], single["run_id"]], host=host()) == 1
    assert "K-fold result" in capsys.readouterr().err
    assert main(["ensemble", two_kfold_results[0]["run_id"], two_fold["run_id"]], host=host()) == 1
    assert "only on the same folds" in capsys.readouterr().err
