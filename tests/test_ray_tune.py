"""``bench tune --engine ray`` against a real local Ray cluster (2 CPUs on loopback ports,
started here and stopped after): population-based training whose members are ordinary runs,
each exploit kept in the member's spec as a schedule that starts from its donor's history, and
TPE through Ray Tune's Optuna search."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.specs import spec_from_mapping
from harness.store.records import read_records
from harness.testing import kit_host

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install 'bench-harness[ray]'; scripts/setup.sh does)"),
]

# LFADS with coordinated dropout on the kit's tiny dataset, one update an epoch
BASE = {
    "dataset": "bench-tiny",
    "model": "lfads",
    "objective": "cd",
    "model_config": {"encoder_size": 16, "ic_size": 8, "generator_size": 16, "factors": 8, "co_size": 0},
    "train": {"lr": 0.005, "steps": 12, "batch_size": 256, "warmup_epochs": 0, "patience": 0},
}


@pytest.fixture(scope="module")
def cluster():
    from fixtures.ray_cluster import local_cluster

    with local_cluster(num_cpus=2) as address:
        yield address


def search_file(tmp_path: Path, **changes) -> Path:
    search = {"version": 1, "kind": "search", "base": BASE, "folds": 0, **changes}
    path = tmp_path / "search.yaml"
    path.write_text(json.dumps(search))
    return path


def test_pbt_members_are_runs_and_an_exploit_continues_its_donors_history(cluster, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("BENCH_HOME", str(home))
    search = search_file(tmp_path, trials=3, sampler={"name": "pbt", "interval": 3, "quantile": 0.25, "seed": 0})
    best = tmp_path / "best.yaml"
    code = main(["tune", "--spec", str(search), "--engine", "ray", "--ray-address", cluster, "--best-spec", str(best)], host=kit_host())
    out, err = capsys.readouterr()
    assert code == 0, out + err
    records = [r for r in read_records(home / "results") if (r.get("search") or {}).get("sampler") == "pbt"]
    assert len(records) == 3 and {r["spec"]["search_trial"] for r in records} == {0, 1, 2}  # one finished run a member
    assert all(r["updates"]["done"] == 12 for r in records)
    exploited = [r for r in records if r["spec"].get("schedule")]
    assert exploited, "three generations with a quarter exploited each: some member took another's weights"
    for record in exploited:
        first = record["spec"]["schedule"][0]["at"]  # one update an epoch: epochs before the first exploit
        prefixes = [other["history"][:first] for other in records if other is not record]
        assert record["history"][:first] in prefixes, "a member exploited at an update goes on from another member's history"
        assert set(record["spec"]["schedule"][0]["set"]) <= {"lfads.dropout", "lfads.kl_ic_weight", "lfads.l2_gen_weight", "train.lr", "cd.cd_rate"}
    written = spec_from_mapping(__import__("yaml").safe_load(best.read_text()))
    assert written.label == "pbt" and written.search_trial is None  # the best member's spec, schedule and all, to replay


def test_tpe_on_ray_tune_runs_trials_as_bench_runs(cluster, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("BENCH_HOME", str(home))
    search = search_file(tmp_path, trials=2, sampler={"name": "tpe", "seed": 0}, baseline=True)
    code = main(["tune", "--spec", str(search), "--engine", "ray", "--ray-address", cluster], host=kit_host())
    out, err = capsys.readouterr()
    assert code == 0, out + err
    records = {r["spec"]["search_trial"]: r for r in read_records(home / "results") if (r.get("search") or {}).get("sampler") == "tpe"}
    assert sorted(records) == [0, 1] and "2 of 2 finished" in out
    defaults = records[0]["hyperparameters"]  # the baseline: the configuration as it stands
    assert (defaults["model"]["dropout"], defaults["objective"]["cd_rate"], defaults["train"]["lr"]) == (0.1, 0.3, 0.005)
    assert records[1]["hyperparameters"]["model"]["dropout"] != 0.1


def test_pbt_needs_the_ray_engine(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "home"))
    code = main(["tune", "--spec", str(search_file(tmp_path, trials=2)), "--sampler", "pbt"], host=kit_host())
    assert code != 0 and "--engine ray" in capsys.readouterr().err
