"""Meta-tests guarding the hook contract: documented, exercised, and fired in a known order."""

from __future__ import annotations

import inspect
from pathlib import Path

from harness import hookimpl
from harness.plugin import hookspecs
from harness.cli import main
from harness.testing import KitComponentsPlugin, TinyDatasetPlugin, kit_host

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("bench_"))
TESTS = Path(__file__).resolve().parent


def test_every_hook_has_a_docstring_saying_what_it_gets_and_returns():
    assert len(HOOKS) >= 8
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 80, f"hook {name} needs a docstring"
        assert "called" in doc.lower() or "wins" in doc.lower(), f"{name}: say how results are collected"


def test_every_hook_is_exercised_by_a_test():
    sources = "\n".join(p.read_text() for p in TESTS.rglob("test_*.py"))
    sources += "\n".join(p.read_text() for p in (TESTS.parent / "harness" / "testing").glob("*.py"))
    for name in HOOKS:
        assert f"def {name}" in sources, f"no test plugin implements {name}"


class Recorder:
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
        "bench_run_started",
        "bench_epoch_finished",
        "bench_epoch_finished",
        "bench_epoch_finished",
        "bench_run_finished",
    ], recorder.calls


def test_dataset_for_path_is_asked_for_unknown_paths(tmp_path):
    class Claims:
        @hookimpl
        def bench_dataset_for_path(self, path):
            return ("bench-tiny", {"seed": 5}) if path.suffix == ".tiny" else None

    target = tmp_path / "my.tiny"
    target.write_text("x")
    host = kit_host(Claims())
    entry, config = host.resolve_dataset(str(target))
    assert entry.name == "bench-tiny" and config == {"seed": 5}

