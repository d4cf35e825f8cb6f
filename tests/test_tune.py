"""``bench tune`` in-process on the kit's tiny dataset, with the default SQLite storage: trials
are recorded runs, studies resume and grow, failures are recorded with their reason, the
pruner stops trials through the epoch hook, and the top-N ensemble is built."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from fixtures.tunable import TunablePlugin

from harness.cli import main
from harness.specs import load_spec
from harness.testing import KitComponentsPlugin, kit_host

TINY = ["--dataset", "bench-tiny", "--model", "tunable", "--objective", "kit-cosmoothing"]


def tune(*args: str) -> int:
    return main(["tune", *args], host=kit_host(KitComponentsPlugin(), TunablePlugin()))


def study(home: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{home / 'studies.db'}")


def records(home: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted((home / "results").glob("*.json"))]


@pytest.mark.slow
def test_trials_are_recorded_runs_a_rerun_continues_the_study_and_the_top_runs_ensemble(bench_home, capsys):
    args = [*TINY, "--model", "kit-linear", "--set", "train.epochs=2", "--set", "tunable.groups=1", "--study-name", "s"]
    assert tune(*args, "--trials", "2") == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "all 2 trials are settled" in out and "best trials of s" in out
    trials = study(bench_home, "s").trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 2
    by_run = {record["run_id"]: record for record in records(bench_home)}
    for trial in trials:
        record = by_run[trial.user_attrs["run_id"]]
        assert record["search"] == {"study": "s", "trial": trial.number, "storage": "sqlite"}
        assert record["search_trial"] == trial.number
        assert record["metrics"]["val_co_bps"]["value"] == pytest.approx(trial.value)
        assert record["model"] == trial.params["family"].split("/")[0]
        run_dir = Path(record["paths"]["run_dir"])
        assert (run_dir / "best.pt").is_file() and (run_dir / "best_loss.pt").is_file()  # AE's two checkpoints
        assert all("val_loss" in point for point in record["history"])
        if record["model"] == "kit-linear":  # the other family's parameters are never sampled
            assert not any(name.startswith("tunable.") for name in trial.params)

    assert tune(*args, "--trials", "2") == 0  # a finished study: nothing more to run
    assert "ran 0 trial(s)" in capsys.readouterr().out

    assert tune(*args, "--trials", "3", "--ensemble", "auto") == 0  # a larger budget grows it
    out = capsys.readouterr().out
    trials = study(bench_home, "s").trials
    assert len(trials) == 3 and len(records(bench_home)) == 4  # three runs and their ensemble
    (ensemble,) = [r for r in records(bench_home) if r["ensembler"] == "mean"]
    chosen = int(out.split("; N = ")[1].split()[0])  # N picked on val among 2 and 3
    assert "ensemble val co-bps by N: 2:" in out and chosen in (2, 3)
    ranked = sorted(trials, key=lambda t: -t.value)
    assert sorted(ensemble["spec"]["members"]) == sorted(t.user_attrs["run_id"] for t in ranked[:chosen])
    assert ensemble["spec"]["label"] == f"mean of top {chosen} (s)"  # its leaderboard row names the study

    best_spec = bench_home / "best.yaml"  # the best trial as a run spec for bench run --spec
    assert tune(*args, "--trials", "3", "--best-spec", str(best_spec)) == 0
    spec = load_spec(best_spec)
    best = next(r for r in records(bench_home) if r["run_id"] == ranked[0].user_attrs["run_id"])
    assert spec.search_trial is None and spec.label == "tuned"  # its runs get a leaderboard row of their own
    assert spec.to_dict() == {**best["spec"], "search_trial": None, "device": None, "label": "tuned"}


@pytest.mark.slow
def test_a_failing_trial_is_recorded_with_its_reason_and_the_study_goes_on(bench_home, capsys):
    args = [*TINY, "--set", "train.epochs=2", "--study-name", "f", "--sampler", "random"]
    assert tune(*args, "--trials", "1") == 0
    queued = study(bench_home, "f")
    queued.enqueue_trial({"tunable.hidden": 4, "tunable.groups": 3})  # 3 groups cannot split 4 units
    queued.enqueue_trial({"tunable.hidden": 4, "tunable.groups": 1, "train.lr": 1e8})  # diverges (out of range: Optuna warns)
    assert tune(*args, "--trials", "4") == 0, capsys.readouterr()
    out = capsys.readouterr().out
    trials = study(bench_home, "f").trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "FAIL", "COMPLETE"]
    assert "divisible by groups" in trials[1].user_attrs["fail_reason"]
    assert "training diverged" in trials[2].user_attrs["fail_reason"]
    assert f"trial 2 failed: {trials[2].user_attrs['fail_reason']}" in " ".join(out.split())
    assert len(records(bench_home)) == 2  # failed trials leave no record


@pytest.mark.slow
def test_the_pruner_stops_a_poor_trial_through_the_epoch_hook(bench_home, tmp_path, capsys):
    (tmp_path / "base.yaml").write_text("dataset: bench-tiny\nmodel: tunable\nobjective: kit-cosmoothing\ntrain: {epochs: 8, warmup_epochs: 0}\n")
    (tmp_path / "search.yaml").write_text(
        "kind: search\nbase: base.yaml\nfixed: {tunable.groups: 1, tunable.hidden: 8}\n"
        "pruner: {name: median, n_startup_trials: 1, n_warmup_steps: 2}\n"
    )
    name = "search"
    assert tune("--spec", str(tmp_path / "search.yaml"), "--trials", "1", "--sampler", "random") == 0
    study(bench_home, name).enqueue_trial({"train.lr": 1e-3})  # learns far slower than trial 0 (lr sampled >= 1e-3)
    assert tune("--spec", str(tmp_path / "search.yaml"), "--trials", "2") == 0, capsys.readouterr()
    first, second = study(bench_home, name).trials
    assert first.state.name == "COMPLETE" and second.state.name == "PRUNED", (first.params, first.intermediate_values, second.intermediate_values)
    assert second.user_attrs["pruned_at_epoch"] == 3 and max(second.intermediate_values) == 2
    assert "trial 1 tunable/kit-cosmoothing: pruned at epoch 3" in capsys.readouterr().out


def test_a_study_refuses_a_different_search_under_its_name(bench_home, capsys):
    assert tune(*TINY, "--set", "train.epochs=1", "--trials", "1", "--study-name", "x") == 0
    assert tune(*TINY, "--set", "train.epochs=2", "--trials", "1", "--study-name", "x") == 1
    assert "study 'x' searches another space" in capsys.readouterr().err
    assert tune(*TINY, "--trials", "1", "--study-name", "x", "--ensemble", "1") == 1
    assert "--ensemble 1: expected a number >= 2 or 'auto'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_k_fold_trial_scores_the_pooled_val_co_bps(bench_home, capsys):
    assert tune(*TINY, "--set", "train.epochs=2", "--set", "tunable.groups=1", "--trials", "1", "--folds", "2", "--study-name", "k") == 0, capsys.readouterr()
    (trial,) = study(bench_home, "k").trials
    by_id = {record["run_id"]: record for record in records(bench_home)}
    pooled = by_id[trial.user_attrs["run_id"]]
    assert "-cv2-" in pooled["run_id"] and pooled["metrics"]["val_co_bps"]["value"] == pytest.approx(trial.value)
    folds = [record for record in by_id.values() if record.get("search")]
    assert sorted(record["run_id"] for record in folds) == sorted(pooled["folds"]["members"])
    assert all(record["search"]["trial"] == 0 for record in folds)


def test_an_encoding_study_optimises_the_val_correlation_and_ensembles_by_it(bench_home, capsys):
    """The worker asks the run's task: its validation metric is the trial's value, the pruner
    sees the plan's running best (best_val_correlation), and --ensemble auto picks N on val
    through the task. Every trial failed with a KeyError on val co-bps before."""
    from harness.testing import TINY_ENCODING_DATASET, TinyEncodingPlugin

    args = ["--dataset", TINY_ENCODING_DATASET, "--model", "kit-encoder", "--set", "train.epochs=2", "--set", "train.batch_size=4", "--study-name", "e"]
    assert main(["tune", *args, "--trials", "2", "--ensemble", "auto"], host=kit_host(TinyEncodingPlugin())) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "maximize val correlation" in out and "best trials of e (val correlation of each run's best checkpoint)" in out
    assert "ensemble val correlation by N: 2:" in out and "val co-bps" not in out
    trials = study(bench_home, "e").trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 2
    by_run = {record["run_id"]: record for record in records(bench_home)}
    for trial in trials:
        record = by_run[trial.user_attrs["run_id"]]
        assert trial.value == pytest.approx(record["metrics"]["val_correlation"]["value"])
        assert trial.intermediate_values == {int(p["epoch"]): pytest.approx(p["best_val_correlation"], abs=1e-5) for p in record["history"]}
    (ensemble,) = [r for r in by_run.values() if r["ensembler"] == "mean"]
    assert ensemble["task"]["name"] == "video_encoding" and len(ensemble["spec"]["members"]) == 2


def test_a_study_minimises_a_metric_its_task_says_falls_and_ranks_the_lowest_first():
    import optuna

    from harness.search.study import objective_label, open_study
    from harness.search.worker import ranked_trials

    class FallingTask:
        name, validation_metric, validation_label = "falling", "val_loss", "val loss"

        def higher_is_better(self, metric):
            return False

    class Plan:
        search = type("Search", (), {"baseline": False})()

        def describe(self):
            return {}

        def digest(self):
            return "d"

    storage = optuna.storages.InMemoryStorage()
    study = open_study(storage, "m", Plan(), optuna.samplers.RandomSampler(seed=0), optuna.pruners.NopPruner(), task=FallingTask())
    assert study.direction.name == "MINIMIZE" and objective_label(study) == "val loss"
    for value in (0.5, 0.2, 0.9):
        study.tell(study.ask(), value)
    assert [t.value for t in ranked_trials(study)] == [0.2, 0.5, 0.9]
    with pytest.raises(Exception, match="was made to minimize"):
        open_study(storage, "m", Plan(), optuna.samplers.RandomSampler(seed=0), optuna.pruners.NopPruner())
