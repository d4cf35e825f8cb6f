"""Issue #21's evaluation protocol: update budgets (a run the wall-clock cap cut short is listed,
never ranked), paired noise marks between K-fold rows, searches that select on pooled K-fold
scores, and NLB submissions kept beside the records."""

from __future__ import annotations

import json

from harness.cli import main
import harness.leaderboard as leaderboard
from harness.store import records as results
from harness.store.record import RunRecord
from harness.testing import KitComponentsPlugin, kit_host

from fixtures.run_records import make_record
from fixtures.withheld import WithheldPlugin, load_withheld
from test_leaderboard import kfold, run


# -- budgets in updates; the wall-clock cap only cuts a run short --------------------------------


def test_a_run_the_time_cap_stops_is_recorded_as_cut_short_with_its_updates(bench_home, capsys):
    argv = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "50",
            "--set", "train.patience=0", "--max-minutes", "0.000001", "--no-progress"]
    assert main(argv, host=kit_host(KitComponentsPlugin())) == 0, capsys.readouterr().out
    (record,) = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    assert record["schema_version"] == results.RECORD_SCHEMA_VERSION == 3
    assert record["stopped_because"].startswith("time budget of") and record["epochs"] == 1
    updates = record["updates"]
    assert updates["cut_short"] is True and 0 < updates["done"] < updates["planned"] == 50 * updates["done"]
    assert results.cut_short(record) == f"cut short by the time cap: {updates['done']} of {updates['planned']} updates"


def test_a_run_that_spends_its_update_budget_is_not_cut_short(bench_home, capsys):
    argv = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "2", "--no-progress"]
    assert main(argv, host=kit_host(KitComponentsPlugin())) == 0, capsys.readouterr().out
    (record,) = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    assert record["updates"]["cut_short"] is False and record["updates"]["done"] == record["updates"]["planned"]
    assert results.cut_short(record) is None


def test_records_before_version_3_are_cut_short_by_their_stop_reason():
    old = make_record(schema_version=2, stopped_because="time budget of 10 min", epochs=924,
                      hyperparameters={"model": {}, "objective": {}, "train": {"steps": 7000, "epochs": 200}})
    assert RunRecord.from_dict(old).updates is None  # an old record still loads
    assert results.cut_short(old) == "cut short by the time cap (10 min) after 924 epochs"
    finished = make_record(schema_version=2, stopped_because="time budget of 10 min", epochs=72,
                           hyperparameters={"model": {}, "objective": {}, "train": {"steps": 0, "epochs": 72}})
    assert results.cut_short(finished) is None  # the cap fell due on its last planned epoch
    assert results.cut_short(make_record(stopped_because="epoch budget")) is None
    problems = results.record_problems(make_record(schema_version=2, updates={"done": 1, "planned": 2, "cut_short": True}))
    assert problems == ["'updates': added in schema version 3, found in a version 2 record"]


def test_a_cut_short_row_is_listed_with_its_mark_but_not_ranked(tmp_path):
    folder = tmp_path / "store"
    cut = kfold("ndt-cv3", "ndt", "masking", 0.40, 0.02)
    cut[1]["stopped_because"] = "time budget of 10 min"  # fold 1 stopped by the cap
    cut[1]["updates"] = {"done": 300, "planned": 1000, "cut_short": True}
    for record in [*cut, *kfold("smooth-cv3", "smoothing", None, 0.15, 0.01), *kfold("rnn-cv3", "rnn", "masking", 0.20, 0.01)]:
        results.write_record(record, store=folder)
    (board,) = leaderboard.boards_from_records(results.read_records(folder))
    view = leaderboard.build_view(board, leaderboard.board_task(board.task, leaderboard.default_host()))
    by_model = {shown.row.model: shown for shown in view.rows}
    assert by_model["ndt"].rank is None and by_model["ndt"].rank_text == "— cut short"
    assert by_model["ndt"].cut_short == "cut short by the time cap: fold 1 of 3"
    assert (by_model["rnn"].rank, by_model["smoothing"].rank) == (1, 2)  # the best score is not ranked first
    assert view.rows[-1] is by_model["ndt"] and [shown.rank for shown in view.best] == [1]
    leaderboard.generate(folder, tmp_path / "out")
    assert "| — cut short | ndt | masking |" in (tmp_path / "out" / "mc_maze_small.md").read_text()
    exported = json.loads((tmp_path / "out" / "mc_maze_small.json").read_text())
    rows = exported["rows"] if isinstance(exported, dict) else exported
    assert any(row.get("cut_short") == "cut short by the time cap: fold 1 of 3" for row in rows)


def test_a_cut_short_preliminary_row_says_so_in_every_rendering(tmp_path):
    folder = tmp_path / "store"
    cut = run("lfads-s0", "lfads", "cd", 0, 0.30)
    cut["stopped_because"] = "time budget of 15 min"
    cut["updates"] = {"done": 300, "planned": 1000, "cut_short": True}
    for record in [cut, run("ndt-s0", "ndt", "mtm", 0, 0.25), *kfold("smooth-cv3", "smoothing", None, 0.15, 0.01)]:
        results.write_record(record, store=folder)
    leaderboard.generate(folder, tmp_path / "out")
    lines = (tmp_path / "out" / "mc_maze_small.md").read_text().splitlines()
    lfads = next(line for line in lines if line.startswith("| lfads |"))
    ndt = next(line for line in lines if line.startswith("| ndt |"))
    assert "cut short" in lfads and "cut short" not in ndt
    assert "single split, 2 trials; cut short" in (tmp_path / "out" / "site" / "mc_maze_small.html").read_text()


# -- paired noise: K-fold rows share their seeded folds ------------------------------------------


def _paired(run_id: str, model: str, per_fold: list[float]) -> list[dict]:
    """A 5-fold record (and its folds) with these per-fold co-bps; pooled co-bps is their mean."""
    records = kfold(run_id, model, "masking", sum(per_fold) / len(per_fold), 0.0, k=len(per_fold))
    *folds, pooled = records
    for fold, value in zip(folds, per_fold):
        fold["metrics"]["co-bps"]["value"] = value
    import statistics

    pooled["folds"]["per_fold"]["co-bps"] = list(per_fold)
    pooled["folds"]["spread"]["co-bps"] = statistics.stdev(per_fold)
    return records


def test_kfold_rows_are_within_noise_by_their_paired_fold_differences(tmp_path, capsys):
    from harness.leaderboard.ranking import paired_difference

    # folds differ a lot (sd 0.03) but B beats A by 0.01 on every fold: not noise once paired
    a = [0.20, 0.25, 0.23, 0.28, 0.22]
    b = [value + 0.01 + 0.001 * (i % 2) for i, value in enumerate(a)]
    # C is as far from A on average, but the fold differences scatter: noise
    c = [value + d for value, d in zip(a, [0.04, -0.03, 0.03, -0.02, 0.03])]
    folder = tmp_path / "store"
    for record in [*_paired("a-cv5", "a", a), *_paired("b-cv5", "b", b), *_paired("c-cv5", "c", c)]:
        results.write_record(record, store=folder)
    records = {r["run_id"]: r for r in results.read_records(folder)}
    paired = paired_difference([records["a-cv5"]], [records["b-cv5"]], "co-bps")
    assert paired.n == 5 and abs(paired.mean - 0.0104) < 1e-9 and not paired.within_noise

    def rank_texts(*models: str) -> dict[str, str]:
        (board,) = leaderboard.boards_from_records([r for r in records.values() if r["model"] in models])
        view = leaderboard.build_view(board, leaderboard.board_task(board.task, leaderboard.default_host()))
        return {shown.row.model: shown.rank_text for shown in view.rows}

    # the old rule (a difference under the larger sd over folds) called b ≈ a; paired, it is not
    assert rank_texts("a", "b") == {"b": "1", "a": "2"}
    assert rank_texts("a", "c") == {"c": "1", "a": "2 ≈ 1"}

    assert main(["compare", "a-cv5", "b-cv5", "--store", str(folder)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("│ co-bps"))
    assert "paired +0.0104 ± 0.0002 SE" in row and "B better" in row and "paired over 5 folds" in row
    assert main(["compare", "a-cv5", "c-cv5", "--store", str(folder)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("│ co-bps"))
    assert "within noise" in row and "paired over 5 folds" in row and "cut short" not in out

    records["c-cv5f2"].update(stopped_because="time budget of 10 min", epochs=1)  # a fold the cap stopped early: compare says so
    results.write_record(records["c-cv5f2"], store=folder)
    assert main(["compare", "a-cv5", "c-cv5", "--store", str(folder)]) == 0
    assert "warning: B was cut short by the time cap: fold 2 of 5: the boards list it unranked" in capsys.readouterr().out


def test_rows_that_do_not_pair_keep_the_spread_rule():
    from harness.leaderboard.ranking import paired_difference

    single = [make_record("s0", seed=0), make_record("s1", seed=1)]
    *_, pooled = _paired("a-cv5", "a", [0.2, 0.3, 0.25])
    assert paired_difference(single, single, "co-bps") is None
    other = json.loads(json.dumps(pooled)) | {"run_id": "b-cv5"}
    other["folds"] = dict(other["folds"], seed=1)  # other folds: not paired
    assert paired_difference([pooled], [other], "co-bps") is None


# -- searches select on the protocol: pooled K-fold scores where eval targets are withheld -------


def test_a_search_on_withheld_eval_targets_selects_on_pooled_folds_by_default(bench_home, capsys):
    import optuna
    from fixtures.tunable import TunablePlugin

    def tune(*args: str) -> int:
        return main(["tune", "--dataset", "tiny-withheld", "--model", "tunable", "--objective", "kit-cosmoothing", "--set", "train.epochs=1",
                     "--set", "tunable.groups=1", "--trials", "1", *args], host=kit_host(KitComponentsPlugin(), TunablePlugin(), WithheldPlugin()))

    assert tune("--study-name", "protocol") == 0
    out = capsys.readouterr().out
    assert "selects on pooled 5-fold val co-bps" in out.splitlines()[0]
    (trial,) = optuna.load_study(study_name="protocol", storage=f"sqlite:///{bench_home / 'studies.db'}").trials
    assert "-cv5-" in trial.user_attrs["run_id"]
    pooled = json.loads((bench_home / "results" / f"{trial.user_attrs['run_id']}.json").read_text())
    assert pooled["folds"]["k"] == 5 and pooled["metrics"]["val_co_bps"]["value"] == trial.value
    assert tune("--study-name", "one-split", "--folds", "0") == 0  # the opt-out
    assert "selects on val co-bps (one split)" in capsys.readouterr().out
    assert main(["tune", "--dataset", "bench-tiny", "--model", "tunable", "--objective", "kit-cosmoothing", "--set", "train.epochs=1",
                 "--set", "tunable.groups=1", "--trials", "1", "--study-name", "given"], host=kit_host(KitComponentsPlugin(), TunablePlugin())) == 0
    assert "selects on val co-bps (one split)" in capsys.readouterr().out  # eval targets given: the split scores


def test_the_task_says_where_boards_rank_by_folds():
    from harness.tasks.nlb.task import CoSmoothingTask
    from harness.testing import make_tiny_dataset

    assert CoSmoothingTask().ranks_by_folds(load_withheld({})) == 5
    assert CoSmoothingTask().ranks_by_folds(make_tiny_dataset()) is None


# -- submissions kept beside the records ---------------------------------------------------------


def test_a_ranked_kfold_rows_submission_is_kept_beside_its_record_and_rescores_as_the_target_gives(bench_home, tmp_path, capsys):
    import h5py
    import pytest

    import fixtures.synthetic_nlb as fx
    from harness.tasks.nlb.submission import score_submission
    from harness.testing import make_tiny_dataset

    host = kit_host(KitComponentsPlugin())
    argv = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "2", "--folds", "2", "--no-progress"]
    assert main(argv, host=host) == 0, capsys.readouterr().out
    (pooled,) = [r for r in results.read_records(bench_home / "results") if "folds" in r]
    assert pooled["paths"]["submission"].endswith("submission.h5")

    out = tmp_path / "boards"
    assert main(["leaderboard", "--store", str(bench_home / "results"), "--output", str(out)], host=kit_host(KitComponentsPlugin())) == 0
    kept = out / "records" / f"{pooled['run_id']}.submission.h5"
    assert kept.is_file() and kept.stat().st_size < 2_000_000
    with h5py.File(kept) as file:
        (group,) = file.values()
        assert all(name.startswith("eval_") for name in group) and group["eval_rates_heldout"].compression == "gzip"
    assert not list((out / "records").glob("*f0-*.submission.h5"))  # fold runs are not rows: nothing kept for them

    data = make_tiny_dataset(seed=0)
    fx.write_target(data, tmp_path / "target.h5")
    full = tmp_path / "full.h5"
    assert main(["submit", pooled["run_id"], "--store", str(bench_home / "results"), "--output", str(full)], host=host) == 0
    capsys.readouterr()
    expected = score_submission(full, tmp_path / "target.h5")[data.submission_name]
    rescored = score_submission(kept, tmp_path / "target.h5")[data.submission_name]
    assert rescored["co-bps"] == pytest.approx(expected["co-bps"], abs=1e-12) and rescored["fp-bps"] == pytest.approx(expected["fp-bps"], abs=1e-12)
    assert main(["score", str(kept), str(tmp_path / "target.h5")], host=host) == 0
    assert f"{expected['co-bps']:.4f}" in capsys.readouterr().out

    # regenerating from the copied records keeps the submission (the run folder is not needed)
    again = tmp_path / "again"
    assert main(["leaderboard", "--store", str(out / "records"), "--output", str(again)], host=kit_host(KitComponentsPlugin())) == 0
    assert (again / "records" / kept.name).read_bytes() == kept.read_bytes()


def test_a_trial_the_time_cap_cuts_short_says_so(bench_home, capsys):
    import optuna
    from fixtures.tunable import TunablePlugin

    argv = ["tune", "--dataset", "bench-tiny", "--model", "tunable", "--objective", "kit-cosmoothing", "--set", "train.epochs=20",
            "--set", "train.patience=0", "--set", "tunable.groups=1", "--trials", "1", "--trial-minutes", "0.000001", "--study-name", "short"]
    assert main(argv, host=kit_host(KitComponentsPlugin(), TunablePlugin())) == 0
    out = " ".join(capsys.readouterr().out.split())
    (trial,) = optuna.load_study(study_name="short", storage=f"sqlite:///{bench_home / 'studies.db'}").trials
    assert trial.user_attrs["cut_short"].startswith("cut short by the time cap: ")
    assert "trial 0: cut short by the time cap" in out  # and the table of best trials marks its epochs


def test_a_search_spec_names_its_folds():
    import pytest

    from harness.errors import SpecError
    from harness.search.spec import search_spec_from_mapping

    base = {"dataset": "bench-tiny", "model": "kit-linear", "objective": "kit-cosmoothing"}
    assert search_spec_from_mapping({"kind": "search", "base": base, "folds": 3}).folds == 3
    assert search_spec_from_mapping({"kind": "search", "base": base}).folds is None  # the task's protocol decides
    with pytest.raises(SpecError, match="folds"):
        search_spec_from_mapping({"kind": "search", "base": base, "folds": 1})


def test_every_rendering_shows_the_updates_a_row_made_and_its_budget(tmp_path):
    folder = tmp_path / "store"
    full, short = kfold("ndt-cv3", "ndt", "masking", 0.30, 0.02), kfold("rnn-cv3", "rnn", "masking", 0.20, 0.01)
    full[-1]["updates"] = {"done": 3000, "planned": 3000, "cut_short": False}
    short[-1]["updates"] = {"done": 2300, "planned": 3000, "cut_short": True}
    for record in [*full, *short, *kfold("smooth-cv3", "smoothing", None, 0.15, 0.01)]:
        results.write_record(record, store=folder)
    leaderboard.generate(folder, tmp_path / "out")
    text = (tmp_path / "out" / "mc_maze_small.md").read_text()
    rows = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| ") and " | " in line}
    assert "| 3,000 |" in rows["ndt"] and "| 2,300 of 3,000 |" in rows["rnn"]
    assert "| — |" in rows["smoothing"].split("|", 8)[-1]  # a closed-form fit counts none
    exported = json.loads((tmp_path / "out" / "mc_maze_small.json").read_text())
    by_model = {row["model"]: row for row in (exported["rows"] if isinstance(exported, dict) else exported)}
    assert (by_model["rnn"]["updates"], by_model["rnn"]["updates_planned"]) == (2300, 3000)
    page = (tmp_path / "out" / "site" / "mc_maze_small.html").read_text()
    assert '<td class="num" data-value="2300">2,300 of 3,000</td>' in page
