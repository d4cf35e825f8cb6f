"""A run killed with SIGKILL mid-training resumes from its last checkpoint when started again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

RUN = (
    "import sys\n"
    "from harness.cli import main\n"
    "from harness.testing import KitComponentsPlugin, kit_host\n"
    "sys.exit(main(sys.argv[1:], host=kit_host(KitComponentsPlugin())))\n"
)
ARGS = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing",
        "--epochs", "300", "--set", "train.patience=0", "--no-progress"]


def bench(home: Path, *, wait: bool = True):
    env = {**os.environ, "BENCH_HOME": str(home)}
    command = [sys.executable, "-c", RUN, *ARGS]
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def record_of(home: Path) -> dict:
    (record,) = [json.loads(p.read_text()) for p in (home / "results").glob("*.json")]
    return record


def test_sigkill_then_restart_resumes_and_matches_an_uninterrupted_run(tmp_path):
    killed_home = tmp_path / "killed"
    process = bench(killed_home, wait=False)
    deadline = time.monotonic() + 120
    checkpoint = None
    while time.monotonic() < deadline and process.poll() is None:
        found = list((killed_home / "runs").glob("*/last.pt")) if (killed_home / "runs").exists() else []
        if found:
            try:
                if torch.load(found[0], weights_only=True)["epoch"] >= 10:
                    checkpoint = found[0]
                    break
            except Exception:  # noqa: BLE001 - caught between writes; an atomic rename makes this rare
                pass
        time.sleep(0.02)
    assert process.poll() is None, "the run finished before it could be killed; make it longer"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert checkpoint is not None
    assert not (killed_home / "results").exists() or not list((killed_home / "results").glob("*.json"))
    epoch_at_kill = torch.load(checkpoint, weights_only=True)["epoch"]

    resumed = bench(killed_home)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from epoch" in resumed.stdout
    resumed_epoch = int(resumed.stdout.split("resumed from epoch")[1].split()[0])
    assert resumed_epoch >= epoch_at_kill + 1

    straight_home = tmp_path / "straight"
    straight = bench(straight_home)
    assert straight.returncode == 0, straight.stderr
    killed, uninterrupted = record_of(killed_home), record_of(straight_home)
    assert killed["epochs"] == uninterrupted["epochs"] == 300
    assert killed["metrics"]["val_co_bps"]["value"] == uninterrupted["metrics"]["val_co_bps"]["value"]


# -- runs made before run ids hashed what trains -------------------------------------------------

import dataclasses  # noqa: E402
import shutil  # noqa: E402
from types import MappingProxyType  # noqa: E402

import pytest  # noqa: E402

from fixtures.interrupt import Interrupt, StopAt  # noqa: E402
from harness import hookimpl  # noqa: E402
from harness.run.context import IDENTITY_FILE, run_identity  # noqa: E402
from harness.run.execute import execute  # noqa: E402
from harness.specs import RunSpec  # noqa: E402
from harness.store.records import canonical_json, read_records  # noqa: E402
from harness.testing import KitComponentsPlugin, kit_host  # noqa: E402

SPEC = RunSpec(dataset="bench-tiny", model="kit-linear", objective="kit-cosmoothing").with_overrides(train={"epochs": 8, "patience": 0})


def as_version_1(record: dict, home: Path) -> dict:
    """``record`` rewritten as schema version 1 wrote it: named by the spec's legacy id."""
    old = {key: value for key, value in record.items() if key not in ("legacy_run_id", "updates")}  # keys of versions 2 and 3
    old.update(run_id=record["legacy_run_id"], schema_version=1)
    (home / "results" / f"{record['run_id']}.json").unlink()
    (home / "results" / f"{old['run_id']}.json").write_text(canonical_json(old))
    return old


def changed_dataset_default(host):
    registry = host.registries.datasets
    entry = registry.get("bench-tiny")
    registry._entries["bench-tiny"] = dataclasses.replace(entry, defaults=MappingProxyType({**entry.defaults, "seed": 1}))
    return host


def test_a_version_1_record_is_still_this_run_until_a_default_changes(bench_home):
    record, _ = execute(kit_host(KitComponentsPlugin()), SPEC)
    old = as_version_1(record, bench_home)
    found, outcome = execute(kit_host(KitComponentsPlugin()), SPEC)
    assert outcome is None and found == old  # not trained again

    host = changed_dataset_default(kit_host(KitComponentsPlugin()))
    retrained, outcome = execute(host, SPEC)
    assert outcome is not None and retrained["run_id"] != old["run_id"] != record["run_id"]
    assert retrained["legacy_run_id"] == old["run_id"] and retrained["dataset"]["config"] == {"seed": 1}
    assert sorted(r["run_id"] for r in read_records()) == sorted([old["run_id"], retrained["run_id"]])


def test_an_interrupted_run_folder_from_before_is_resumed(bench_home):
    identity = run_identity(kit_host(KitComponentsPlugin()), SPEC)
    with pytest.raises(Interrupt):
        execute(kit_host(KitComponentsPlugin(), StopAt(3)), SPEC)
    runs = bench_home / "runs"
    (runs / identity.run_id / IDENTITY_FILE).unlink()  # as a folder made before looked
    shutil.move(runs / identity.run_id, runs / identity.legacy_run_id)

    record, outcome = execute(kit_host(KitComponentsPlugin()), SPEC)
    assert outcome.resumed_from_epoch == 4 and record["epochs"] == 8  # after the checkpoint of epoch 3
    assert (record["run_id"], record["legacy_run_id"]) == (identity.run_id, identity.legacy_run_id)
    assert record["paths"]["run_dir"] == str(runs / identity.legacy_run_id)
    assert (runs / identity.legacy_run_id / IDENTITY_FILE).is_file() and not (runs / identity.run_id).exists()


def test_the_folder_of_a_finished_old_run_is_not_resumed_by_another_configuration(bench_home):
    record, _ = execute(kit_host(KitComponentsPlugin()), SPEC)
    old = as_version_1(record, bench_home)
    runs = bench_home / "runs"
    shutil.move(runs / record["run_id"], runs / old["run_id"])
    (runs / old["run_id"] / IDENTITY_FILE).unlink()

    retrained, outcome = execute(changed_dataset_default(kit_host(KitComponentsPlugin())), SPEC)
    assert outcome.resumed_from_epoch is None and retrained["paths"]["run_dir"] == str(runs / retrained["run_id"])


def test_fold_runs_recorded_before_are_pooled_without_training_again(bench_home):
    from harness.run.crossval import cross_validate

    spec = SPEC.with_overrides(folds=2)
    pooled = cross_validate(kit_host(KitComponentsPlugin()), spec, ensembler="kit-mean")
    old_folds = [as_version_1(read_record(bench_home, run_id), bench_home) for run_id in pooled["folds"]["members"]]
    (bench_home / "results" / f"{pooled['run_id']}.json").unlink()

    class NoTraining:
        @hookimpl
        def bench_run_started(self, run):
            raise AssertionError(f"{run.run_id} trained again")

    again = cross_validate(kit_host(KitComponentsPlugin(), NoTraining()), spec, ensembler="kit-mean")
    assert again["run_id"] == pooled["run_id"] and again["folds"]["members"] == [r["run_id"] for r in old_folds]
    assert again["metrics"] == pooled["metrics"]


def read_record(home: Path, run_id: str) -> dict:
    return json.loads((home / "results" / f"{run_id}.json").read_text())
