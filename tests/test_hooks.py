"""Meta-tests guarding the hook contract: documented, exercised, and fired in a known order."""

from __future__ import annotations

import inspect

from harness import hookimpl
from harness.plugin import hookspecs
from harness.cli import main
from harness.testing import KitComponentsPlugin, TinyDatasetPlugin, kit_host

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("bench_"))


def test_every_hook_has_a_docstring_saying_what_it_gets_and_returns():
    assert len(HOOKS) >= 8
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 80, f"hook {name} needs a docstring"
        assert "called" in doc.lower() or "wins" in doc.lower(), f"{name}: say how results are collected"


class Recorder:
    """Implements every hook and notes each call: the meta-tests below check that it implements
    every spec and that a run plus a path lookup fire them all."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def bench_register_commands(self, cli):
        self.calls.append("bench_register_commands")

    @hookimpl
    def bench_register_datasets(self, register):
        self.calls.append("bench_register_datasets")

    @hookimpl
    def bench_register_models(self, register):
        self.calls.append("bench_register_models")

    @hookimpl
    def bench_register_objectives(self, register):
        self.calls.append("bench_register_objectives")

    @hookimpl
    def bench_register_ensemblers(self, register):
        self.calls.append("bench_register_ensemblers")

    @hookimpl
    def bench_register_tasks(self, register):
        self.calls.append("bench_register_tasks")

    @hookimpl
    def bench_dataset_for_path(self, path):
        self.calls.append("bench_dataset_for_path")
        return None

    @hookimpl
    def bench_run_started(self, run):
        self.calls.append("bench_run_started")

    @hookimpl
    def bench_epoch_finished(self, run, epoch, metrics):
        assert "val_co_bps" in metrics and "train_loss" in metrics
        self.calls.append("bench_epoch_finished")

    @hookimpl
    def bench_run_finished(self, run, record):
        assert record["run_id"] == run.run_id
        self.calls.append("bench_run_finished")


def test_hook_order_during_bench_run(bench_home, capsys):
    recorder = Recorder()
    host = kit_host(KitComponentsPlugin(), recorder)
    code = main(
        ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "3", "--no-progress"],
        host=host,
    )
    assert code == 0, capsys.readouterr()
    assert recorder.calls == [
        "bench_register_commands",
        "bench_register_datasets",
        "bench_register_models",
        "bench_register_objectives",
        "bench_register_ensemblers",
        "bench_register_tasks",
        "bench_run_started",
        "bench_epoch_finished",
        "bench_epoch_finished",
        "bench_epoch_finished",
        "bench_run_finished",
    ], recorder.calls


class ClaimsTiny:
    @hookimpl
    def bench_dataset_for_path(self, path):
        return ("bench-tiny", {"seed": 5}) if path.suffix == ".tiny" else None


def test_dataset_for_path_is_asked_for_unknown_paths(tmp_path):
    target = tmp_path / "my.tiny"
    target.write_text("x")
    host = kit_host(ClaimsTiny())
    entry, config = host.resolve_dataset(str(target))
    assert entry.name == "bench-tiny" and config == {"seed": 5}


def test_the_recorder_implements_every_hook_spec():
    implemented = sorted(name for name in dir(Recorder) if name.startswith("bench_"))
    assert implemented == HOOKS, f"Recorder lacks {sorted(set(HOOKS) - set(implemented))}"


def test_every_hook_fires_in_a_run_and_a_path_lookup(bench_home, tmp_path, capsys):
    """Not a grep for 'def bench_x': each hook is seen firing, with the arguments its spec names."""
    recorder = Recorder()
    host = kit_host(KitComponentsPlugin(), ClaimsTiny(), recorder)  # the recorder, last, is asked first
    code = main(
        ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "1", "--no-progress"],
        host=host,
    )
    assert code == 0, capsys.readouterr()
    target = tmp_path / "my.tiny"
    target.write_text("x")
    assert host.resolve_dataset(str(target))[0].name == "bench-tiny"
    assert sorted(set(recorder.calls)) == HOOKS, f"never fired: {sorted(set(HOOKS) - set(recorder.calls))}"

