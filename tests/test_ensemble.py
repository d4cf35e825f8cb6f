"""`bench ensemble`: finished runs combined by a registered ensembler, scored and recorded like a run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.cli import main
from harness.tasks.nlb.metrics import nlb_bits_per_spike
from harness.tasks.nlb.submission import load_predictions
from harness.testing import KitComponentsPlugin, kit_host

RUN = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "3", "--no-progress"]


def records(bench_home):
    return {r["run_id"]: r for r in (json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json"))}


@pytest.fixture
def two_runs(bench_home, capsys):
    for seed in ("0", "1"):
        assert main([*RUN, "--seed", seed], host=kit_host(KitComponentsPlugin())) == 0
    capsys.readouterr()
    return records(bench_home)


def test_ensemble_of_matching_runs_is_scored_and_recorded(bench_home, two_runs, capsys):
    code = main(["ensemble", "--dataset", "bench-tiny", "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin()))
    out = capsys.readouterr().out
    assert code == 0, out
    (ensemble,) = [r for r in records(bench_home).values() if r["ensembler"]]
    assert ensemble["ensembler"] == "kit-mean" and ensemble["model"] == "kit-linear"
    assert sorted(ensemble["spec"]["members"]) == sorted(two_runs)
    assert ensemble["wall_seconds"] == pytest.approx(sum(r["wall_seconds"] for r in two_runs.values()), abs=1e-3)

    members = [load_predictions(r["paths"]["predictions"]) for r in two_runs.values()]
    data = kit_host().dataset("bench-tiny")
    expected = nlb_bits_per_spike(np.mean([m.val.heldout for m in members], axis=0), data.val.heldout)
    assert ensemble["metrics"]["val_co_bps"]["value"] == pytest.approx(expected, rel=1e-6)
    assert f"co-bps: {ensemble['metrics']['co-bps']['value']:.4f}" in out

    # the same members and settings name the same ensemble; it shows on the leaderboard as its own row
    assert main(["ensemble", *two_runs, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 0
    assert len([r for r in records(bench_home).values() if r["ensembler"]]) == 1
    assert main(["leaderboard", "--output", str(bench_home / "boards")], host=kit_host(KitComponentsPlugin())) == 0
    assert "kit-mean" in (bench_home / "boards" / "bench-tiny.md").read_text()


def test_ensemble_refuses_one_run_and_missing_predictions(bench_home, two_runs, capsys):
    first, second = sorted(two_runs)
    assert main(["ensemble", first, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 1
    assert "at least two finished runs, got 1" in capsys.readouterr().err

    (bench_home / "runs" / second / "predictions.h5").unlink()
    assert main(["ensemble", first, second, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 1
    err = capsys.readouterr().err
    assert second in err and "predictions.h5" in err and "missing" in err


def test_ensemble_refuses_runs_on_different_datasets(bench_home, two_runs, capsys):
    first, second = sorted(two_runs)
    path = bench_home / "results" / f"{second}.json"
    record = json.loads(path.read_text())
    record["dataset"]["checksum"] = "0" * 64
    path.write_text(json.dumps(record))
    assert main(["ensemble", first, second, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 1
    err = capsys.readouterr().err
    assert first in err and second in err and "checksum" in err and "one dataset" in err


def test_ensemble_needs_runs_or_a_dataset(bench_home, capsys):
    assert main(["ensemble"], host=kit_host(KitComponentsPlugin())) == 1
    assert "--dataset" in capsys.readouterr().err


# -- cross-fitted scores ------------------------------------------------------------------------


def gain_host():
    from fixtures.ensemblers import GainPlugin

    return kit_host(KitComponentsPlugin(), GainPlugin())


def test_each_val_trial_is_scored_by_a_fit_that_never_saw_it(bench_home, two_runs, capsys):
    from fixtures.ensemblers import GainEnsembler

    GainEnsembler.calls.clear()
    assert main(["ensemble", *two_runs, "--ensembler", "test-gain", "--folds", "3"], host=gain_host()) == 0
    (record,) = [r for r in records(bench_home).values() if r["ensembler"]]
    data = kit_host().dataset("bench-tiny")
    val_ids = data.val.trial_ids.tolist()

    final, *folds = GainEnsembler.calls
    assert final == {"fit": val_ids, "predicted": data.eval.trial_ids.tolist(), "eval_targets": True}
    assert len(folds) == 3 and sorted(t for fold in folds for t in fold["predicted"]) == val_ids
    for fold in folds:
        assert not set(fold["fit"]) & set(fold["predicted"]) and not fold["eval_targets"]
        assert sorted(fold["fit"] + fold["predicted"]) == val_ids
    recorded = record["hyperparameters"]["chosen"]
    assert [fold["held_out_trials"] for fold in recorded["folds"]] == [fold["predicted"] for fold in folds]
    assert record["spec"]["cross_fit"] == {"folds": 3, "seed": 0} and record["spec"]["label"] == "test-gain"

    # the figures by hand: each fold's gain on its own held-out trials, pooled; the final gain in-sample
    members = [load_predictions(r["paths"]["predictions"]) for r in two_runs.values()]
    mean = np.mean([m.val.heldout for m in members], axis=0)
    position = {trial: i for i, trial in enumerate(val_ids)}
    pooled = mean.copy()
    for fold in recorded["folds"]:
        held = [position[t] for t in fold["held_out_trials"]]
        pooled[held] *= fold["gain"]
    metrics = record["metrics"]
    assert metrics["val_co_bps"]["value"] == pytest.approx(nlb_bits_per_spike(pooled, data.val.heldout), rel=1e-6)
    assert "cross-fitted" in metrics["val_co_bps"]["note"]
    in_sample = nlb_bits_per_spike(mean * recorded["gain"], data.val.heldout)
    assert metrics["val_co_bps (in-sample)"]["value"] == pytest.approx(in_sample, rel=1e-6)
    assert "in-sample" in metrics["val_co_bps (in-sample)"]["note"]
    # scored on eval, which no fit ever saw: the final fit, no cross-fitting note
    eval_mean = np.mean([m.eval.heldout for m in members], axis=0) * recorded["gain"]
    assert metrics["co-bps"]["value"] == pytest.approx(nlb_bits_per_spike(eval_mean, data.eval.heldout), rel=1e-6)
    assert "cross-fitted" not in metrics["co-bps"]["note"]
    # the exported predictions are the final fit on all val trials
    saved = load_predictions(record["paths"]["predictions"])
    np.testing.assert_allclose(saved.val.heldout, mean * recorded["gain"], rtol=1e-6)


def test_mean_of_all_fits_nothing_so_both_figures_agree(bench_home, two_runs):
    assert main(["ensemble", *two_runs, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 0
    (record,) = [r for r in records(bench_home).values() if r["ensembler"]]
    metrics = record["metrics"]
    assert metrics["val_co_bps"]["value"] == pytest.approx(metrics["val_co_bps (in-sample)"]["value"], rel=1e-9)
    assert record["spec"]["cross_fit"] == {"folds": 5, "seed": 0}


def test_folds_must_fit_the_val_trials(bench_home, two_runs, capsys):
    for folds, message in (("20", "only 8 val trials; use --folds 8 or fewer"), ("1", "at least 2 folds")):
        assert main(["ensemble", *two_runs, "--ensembler", "kit-mean", "--folds", folds], host=kit_host(KitComponentsPlugin())) == 1
        err = capsys.readouterr().err
        assert f"--folds {folds}" in err and message in err
    assert not [r for r in records(bench_home).values() if r["ensembler"]]


def test_ensembles_of_the_same_runs_with_other_settings_are_rows_of_their_own(bench_home, two_runs, capsys):
    for prior in ("0", "5"):
        assert main(["ensemble", *two_runs, "--ensembler", "test-gain", "--set", f"prior={prior}"], host=gain_host()) == 0
    ensembles = {r["spec"]["label"]: r for r in records(bench_home).values() if r["ensembler"]}
    assert sorted(ensembles) == ["test-gain", "test-gain prior=5"]
    assert main(["leaderboard", "--output", str(bench_home / "boards")], host=gain_host()) == 0
    table = (bench_home / "boards" / "bench-tiny.md").read_text()
    for label, record in ensembles.items():
        (row,) = [line for line in table.splitlines() if f"| {label} |" in line]
        assert f"{record['metrics']['val_co_bps']['value']:.4f}" in row  # the cross-fitted figure
        assert f"{record['metrics']['val_co_bps (in-sample)']['value']:.4f}" in row


def test_ensemble_refuses_runs_on_differently_named_datasets(bench_home, two_runs, capsys):
    first, second = sorted(two_runs)
    path = bench_home / "results" / f"{second}.json"
    record = json.loads(path.read_text())
    record["dataset"]["name"] = "lorenz"
    path.write_text(json.dumps(record))
    assert main(["ensemble", first, second, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 1
    err = capsys.readouterr().err
    assert first in err and second in err and "dataset name 'lorenz'" in err and "one dataset" in err


def test_an_ensemble_of_fold_models_keeps_only_its_eval_scores():
    """Fold runs trained on the dataset's val trials: val-split figures of their ensemble would be
    in-sample, so they are recorded as not scored, with the reason; eval scores stay."""
    from harness.run.ensembles import without_trained_on
    from harness.tasks.nlb.metrics import MetricValue

    metrics = {
        "single-trial correlation": MetricValue(0.42, "eval", 48, [1, 2]),
        "val_correlation": MetricValue(0.48, "val", 90, [3, 4]),
        "vel R2": MetricValue(0.7, "train+val", 75, [5]),
    }
    plain = [{"run_id": "a", "spec": {"fold": None}}, {"run_id": "b", "spec": {}}]
    assert without_trained_on(metrics, plain) == metrics
    folds = [{"run_id": "x-cv3f0", "spec": {"fold": 0}}, {"run_id": "x-cv3f1", "spec": {"fold": 1}}]
    kept = without_trained_on(metrics, folds)
    assert kept["single-trial correlation"] == metrics["single-trial correlation"]
    for name in ("val_correlation", "vel R2"):
        assert kept[name].value is None and kept[name].split == metrics[name].split
        assert kept[name].note.startswith("not scored: x-cv3f0, x-cv3f1 trained on these trials")


def test_rescoring_an_ensemble_cross_fits_its_val_figures_again(bench_home, two_runs, capsys):
    """bench rescore of an ensemble adds what its record lacks as the ensemble scored it: val
    figures cross-fitted over the members, never the saved final fit scored in-sample."""
    from harness.store.records import write_record

    assert main(["ensemble", *two_runs, "--ensembler", "test-gain", "--folds", "3"], host=gain_host()) == 0
    (record,) = [r for r in records(bench_home).values() if r["ensembler"]]
    capsys.readouterr()
    cross_fitted, in_sample = record["metrics"]["val_co_bps"], record["metrics"]["val_co_bps (in-sample)"]
    assert cross_fitted["value"] != pytest.approx(in_sample["value"], rel=1e-6)  # the gain fitted on val flatters it
    lacking = {name: value for name, value in record["metrics"].items() if name not in ("val_co_bps", "co-bps")}
    write_record({**record, "metrics": lacking}, bench_home / "results")
    assert main(["rescore", record["run_id"]], host=gain_host()) == 0, capsys.readouterr()
    assert sorted(capsys.readouterr().out.split("added ")[1].strip().split(", ")) == ["co-bps", "val_co_bps"]
    rescored = records(bench_home)[record["run_id"]]["metrics"]
    assert rescored["val_co_bps"] == cross_fitted and rescored["co-bps"] == record["metrics"]["co-bps"]
    assert rescored["val_co_bps (in-sample)"] == in_sample
