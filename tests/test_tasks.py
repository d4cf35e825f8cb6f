"""Tasks: registered like every component, picked by the dataset's ``task``, and refusing
components built for another task."""

from __future__ import annotations

import pytest

from harness import hookimpl
from harness.cli import main
from harness.contracts import COSMOOTHING_TASK, ENCODING_TASK, Task
from harness.errors import BenchError
from harness.testing import TINY_DATASET, TINY_ENCODING_DATASET, KitComponentsPlugin, TinyEncodingPlugin, kit_host


class ToyTaskPlugin:
    """A third-party task, registered through the same hook as the built-in ones."""

    @hookimpl
    def bench_register_tasks(self, register) -> None:
        register("toy_task", "harness.tasks.nlb.task:build", description="a task borrowed for the test", primary_metric="co-bps")


def test_builtin_tasks_register_through_the_hook_and_build_light():
    host = kit_host(TinyEncodingPlugin())
    assert {COSMOOTHING_TASK, ENCODING_TASK} <= set(host.registries.tasks.names())
    assert host.registries.tasks.get(ENCODING_TASK).plugin == "harness.tasks"
    assert host.registries.tasks.get(ENCODING_TASK).primary_metric == "single-trial correlation"
    for name in (COSMOOTHING_TASK, ENCODING_TASK):
        task = host.task(name)
        assert isinstance(task, Task) and task.name == name
        assert host.task(name) is task  # built once per host


def test_a_plugin_registers_a_task_and_duplicates_are_refused():
    host = kit_host(ToyTaskPlugin())
    assert "toy_task" in host.registries.tasks
    with pytest.raises(BenchError, match="registered twice"):
        kit_host(ToyTaskPlugin(), type("Again", (ToyTaskPlugin,), {})()).registries.tasks


def test_unknown_task_gets_suggestions():
    with pytest.raises(BenchError, match="Did you mean 'video_encoding'"):
        kit_host().task("video_encodin")


def test_the_dataset_picks_the_task():
    host = kit_host(TinyEncodingPlugin())
    assert host.task_of(host.dataset(TINY_DATASET)).name == COSMOOTHING_TASK
    assert host.task_of(host.dataset(TINY_ENCODING_DATASET)).name == ENCODING_TASK


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--dataset", TINY_DATASET, "--model", "kit-encoder"], "model 'kit-encoder' serves video_encoding, but the dataset's task is nlb_cosmoothing"),
        (["--dataset", TINY_ENCODING_DATASET, "--model", "kit-encoder", "--objective", "kit-cosmoothing"], "objective 'kit-cosmoothing' serves nlb_cosmoothing, but the dataset's task is video_encoding"),
        (["--dataset", TINY_ENCODING_DATASET, "--model", "kit-linear", "--objective", "kit-poisson"], "model 'kit-linear' serves nlb_cosmoothing, but the dataset's task is video_encoding"),
    ],
)
def test_a_component_for_another_task_is_refused_in_one_line(bench_home, capsys, arguments, message):
    code = main(["run", *arguments, "--epochs", "1", "--no-progress"], host=kit_host(KitComponentsPlugin(), TinyEncodingPlugin()))
    err = capsys.readouterr().err
    assert code != 0 and message in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1


def test_an_ensembler_for_another_task_is_refused():
    host = kit_host(KitComponentsPlugin(), TinyEncodingPlugin())
    with pytest.raises(BenchError, match="ensembler 'kit-mean' serves nlb_cosmoothing, but the dataset's task is video_encoding"):
        host.ensembler("kit-mean", {}, task=ENCODING_TASK)
    assert host.ensembler("mean", {"top": 0}, task=ENCODING_TASK) is not None


def test_a_model_default_objective_is_used_without_objective():
    from harness.plugin.host import resolve_objective
    from harness.specs import RunSpec

    host = kit_host(TinyEncodingPlugin())
    spec = resolve_objective(host, RunSpec(dataset=TINY_ENCODING_DATASET, model="kit-encoder", objective=None))
    assert spec.objective == "kit-poisson"
    assert host.default_spec("kit-encoder").objective == "kit-poisson"
    with pytest.raises(BenchError, match="needs an --objective"):
        resolve_objective(kit_host(KitComponentsPlugin(), TinyEncodingPlugin()), RunSpec(dataset=TINY_DATASET, model="kit-linear", objective=None))


def test_records_without_a_task_are_nlb_cosmoothing():
    from harness.store.records import record_task

    assert record_task({})["primary_metric"] == "co-bps"
    assert record_task({"task": {"name": "video_encoding", "primary_metric": "single-trial correlation", "validation_metric": "val_correlation"}})["name"] == ENCODING_TASK


def test_validate_refuses_a_model_and_objective_of_different_tasks(tmp_path, capsys):
    spec = tmp_path / "mixed.yaml"
    spec.write_text(f"version: 1\ndataset: {TINY_ENCODING_DATASET}\nmodel: kit-encoder\nobjective: kit-cosmoothing\n")
    code = main(["validate", str(spec)], host=kit_host(KitComponentsPlugin(), TinyEncodingPlugin()))
    assert code != 0
    assert "objective 'kit-cosmoothing' serves nlb_cosmoothing, but model 'kit-encoder' serves video_encoding" in capsys.readouterr().out


def test_a_store_of_both_tasks_ranks_each_board_by_its_own_primary_metric(tmp_path):
    from harness.store import records as results
    from harness.leaderboard import generate
    from harness.tasks.nlb.metrics import MetricValue
    from tests.fixtures.run_records import make_record

    store = tmp_path / "store"
    results.write_record(make_record("nlb-run"), store)
    encoding_metrics = {
        "single-trial correlation": MetricValue(0.31, "eval", 2, [1, 2], "pooled", True),
        "poisson loss": MetricValue(0.8, "eval", 2, [1, 2], "", False),
        "val_correlation": MetricValue(0.3, "val", 2, [5, 6], "", True),
    }
    for run_id, seed, value in (("enc-a", 0, 0.31), ("enc-b", 1, 0.29)):
        metrics = {**encoding_metrics, "single-trial correlation": MetricValue(value, "eval", 2, [1, 2], "pooled", True)}
        results.write_record(
            make_record(
                run_id, seed=seed, model="dwiseneuro", objective="cutmix",
                dataset={"name": "sensorium_synthetic", "checksum": "e1", "source": "synthetic", "config": {}},  # no bins
                metrics=results.record_metrics(metrics),
                task={"name": ENCODING_TASK, "primary_metric": "single-trial correlation", "validation_metric": "val_correlation"},
            ),
            store,
        )
    generate(store, tmp_path / "out")
    board = (tmp_path / "out" / "sensorium_synthetic.md").read_text()
    assert "rank by single-trial correlation (↑)" in board and "0.3000 ± 0.0141" in board
    assert board.splitlines()[2] == "# sensorium_synthetic" and "ms bins" not in board
    assert "single split, 2 trials" in board  # the Validation column counts val_correlation's trials
    index = (tmp_path / "out" / "index.md").read_text()
    assert "| Best by its primary metric | Value |" in index
    assert "0.3000 (single-trial correlation)" in index and "0.2100 (co-bps)" in index
    assert "rank by co-bps" in (tmp_path / "out" / "mc_maze_small.md").read_text()
