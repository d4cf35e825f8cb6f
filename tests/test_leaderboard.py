"""harness.leaderboard.board: tables and plots generated from a fixture store, byte for byte."""

from __future__ import annotations


import pytest

import harness.leaderboard as leaderboard
from harness.store import records as results
from harness.tasks.nlb.metrics import MetricValue




from fixtures.run_records import make_record


def run(run_id: str, model: str, objective: str | None, seed: int, co_bps: float | None, *, day: int = 1, dataset: str = "mc_maze_small", vel: float | None = 0.5, seconds: float = 30.0, params: int = 1000) -> dict:
    metrics = {
        "co-bps": MetricValue(co_bps, "val", 2, [3, 7], "nlb_tools bits_per_spike" if co_bps is not None else "diverged", True),
        "vel R2": MetricValue(vel, "train+val", 4, [0, 3, 5, 7], "5-fold cross-validation" if vel is not None else "no behaviour", True),
        "val_co_bps": MetricValue(co_bps, "val", 2, [3, 7], "", True),
    }
    record = make_record(
        run_id,
        created=f"2025-01-{day:02d}T00:00:{seed:02d}+00:00",
        model=model,
        objective=objective,
        seed=seed,
        wall_seconds=seconds,
        n_parameters=params,
        metrics=results.record_metrics(metrics),
    )
    record["dataset"] = dict(record["dataset"], name=dataset, checksum=f"sum-{dataset}")
    return record


@pytest.fixture
def store(tmp_path):
    folder = tmp_path / "store"
    for record in [
        run("ndt-s0", "ndt", "masking", 0, 0.30, seconds=100, params=50_000),
        run("ndt-s1", "ndt", "masking", 1, 0.34, seconds=120, params=50_000),
        run("ndt-mtm-s0", "ndt", "mtm", 0, 0.31, seconds=200, params=52_000, vel=None),
        run("smooth-s0", "smoothing", None, 0, 0.12, seconds=4, params=0),
        run("bad-s0", "rnn", "masking", 0, None, seconds=10),
        run("lorenz-ndt", "ndt", "masking", 0, 0.5, dataset="lorenz"),
        # an older run of the same row and seed: the newer ndt-s0 supersedes it
        run("ndt-s0-old", "ndt", "masking", 0, 0.10, day=0 + 1, seconds=90) | {"created": "2024-12-31T00:00:00+00:00"},
    ]:
        results.write_record(record, store=folder)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generating_twice_gives_identical_bytes(store, tmp_path):
    first = tmp_path / "first"
    leaderboard.generate(store, first)
    before = _files(first)
    leaderboard.generate(store, first)
    assert _files(first) == before
    elsewhere = tmp_path / "somewhere" / "else"
    leaderboard.generate(store, elsewhere)
    assert _files(elsewhere) == before  # nothing depends on where it is written
    assert {name for name in before if not name.startswith("site/")} == {
        "index.md", "mc_maze_small.md", "mc_maze_small.png", "lorenz.md", "lorenz.png",
        "mc_maze_small.csv", "mc_maze_small.json", "lorenz.csv", "lorenz.json",
        *(f"records/{run_id}.json" for run_id in ("ndt-s0", "ndt-s1", "ndt-mtm-s0", "smooth-s0", "bad-s0", "lorenz-ndt", "ndt-s0-old")),
    }


def test_regenerating_from_the_copied_records_gives_the_same_files(store, tmp_path):
    output = tmp_path / "boards"
    leaderboard.generate(store, output)
    again = tmp_path / "again"
    leaderboard.generate(output / "records", again)
    assert _files(again) == _files(output)
    leaderboard.generate(output / "records", output)  # the store is the output's own records
    assert _files(again) == _files(output)


def test_table_content(store, tmp_path):
    leaderboard.generate(store, tmp_path / "out")
    text = (tmp_path / "out" / "mc_maze_small.md").read_text()
    assert text.startswith(leaderboard.GENERATED_MARKER)
    assert "bench leaderboard" in text
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header, rows = lines[0], lines[1:]
    # where each column was computed is in its header; val_co_bps repeats co-bps here: not shown again
    assert header.split(" | ")[3:5] == ["co-bps (val, 2 trials) ↑", "vel R2 (train+val, 4 trials) ↑"]
    assert "Not repeated: **val co-bps** equals **co-bps**" in text
    # the smoothing baseline first even though it ranks 4th; then by mean co-bps; unranked last
    assert [row.split(" | ")[1] for row in rows] == ["smoothing", "ndt", "ndt", "rnn"]
    assert [row.split(" | ")[0] for row in rows] == ["| 3", "| 1", "| 2", "| —"]
    smoothing, ndt_masking, ndt_mtm, rnn = rows
    assert "| masking | 0.3200 ± 0.0283 |" in ndt_masking  # seeds 0 and 1: 0.30, 0.34 (the old 0.10 is superseded)
    assert "| 2 | 50,000 | — | 1.8 min |" in ndt_masking  # old records count no updates
    assert "| mtm | 0.3100 | — |" in ndt_mtm
    assert "| 4.0 s |" in smoothing
    assert rnn.split(" | ")[3] == "—"
    # provenance: every run id used, the superseded one named as not counted
    for run_id in ("ndt-s0", "ndt-s1", "ndt-mtm-s0", "smooth-s0", "bad-s0"):
        assert f"`{run_id}`" in text
    assert "not counted: `ndt-s0-old`" in text
    assert "- **vel R2** on train+val (4 trials): 5-fold cross-validation" in text
    assert "- **co-bps**: diverged (rnn × masking (seed 0))" in text
    assert "- **vel R2**: no behaviour (ndt × mtm (seed 0))" in text
    assert "lorenz" not in text
    index = (tmp_path / "out" / "index.md").read_text()
    assert "| mc_maze_small | 5 ms | 5 | ndt × masking | 0.3200 | [mc_maze_small.md](mc_maze_small.md) |" in index
    assert "[lorenz.md](lorenz.md)" in index


def test_the_plot_is_a_png(store, tmp_path):
    leaderboard.generate(store, tmp_path / "out")
    assert (tmp_path / "out" / "mc_maze_small.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Software" not in (tmp_path / "out" / "mc_maze_small.png").read_bytes()


def test_stale_outputs_are_removed(store, tmp_path):
    output = tmp_path / "out"
    leaderboard.generate(store, output)
    (output / "notes.md").write_text("my own notes\n")  # not generated: kept
    (store / "lorenz-ndt.json").unlink()
    leaderboard.generate(store, output)
    assert not (output / "lorenz.md").exists() and not (output / "lorenz.png").exists()
    assert not (output / "lorenz.csv").exists() and not (output / "lorenz.json").exists()
    assert not (output / "records" / "lorenz-ndt.json").exists()
    assert (output / "notes.md").exists()


def test_same_name_with_different_data_gets_separate_tables(tmp_path):
    store = tmp_path / "store"
    one = run("a", "ndt", "masking", 0, 0.2)
    two = run("b", "ndt", "masking", 0, 0.3)
    two["dataset"]["checksum"] = "another-checksum"
    for record in (one, two):
        results.write_record(record, store=store)
    leaderboard.generate(store, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").glob("*.md"))
    assert names == ["index.md", "mc_maze_small-another-.md", "mc_maze_small-sum-mc_m.md"]


def test_empty_store(tmp_path):
    written = leaderboard.generate(tmp_path / "nothing", tmp_path / "out")
    assert written == [tmp_path / "out" / "index.md", tmp_path / "out" / "site" / "index.html"]
    assert "No run records yet." in (tmp_path / "out" / "index.md").read_text()


def commands_host(*extra):
    """A host with the results commands, whether or not DEFAULT_PLUGINS lists them yet."""
    import harness.cli.commands.results as commands
    from harness.plugin.manager import DEFAULT_PLUGINS
    from harness.testing import kit_host

    return kit_host(*extra, *(() if commands.__name__ in DEFAULT_PLUGINS else (commands,)))


def test_leaderboard_and_results_commands(store, tmp_path, monkeypatch, capsys):
    from harness.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", "--store", str(store)], host=commands_host()) == 0
    assert (tmp_path / "leaderboards" / "index.md").is_file()
    assert "copied 7 run records" in capsys.readouterr().out
    assert main(["results", "--store", str(store), "--dataset", "lorenz"], host=commands_host()) == 0
    out = capsys.readouterr().out
    assert "lorenz-ndt" in out and "ndt-s1" not in out


def test_labelled_runs_and_search_trials_are_rows_of_their_own(tmp_path):
    """A tuned configuration (spec label) or a search trial is another configuration of the same
    model x objective: it must not supersede the plain runs' seeds, nor each other's."""
    folder = tmp_path / "store"
    plain = run("ndt-s0", "ndt", "mtm", 0, 0.30)
    tuned = run("ndt-tuned-s0", "ndt", "mtm", 0, 0.33, day=2)
    tuned["spec"] = dict(tuned["spec"], label="tuned")
    trials = []
    for number, value in ((3, 0.25), (7, 0.27)):
        trial = run(f"ndt-trial{number}", "ndt", "mtm", 0, value, day=3)
        trial["spec"] = dict(trial["spec"], search_trial=number)
        trials.append(trial)
    ensemble = run("ndt-mean", "ndt", "mtm", 0, 0.20, day=4) | {"ensembler": "mean"}
    ensemble["spec"] = {"ensembler": "mean", "label": "mean top=2", "members": ["ndt-trial3", "ndt-trial7"]}
    for record in (plain, tuned, *trials, ensemble):
        results.write_record(record, store=folder)
    leaderboard.generate(folder, tmp_path / "out")
    rows = [line for line in (tmp_path / "out" / "mc_maze_small.md").read_text().splitlines() if line.startswith("| ") and "mtm" in line]
    names = [row.split(" | ")[1] for row in rows]
    assert names == ["ndt [tuned]", "ndt", "ndt [trial 7]", "ndt [trial 3]", "ndt"]  # ranked by co-bps, none superseded
    assert "| mtm | mean top=2 | 0.2000 |" in rows[-1]  # an ensemble's label names its ensembler, not a variant
    assert "| mtm | — | 0.3000 |" in rows[1]


# -- a third-party task: the board asks it, and still renders where it is not installed ----------


from harness import hookimpl  # noqa: E402
from harness.tasks.nlb.task import CoSmoothingTask  # noqa: E402


class ToyTask(CoSmoothingTask):
    name = "toy_task"
    primary_metric = "accuracy"
    validation_metric = "val_accuracy"
    metric_order = ("accuracy", "loss")
    baseline_model = "chance"
    report_figure = None

    def higher_is_better(self, metric: str) -> bool:
        return metric != "loss"

    def metric_definitions(self, metrics):
        return ["**accuracy** (toy): the share of trials right."] if "accuracy" in metrics else []


def build_toy_task() -> ToyTask:
    return ToyTask()


class ToyTaskPlugin:
    @hookimpl
    def bench_register_tasks(self, register) -> None:
        register("toy_task", f"{__name__}:build_toy_task", description="a toy task", primary_metric="accuracy")


@pytest.fixture
def toy_store(tmp_path):
    folder = tmp_path / "toy-store"
    for run_id, model, accuracy in (("chance-s0", "chance", 0.5), ("net-s0", "net", 0.9), ("net-s1", "net", 0.8)):
        metrics = {
            "alpha": MetricValue(1.0, "val", 3, [0, 1, 2], "", True),
            "loss": MetricValue(1 - accuracy, "val", 3, [0, 1, 2], "", False),
            "accuracy": MetricValue(accuracy, "val", 3, [0, 1, 2], "share right", True),
            "val_accuracy": MetricValue(accuracy + 0.01, "val", 3, [0, 1, 2], "", True),
        }
        record = make_record(
            run_id, model=model, objective=None, seed=int(run_id[-1]), metrics=results.record_metrics(metrics),
            task={"name": "toy_task", "primary_metric": "accuracy", "validation_metric": "val_accuracy"},
        )
        record["dataset"] = dict(record["dataset"], name="toy", checksum="toy-sum")
        results.write_record(record, store=folder)
    return folder


def _header_and_names(text: str) -> tuple[list[str], list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return lines[0].strip("| ").split(" | "), [line.split(" | ")[1] for line in lines[1:]]


def test_the_board_asks_a_third_party_task_for_its_order_baseline_and_definitions(toy_store, tmp_path):
    from harness.testing import kit_host

    leaderboard.generate(toy_store, tmp_path / "out", host=kit_host(ToyTaskPlugin()))
    text = (tmp_path / "out" / "toy.md").read_text()
    header, names = _header_and_names(text)
    assert header[3:6] == ["accuracy (val, 3 trials) ↑", "loss (val, 3 trials) ↓", "alpha (val, 3 trials) ↑"]  # the task's order, then the rest
    assert names == ["chance", "net"]  # its baseline first, though it ranks 2nd
    assert "rank by accuracy (↑); the chance baseline is listed first when present." in text
    assert "**accuracy** (toy): the share of trials right." in text
    assert "single split, 3 trials" in text  # the Validation column counts val_accuracy's trials
    page = (tmp_path / "out" / "site" / "toy.html").read_text()
    assert "<p><b>accuracy</b> (toy): the share of trials right.</p>" in page
    assert "the chance baseline is listed first" in page


def test_a_board_whose_task_is_not_installed_still_renders(toy_store, tmp_path):
    leaderboard.generate(toy_store, tmp_path / "out")  # the default plugins: no toy_task
    text = (tmp_path / "out" / "toy.md").read_text()
    header, names = _header_and_names(text)
    assert [h.replace(" (val, 3 trials)", "") for h in header[3:6]] == ["accuracy ↑", "alpha ↑", "loss ↓"]  # no order to ask for: alphabetical; directions from the records
    assert names == ["net", "chance"] and "baseline is listed first" not in text
    assert "rank by accuracy (↑)" in text


# -- one ranking per board: K-fold rows ranked, single-split rows preliminary --------------------


def kfold(run_id: str, model: str, objective: str | None, co_bps: float, spread: float, k: int = 3) -> list[dict]:
    """A K-fold record and its fold runs."""
    members = [f"{run_id}f{fold}" for fold in range(k)]
    folds = []
    for fold, member in enumerate(members):
        one = run(member, model, objective, 0, co_bps + (fold - 1) * spread)
        one["spec"] = dict(one["spec"], fold=fold, folds=k)
        folds.append(one)
    pooled = run(run_id, model, objective, 0, co_bps, day=2, seconds=300)
    pooled["spec"] = dict(pooled["spec"], folds=k)
    pooled["folds"] = {"k": k, "seed": 0, "members": members, "per_fold": {"co-bps": [f["metrics"]["co-bps"]["value"] for f in folds]},
                       "spread": {"co-bps": spread, "vel R2": 0.01}}
    return [*folds, pooled]


@pytest.fixture
def kfold_store(tmp_path):
    folder = tmp_path / "kfold-store"
    ensemble = run("folds-mean", "ndt", "masking", 0, 0.27, day=3) | {"ensembler": "mean"}
    ensemble["spec"] = {"ensembler": "mean", "label": "mean", "members": ["ndt-cv3f0", "ndt-cv3f1", "ndt-cv3f2"]}
    for record in [
        *kfold("ndt-cv3", "ndt", "masking", 0.27, 0.02),
        *kfold("smooth-cv3", "smoothing", None, 0.15, 0.01),
        run("big-ensemble", "lfads+ndt", "cd+masking", 0, 0.30, day=3) | {"ensembler": "mean"},
        run("rnn-s0", "rnn", "masking", 0, 0.25),
        ensemble,
    ]:
        results.write_record(record, store=folder)
    return folder


def test_one_ranking_per_board_and_single_splits_are_preliminary(kfold_store, tmp_path):
    leaderboard.generate(kfold_store, tmp_path / "out")
    text = (tmp_path / "out" / "mc_maze_small.md").read_text()
    ranked, preliminary = text.split("## Preliminary (one split)")
    ranked_rows = [line for line in ranked.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0] for row in ranked_rows] == ["| 2", "| 1"]  # one "rank 1"; the baseline first
    assert [row.split(" | ")[1] for row in ranked_rows] == ["smoothing", "ndt"]
    preliminary_rows = [line for line in preliminary.split("\n## ")[0].splitlines() if line.startswith("| ")]
    assert preliminary_rows[0].startswith("| Model |")  # no rank column: never ranked against the K-fold rows
    assert [row.split(" | ")[0] for row in preliminary_rows[1:]] == ["| lfads+ndt", "| ndt", "| rnn"]  # by co-bps
    index = (tmp_path / "out" / "index.md").read_text()
    assert "| ndt × masking (3-fold) | 0.2700 |" in index  # the best of the ranked table, not the 0.30 single split
    page = (tmp_path / "out" / "site" / "mc_maze_small.html").read_text()
    leaderboard_table = page.split('id="leaderboard"')[1].split("</table>")[0]
    assert leaderboard_table.count('data-value="1"><span>1</span><') == 1 and "lfads+ndt" not in leaderboard_table
    assert 'id="preliminary"' in page
    site_index = (tmp_path / "out" / "site" / "index.html").read_text()
    assert "<td>ndt × masking (3-fold)</td>" in site_index and "lfads+ndt" not in site_index


def test_only_kfold_rows_on_the_boards_folds_are_ranked(tmp_path):
    """A search's 3-fold trials beside 5-fold rows train on fewer trials a fold: they are listed as
    preliminary, not ranked against the 5-fold rows, however high they score."""
    folder = tmp_path / "store"
    for record in [
        *kfold("ndt-cv5", "ndt", "masking", 0.26, 0.02, k=5),
        *kfold("rnn-cv5", "rnn", "masking", 0.24, 0.02, k=5),
        *kfold("lfads-cv3", "lfads", "cd", 0.30, 0.02, k=3),
    ]:
        results.write_record(record, store=folder)
    leaderboard.generate(folder, tmp_path / "out")
    text = (tmp_path / "out" / "mc_maze_small.md").read_text()
    ranked, preliminary = text.split("## Preliminary (one split, or other folds)")
    ranked_rows = [line for line in ranked.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[:2] for row in ranked_rows] == [["| 1", "ndt"], ["| 2", "rnn"]]
    assert "| lfads | cd |" in preliminary.split("\n## ")[0] and "cross-validated on other folds than the ranked rows" in preliminary
    assert "| ndt × masking (5-fold) | 0.2600 |" in (tmp_path / "out" / "index.md").read_text()


def test_an_ensemble_of_one_kfold_rows_folds_is_that_row_not_another_system(kfold_store, tmp_path):
    leaderboard.generate(kfold_store, tmp_path / "out")
    text = (tmp_path / "out" / "mc_maze_small.md").read_text()
    assert "- ndt × masking × mean averages exactly the fold models of ndt × masking (3-fold) (rank 1): the same system, not ranked apart." in text
    assert "averages exactly the fold models" not in text.split("- ndt × masking × mean averages")[1]  # the big ensemble is not marked
    page = (tmp_path / "out" / "site" / "mc_maze_small.html").read_text()
    assert "<li>ndt × masking × mean averages exactly the fold models of ndt × masking (3-fold) (rank 1)" in page


def test_values_that_could_not_be_computed_are_grouped_by_reason(tmp_path):
    folder = tmp_path / "store"
    for seed in range(3):
        results.write_record(run(f"ndt-s{seed}", "ndt", "masking", seed, 0.3, vel=None), store=folder)
    for name in ("rnn", "gru", "lstm", "tcn", "mlp", "lin", "glm"):
        results.write_record(run(f"{name}-s0", name, "masking", 0, 0.2, vel=None), store=folder)
    results.write_record(run("ok-s0", "ok", "masking", 0, 0.2), store=folder)
    results.write_record(run("bad-s0", "bad", "masking", 0, None), store=folder)
    leaderboard.generate(folder, tmp_path / "out")
    text = (tmp_path / "out" / "mc_maze_small.md").read_text()
    missing = text.split("## Values that could not be computed")[1].split("## Records")[0]
    bullets = [line for line in missing.splitlines() if line.startswith("- ")]
    assert len(bullets) == 2  # one per reason, not one per value
    vel = next(line for line in bullets if "**vel R2**" in line)
    assert vel.startswith("- **vel R2**: no behaviour (ndt × masking (seeds 0, 1, 2), ")  # 10 of the 12 runs: named
    assert vel.endswith(", 3 more rows)")  # the first five of eight rows, then a count
    assert "- **co-bps**: diverged (bad × masking (seed 0))" in bullets


def test_labels_say_where_each_value_was_computed_and_align_text_left(tmp_path):
    folder = tmp_path / "store"
    for seed, share in ((0, 84.32801), (1, 84.32801)):
        record = run(f"enc-s{seed}", "dwiseneuro", "poisson", seed, 0.3)
        record["metrics"]["% of oracle"] = MetricValue(share + seed, "eval", 48, list(range(48)), "", True).to_dict()
        record["metrics"]["oracle co-bps"] = MetricValue(0.6419, "eval", 48, list(range(48)), "", True).to_dict()
        results.write_record(record, store=folder)
    leaderboard.generate(folder, tmp_path / "out")
    text = (tmp_path / "out" / "mc_maze_small.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = lines[0].strip("| ").split(" | ")
    assert header == [
        "Rank", "Model", "Objective", "co-bps (val, 2 trials) ↑", "vel R2 (train+val, 4 trials) ↑", "oracle co-bps (eval, 48 trials) ↑",
        "% of oracle (eval, 48 trials) ↑", "Validation", "Seeds", "Parameters", "Updates", "Train time",
    ]
    assert lines[1] == "|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"  # names and Validation left, numbers right
    row = lines[2].split(" | ")
    assert row[5] == "0.6419"  # the same value on every seed: no "± 0.0000"
    assert row[6] == "84.8 ± 0.7"  # a percentage: one decimal
    page = (tmp_path / "out" / "site" / "mc_maze_small.html").read_text()
    assert 'co-bps ↑<br><span class="scope">val, 2 trials</span></th>' in page


def test_each_board_is_also_written_as_csv_and_json(store, tmp_path):
    import csv
    import json

    leaderboard.generate(store, tmp_path / "out")
    with (tmp_path / "out" / "mc_maze_small.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["label"] for row in rows] == ["smoothing", "ndt × masking", "ndt × mtm", "rnn × masking"]
    ndt = rows[1]
    assert ndt["rank"] == "1" and ndt["table"] == "ranked" and ndt["seeds"] == "2"
    assert float(ndt["co-bps"]) == pytest.approx(0.32) and float(ndt["co-bps sd"]) == pytest.approx(0.0282843, abs=1e-6)  # unrounded
    assert ndt["co-bps split"] == "val" and ndt["co-bps n_trials"] == "2" and ndt["co-bps n_values"] == "2"
    assert ndt["vel R2 split"] == "train+val" and ndt["vel R2 n_trials"] == "4"
    assert rows[3]["co-bps"] == "" and rows[3]["co-bps n_values"] == "0"  # diverged: no value
    data = json.loads((tmp_path / "out" / "mc_maze_small.json").read_text())
    assert data["primary_metric"] == "co-bps" and data["higher_is_better"]["co-bps"] is True
    entry = data["rows"][1]["metrics"]["co-bps"]
    assert entry["values"] == [0.3, 0.34] and entry["split"] == ["val"] and entry["n_trials"] == [2]
    assert data["rows"][1]["run_ids"] == {"0": "ndt-s0", "1": "ndt-s1"}
    markdown = (tmp_path / "out" / "mc_maze_small.md").read_text()
    assert "[mc_maze_small.csv](mc_maze_small.csv)" in markdown and "[mc_maze_small.json](mc_maze_small.json)" in markdown
    page = (tmp_path / "out" / "site" / "mc_maze_small.html").read_text()
    assert 'href="../mc_maze_small.csv"' in page and 'href="../mc_maze_small.json"' in page


def test_only_an_ensemble_of_exactly_a_kfold_rows_folds_is_the_same_system():
    from harness.leaderboard.grouping import Row
    from harness.leaderboard.ranking import same_fold_models

    def with_record(row: Row, **record) -> Row:
        row.by_seed[0] = {"seed": 0, "spec": {}, **record}
        return row

    kfold_row = with_record(Row("ndt", "mtm", None, folds=3), folds={"members": ["f0", "f1", "f2"]})
    no_members = with_record(Row("lfads", "cd", None, folds=3), folds={"members": []})
    same = with_record(Row("ndt", "mtm", "mean"), spec={"members": ["f2", "f0", "f1"]})
    fewer = with_record(Row("ndt", "mtm", "mean top=2"), spec={"members": ["f0", "f1"]})
    unknown = with_record(Row("x", None, "mean"), spec={})
    assert same_fold_models(same, [no_members, kfold_row]) is kfold_row
    assert same_fold_models(fewer, [no_members, kfold_row]) is None
    assert same_fold_models(unknown, [no_members, kfold_row]) is None  # no members on either side is not "the same"
    assert same_fold_models(kfold_row, [kfold_row]) is None  # only ensembles
