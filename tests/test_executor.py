"""The executor seam without Ray: ``--seeds`` and several specs run through the sequential
executor as the runs ``--seed`` would make; a run shipped from another home lands in this one's
store and pools there; ``bench --help`` and a plain ``bench run`` import nothing of Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.run.shipping import land_run, pack_run
from harness.store.records import predictions_path, read_records
from harness.testing import KitComponentsPlugin, kit_host

RUN = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--no-progress", "--fold-ensembler", "kit-mean", "--epochs", "2"]


def stored(home: Path) -> dict[str, dict]:
    return {record["run_id"]: record for record in read_records(home / "results")}


def test_seeds_make_the_runs_that_each_seed_makes_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "seeds"))
    assert main([*RUN, "--seeds", "0,1"], host=kit_host(KitComponentsPlugin())) == 0
    together = stored(tmp_path / "seeds")
    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "one"))
    for seed in ("0", "1"):
        assert main([*RUN, "--seed", seed], host=kit_host(KitComponentsPlugin())) == 0
    alone = stored(tmp_path / "one")
    assert sorted(together) == sorted(alone) and len(alone) == 2
    assert {record["seed"] for record in together.values()} == {0, 1}
    for run_id, record in alone.items():
        assert together[run_id]["metrics"] == record["metrics"]


def test_seeds_refuse_a_seed_beside_them_or_a_bad_list(bench_home, capsys):
    assert main([*RUN, "--seeds", "0,1", "--seed", "2"], host=kit_host(KitComponentsPlugin())) == 1
    assert "exclude each other" in capsys.readouterr().err
    assert main([*RUN, "--seeds", "0,x"], host=kit_host(KitComponentsPlugin())) == 1
    assert "whole numbers" in capsys.readouterr().err
    assert main([*RUN, "--engine", "spark"], host=kit_host(KitComponentsPlugin())) == 1
    assert "sequential, ray" in capsys.readouterr().err


def test_several_specs_and_folds_make_each_result(bench_home, tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("dataset: bench-tiny\nmodel: kit-linear\nobjective: kit-cosmoothing\nfolds: 2\n")
    second.write_text("dataset: bench-tiny\nmodel: kit-linear\nobjective: kit-cosmoothing\nseed: 3\n")
    assert main([*RUN, "--spec", str(first), "--spec", str(second)], host=kit_host(KitComponentsPlugin())) == 0
    records = stored(bench_home).values()
    pooled = [record for record in records if record.get("folds")]
    assert len(pooled) == 1 and pooled[0]["folds"]["k"] == 2
    assert [record["seed"] for record in records if not record.get("folds") and record["spec"].get("fold") is None] == [3]
    assert len(records) == 4  # two folds, their pooled record, the seed-3 run


def test_a_run_shipped_from_another_home_lands_in_this_store_and_pools(tmp_path, monkeypatch):
    worker, driver = tmp_path / "worker", tmp_path / "driver"
    monkeypatch.setenv("BENCH_HOME", str(worker))
    assert main([*RUN, "--folds", "2"], host=kit_host(KitComponentsPlugin())) == 0
    at_worker = stored(worker)
    (pooled,) = [record for record in at_worker.values() if record.get("folds")]
    folds = [at_worker[run_id] for run_id in pooled["folds"]["members"]]
    shipped = [(record, pack_run(record)) for record in folds]
    assert all("last.pt" not in files and any(name.endswith(".h5") for name in files) for _, files in shipped)
    import shutil

    shutil.rmtree(worker)  # the driver sees nothing of the worker's disk

    monkeypatch.setenv("BENCH_HOME", str(driver))
    landed = [land_run(record, files) for record, files in shipped]
    for record in landed:
        assert record["paths"]["run_dir"] == str(driver / "runs" / record["run_id"])
        assert predictions_path(record).is_file() and Path(record["paths"]["checkpoint"]).is_file()
    assert sorted(stored(driver)) == sorted(record["run_id"] for record in folds)
    # the folds are in this store: the same command pools them here, training nothing
    assert main([*RUN, "--folds", "2"], host=kit_host(KitComponentsPlugin())) == 0
    (again,) = [record for record in stored(driver).values() if record.get("folds")]
    assert again["run_id"] == pooled["run_id"] and again["metrics"] == pooled["metrics"]


def test_a_shipped_file_name_cannot_leave_the_run_folder(bench_home):
    record = {"run_id": "x", "paths": {"run_dir": "/elsewhere/x"}}
    with pytest.raises(ValueError, match="plain name"):
        land_run(record, {"../results/x.json": b"{}"})


PROBE = """
import contextlib, io, sys
from harness.cli import main
from harness.testing import KitComponentsPlugin, kit_host
with contextlib.redirect_stdout(io.StringIO()):
    assert main(['--help']) == 0
    assert main(sys.argv[1:], host=kit_host(KitComponentsPlugin())) == 0
print(sorted(name for name in sys.modules if name == 'ray' or name.startswith('ray.')))
"""


def test_help_and_a_plain_run_import_nothing_of_ray(bench_home):
    result = subprocess.run([sys.executable, "-c", PROBE, *RUN, "--folds", "2"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1].replace("'", '"')) == []


def test_a_retried_rerun_resumes_what_its_first_attempt_started(bench_home):
    from harness.run.execute import execute
    from harness.specs import RunSpec

    host = kit_host(KitComponentsPlugin())
    spec = RunSpec(dataset="bench-tiny", model="kit-linear", objective="kit-cosmoothing").with_overrides(train={"epochs": 3, "steps": 0})
    first, outcome = execute(host, spec, rerun=True, rerun_token="request-1")
    assert outcome.resumed_from_epoch is None
    # the same request again (Ray retrying a task whose worker died): resumes from last.pt
    again, outcome = execute(host, spec, rerun=True, rerun_token="request-1")
    assert outcome.resumed_from_epoch == 3 and again["run_id"] == first["run_id"]
    # another request to rerun starts over
    _, outcome = execute(host, spec, rerun=True, rerun_token="request-2")
    assert outcome.resumed_from_epoch is None
