"""K-fold runs: folds partition the labelled trials, each fold validates only on its own trials,
the pooled record is nlb_tools on the concatenated out-of-fold predictions, a killed fold resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from harness import hookimpl
from harness.run.checkpoints import load_checkpoint
from harness.cli import main
from harness.contracts import Predictions, SplitRates
from harness.run.context import run_identity
from harness.run.crossval import pool_folds
from harness.errors import SpecError
from harness.tasks.nlb.folds import FoldPlan, fold_split, labelled_trials, out_of_fold, pooled_predictions, pooled_view
from harness.tasks.nlb.metrics import nlb_bits_per_spike, score
from harness.tasks.nlb.predict import cosmoothing_mask, make_batch, masked_bps
from harness.specs import RunSpec, spec_from_mapping
from harness.tasks.nlb.submission import load_predictions
from harness.testing import KitComponentsPlugin, kit_host, make_tiny_dataset, reference_model

RUN = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--no-progress", "--fold-ensembler", "kit-mean"]


def records(home: Path) -> dict[str, dict]:
    return {r["run_id"]: r for r in (json.loads(p.read_text()) for p in (home / "results").glob("*.json"))}


@pytest.mark.parametrize("folds", [2, 3, 5, 40])
def test_every_labelled_trial_is_validated_exactly_once(folds):
    data = make_tiny_dataset()
    labelled = sorted(labelled_trials(data).trial_ids.tolist())
    validated = []
    for fold in range(folds):
        split = fold_split(data, fold, folds)
        val, train = split.val.trial_ids.tolist(), split.train.trial_ids.tolist()
        assert not set(val) & set(train)
        assert sorted(val + train) == labelled  # every other labelled trial trains
        assert split.eval is data.eval and split.checksum == data.checksum
        # the fold's arrays are the trials it names
        by_id = dict(zip(labelled_trials(data).trial_ids.tolist(), labelled_trials(data).heldout))
        assert all(np.array_equal(split.val.heldout[i], by_id[t]) for i, t in enumerate(val))
        validated += val
    assert sorted(validated) == labelled
    sizes = [fold_split(data, fold, folds).val.n_trials for fold in range(folds)]
    assert max(sizes) - min(sizes) <= 1


def test_folds_are_seeded_and_ignore_the_datasets_own_val_split():
    data = make_tiny_dataset()
    labelled = labelled_trials(data)
    other = replace(data, train=labelled.take(np.arange(10, 40)), val=labelled.take(np.arange(10)))  # another val split
    for fold in range(4):
        assert fold_split(data, fold, 4).val.trial_ids.tolist() == fold_split(other, fold, 4).val.trial_ids.tolist()


def test_fold_and_folds_in_specs_are_checked_and_part_of_the_run_id():
    assert RunSpec().legacy_run_id() == RunSpec(folds=0).legacy_run_id()  # single-split ids are what they were
    ids = {RunSpec(folds=5).legacy_run_id()} | {RunSpec(folds=5, fold=k).legacy_run_id() for k in range(5)}
    assert len(ids) == 6 and all("-cv5" in run_id for run_id in ids)
    assert spec_from_mapping({"folds": 5, "fold": 2}).fold == 2
    for bad, field in (({"folds": 1}, "folds"), ({"fold": 0}, "fold"), ({"folds": 3, "fold": 3}, "fold"), ({"folds": True}, "folds")):
        with pytest.raises(SpecError, match=field):
            spec_from_mapping(bad, source="cv.yaml")


class SeenByTrainer:
    """Records the data each run's trainer is handed (what it validates and stops on)."""

    def __init__(self):
        self.seen = {}

    @hookimpl
    def bench_run_started(self, run):
        self.seen[run.run_id] = (run.data.train.trial_ids.tolist(), run.data.val.trial_ids.tolist())


def test_each_folds_checkpoint_is_chosen_on_its_own_val_trials_only(bench_home, capsys):
    spy = SeenByTrainer()
    assert main([*RUN, "--epochs", "6", "--folds", "3"], host=kit_host(KitComponentsPlugin(), spy)) == 0
    data = make_tiny_dataset()
    plan = FoldPlan.for_data(data, 3)
    ids = labelled_trials(data).trial_ids
    stored = records(bench_home)
    pooled = stored[run_identity(kit_host(KitComponentsPlugin()), RunSpec(dataset="bench-tiny", model="kit-linear", objective="kit-cosmoothing", folds=3).with_overrides(
        train={"epochs": 6, "steps": 0})).run_id]
    for fold, run_id in enumerate(pooled["folds"]["members"]):
        train_ids, val_ids = spy.seen[run_id]
        assert val_ids == ids[plan.validated_by(fold)].tolist()
        assert not set(train_ids) & set(val_ids)  # no trial whose held-out units it trained on
        record = stored[run_id]
        assert record["metrics"]["val_co_bps"]["trials"] == val_ids
        # the kept checkpoint is the best one as scored on this fold's val trials alone
        split = fold_split(data, fold, 3)
        model = reference_model(split.shape())
        model.load_state_dict(load_checkpoint(Path(record["paths"]["checkpoint"]))["model"])
        from harness.testing import CoSmoothingObjective

        batch = make_batch(split.val, np.arange(split.val.n_trials), split, "cpu")
        best = max(point["val_co_bps"] for point in record["history"])
        assert masked_bps(model, CoSmoothingObjective().inference_batch, batch, cosmoothing_mask(batch)) == pytest.approx(best, abs=1e-4)
    out = capsys.readouterr().out
    assert "per fold co-bps" in out and "fold 2: val co-bps" in out


def test_pooled_metrics_are_nlb_tools_on_the_concatenated_out_of_fold_predictions(bench_home, capsys):
    assert main([*RUN, "--epochs", "4", "--folds", "4"], host=kit_host(KitComponentsPlugin())) == 0
    stored = records(bench_home)
    (pooled,) = [r for r in stored.values() if r.get("folds")]
    members = [stored[run_id] for run_id in pooled["folds"]["members"]]
    data = make_tiny_dataset()
    plan = FoldPlan.for_data(data, 4)
    labelled = labelled_trials(data)
    rates, spikes = [], []
    for fold, member in enumerate(members):
        saved = load_predictions(member["paths"]["predictions"])  # the dataset's layout: train then val
        everything = np.concatenate([saved.train.heldout, saved.val.heldout])
        rates.append(everything[plan.validated_by(fold)])
        spikes.append(labelled.heldout[plan.validated_by(fold)])
    expected = nlb_bits_per_spike(np.concatenate(rates), np.concatenate(spikes))
    assert pooled["metrics"]["val_co_bps"]["value"] == pytest.approx(expected, rel=1e-6)
    assert pooled["metrics"]["val_co_bps"]["n_trials"] == 40 and pooled["metrics"]["val_co_bps"]["split"] == "4-fold val"
    per_fold = [m["metrics"]["val_co_bps"]["value"] for m in members]
    assert pooled["folds"]["per_fold"]["val_co_bps"] == per_fold
    assert pooled["folds"]["spread"]["val_co_bps"] == pytest.approx(float(np.std(per_fold, ddof=1)))

    # eval trials (scored here: bench-tiny gives their held-out spikes) get the mean of the fold models
    ensemble = load_predictions(pooled["paths"]["predictions"])
    fold_eval = [load_predictions(m["paths"]["predictions"]).eval.heldout for m in members]
    assert np.allclose(ensemble.eval.heldout, np.mean(fold_eval, axis=0), atol=1e-6)
    assert pooled["metrics"]["co-bps"]["value"] == pytest.approx(nlb_bits_per_spike(ensemble.eval.heldout, data.eval.heldout), rel=1e-5)
    assert pooled["ensembler"] == "kit-mean" and pooled["folds"]["k"] == 4

    # bench submit exports it (train = out-of-fold rates, eval = the fold ensemble)
    target = bench_home / "cv.h5"
    assert main(["submit", pooled["run_id"], "--output", str(target)], host=kit_host(KitComponentsPlugin())) == 0
    import h5py

    with h5py.File(target) as file:
        assert np.allclose(file["bench-tiny"]["eval_rates_heldout"][()], ensemble.eval.heldout, atol=1e-6)

    # rerunning finds every fold done and the pooled record current: nothing is trained or rewritten
    assert main([*RUN, "--epochs", "4", "--folds", "4"], host=kit_host(KitComponentsPlugin())) == 0
    assert "already completed" in capsys.readouterr().out
    assert records(bench_home)[pooled["run_id"]] == pooled
    # pooling the same fold runs again gives the same numbers
    again = pool_folds(kit_host(KitComponentsPlugin()), RunSpec(**{k: v for k, v in pooled["spec"].items() if k != "version"} | {
        "train": replace(RunSpec().train, **pooled["spec"]["train"])}), members, "kit-mean")
    assert again["metrics"] == pooled["metrics"]


def test_pooled_scores_where_eval_is_withheld_use_every_labelled_trial_once():
    """NLB's case: eval held-out spikes withheld, so co-bps is the pooled val score."""
    full = make_tiny_dataset()
    data = replace(full, eval=replace(full.eval, heldout=None, heldout_forward=None, behavior=None))
    rng = np.random.default_rng(1)

    def fake(split) -> SplitRates:
        shape = lambda a: a.shape  # noqa: E731
        return SplitRates(
            heldin=rng.uniform(0.1, 2, shape(split.heldin)),
            heldout=rng.uniform(0.1, 2, (split.n_trials, data.n_bins, data.n_heldout)),
            heldin_forward=rng.uniform(0.1, 2, (split.n_trials, data.n_forward, data.n_heldin)),
            heldout_forward=rng.uniform(0.1, 2, (split.n_trials, data.n_forward, data.n_heldout)),
        )

    candidates = [Predictions(train=fake(data.train), val=fake(data.val), eval=fake(data.eval)) for _ in range(3)]
    train, val = out_of_fold(candidates, data)
    plan = FoldPlan.for_data(data, 3)
    metrics = score(pooled_view(data, 3), pooled_predictions(train, val, candidates[0].eval, data, 3))
    labelled = labelled_trials(data)
    concatenated = [np.concatenate([c.train.heldout, c.val.heldout])[plan.validated_by(k)] for k, c in enumerate(candidates)]
    spikes = [labelled.heldout[plan.validated_by(k)] for k in range(3)]
    expected = nlb_bits_per_spike(np.concatenate(concatenated), np.concatenate(spikes))
    assert metrics["co-bps"].value == pytest.approx(expected, rel=1e-9) and metrics["co-bps"].n_trials == 40
    assert sorted(metrics["co-bps"].trials) == sorted(labelled.trial_ids.tolist())
    assert metrics["vel R2"].value is not None and metrics["vel R2"].n_trials == 40  # decoded across the pooled trials


def test_a_closed_form_baseline_cross_validates_choosing_its_settings_per_fold(bench_home, capsys):
    assert main(["run", "--dataset", "bench-tiny", "--model", "smoothing", "--folds", "2", "--fold-ensembler", "kit-mean", "--no-progress"],
                host=kit_host(KitComponentsPlugin())) == 0
    stored = records(bench_home)
    (pooled,) = [r for r in stored.values() if r.get("folds")]
    assert pooled["objective"] is None and "-direct-s0-cv2-" in pooled["run_id"]
    assert all(stored[run_id]["stopped_because"] == "closed-form fit" for run_id in pooled["folds"]["members"])


def test_pooling_refuses_missing_or_misordered_folds(bench_home):
    host = kit_host(KitComponentsPlugin())
    assert main([*RUN, "--epochs", "2", "--folds", "2", "--fold", "0"], host=host) == 0
    (first,) = records(bench_home).values()
    spec = RunSpec(dataset="bench-tiny", model="kit-linear", objective="kit-cosmoothing", folds=2)
    with pytest.raises(Exception, match="needs the runs"):
        pool_folds(host, spec.with_overrides(train={"epochs": 2, "steps": 0}), [first], "kit-mean")


# -- a fold killed mid-run resumes (the pattern of test_resume.py) -------------------------------

SCRIPT = (
    "import sys\n"
    "from harness.cli import main\n"
    "from harness.testing import KitComponentsPlugin, kit_host\n"
    "sys.exit(main(sys.argv[1:], host=kit_host(KitComponentsPlugin())))\n"
)
KILLED_ARGS = [*RUN, "--epochs", "60", "--set", "train.patience=0", "--folds", "2"]


def bench(home: Path, *, wait: bool = True):
    env = {**os.environ, "BENCH_HOME": str(home)}
    command = [sys.executable, "-c", SCRIPT, *KILLED_ARGS]
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_fold_killed_mid_run_resumes_and_pools_as_if_uninterrupted(tmp_path, monkeypatch):
    killed_home = tmp_path / "killed"
    process = bench(killed_home, wait=False)
    deadline = time.monotonic() + 240
    checkpoint = None
    while time.monotonic() < deadline and process.poll() is None:
        found = list((killed_home / "runs").glob("*-cv2f1-*/last.pt")) if (killed_home / "runs").exists() else []
        if found:
            try:
                if torch.load(found[0], weights_only=True)["epoch"] >= 5:
                    checkpoint = found[0]
                    break
            except Exception:  # noqa: BLE001 - caught between writes
                pass
        time.sleep(0.02)
    assert process.poll() is None, "the folds finished before one could be killed; make them longer"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert checkpoint is not None
    done = records(killed_home)
    assert len(done) == 1 and "-cv2f0-" in next(iter(done))  # fold 0 finished, fold 1 was killed, nothing pooled
    epoch_at_kill = torch.load(checkpoint, weights_only=True)["epoch"]

    resumed = bench(killed_home)
    assert resumed.returncode == 0, resumed.stderr
    assert "already completed" in resumed.stdout  # fold 0 is not trained again
    assert int(resumed.stdout.split("resumed from epoch")[1].split()[0]) >= epoch_at_kill + 1

    # the resumed fold ends where an uninterrupted run of that fold ends (run here, in-process)
    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "straight"))
    assert main([*KILLED_ARGS, "--fold", "1"], host=kit_host(KitComponentsPlugin())) == 0
    (straight,) = records(tmp_path / "straight").values()
    resumed_records = records(killed_home)
    assert resumed_records[straight["run_id"]]["metrics"]["val_co_bps"] == straight["metrics"]["val_co_bps"]
    assert resumed_records[straight["run_id"]]["epochs"] == straight["epochs"] == 60
    (pooled,) = [r for r in resumed_records.values() if r.get("folds")]
    assert pooled["folds"]["per_fold"]["val_co_bps"][1] == straight["metrics"]["val_co_bps"]["value"]


def test_eval_sized_co_bps_fits_the_null_on_groups_of_eval_size():
    from harness.tasks.nlb.crossval import grouped_bits_per_spike

    rng = np.random.default_rng(3)
    spikes = rng.poisson(0.3, size=(30, 10, 4)).astype(float)
    rates = np.clip(spikes + rng.normal(0, 0.3, spikes.shape), 0.05, None)
    assert grouped_bits_per_spike(rates, spikes, 30) == pytest.approx(nlb_bits_per_spike(rates, spikes))
    # one grouping of 3 x 10 trials: the spike-weighted mean of nlb's score on each group
    groups = np.array_split(np.random.default_rng(0).permutation(30), 3)
    counts = [spikes[g].sum() for g in groups]
    expected = sum(nlb_bits_per_spike(rates[g], spikes[g]) * c for g, c in zip(groups, counts)) / sum(counts)
    assert grouped_bits_per_spike(rates, spikes, 10, repeats=1) == pytest.approx(expected)


def test_pooled_record_where_eval_is_withheld_adds_the_eval_sized_score(bench_home):
    """As on MC_Maze_Small: the record carries the 75-trial pooled co-bps and the eval-sized one."""
    from harness.tasks.nlb.crossval import EVAL_SIZED

    from fixtures.withheld import WithheldPlugin

    host = kit_host(KitComponentsPlugin(), WithheldPlugin())
    args = ["run", "--dataset", "tiny-withheld", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "2",
            "--no-progress", "--fold-ensembler", "kit-mean", "--folds", "2"]
    assert main(args, host=host) == 0
    (pooled,) = [r for r in records(bench_home).values() if r.get("folds")]
    assert pooled["metrics"]["co-bps"]["n_trials"] == 40 and pooled["metrics"]["co-bps"]["split"] == "2-fold val"
    assert pooled["metrics"][EVAL_SIZED]["value"] is not None and "groups of 8" not in pooled["metrics"][EVAL_SIZED]["note"]
    assert "random group of 8 trials" in pooled["metrics"][EVAL_SIZED]["note"]
    assert EVAL_SIZED not in pooled["folds"]["per_fold"]
