"""`bench ensemble`: finished runs combined by a registered ensembler, scored and recorded like a run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.cli import main
from harness.metrics import nlb_bits_per_spike
from harness.submission import load_predictions
from harness.testing import KitComponentsPlugin, kit_host

RUN = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "3", "--no-progress"]


def records(bench_home):
    return {r["run_id"]: r for r in (json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json"))}


@pytest.fixture
def two_runs(bench_home, capsys):
    for seed in ("0", "1"):
        assert main([*RUN, "--seed", seed], host=kit_host(KitComponentsPlugin())) == 0
    capsys.readouterr()
    return records(bench_home)


def test_ensemble_of_matching_runs_is_scored_and_recorded(bench_home, two_runs, capsys):
    code = main(["ensemble", "--dataset", "bench-tiny", "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin()))
    out = capsys.readouterr().out
    assert code == 0, out
    (ensemble,) = [r for r in records(bench_home).values() if r["ensembler"]]
    assert ensemble["ensembler"] == "kit-mean" and ensemble["model"] == "kit-linear"
    assert sorted(ensemble["spec"]["members"]) == sorted(two_runs)
    assert ensemble["wall_seconds"] == pytest.approx(sum(r["wall_seconds"] for r in two_runs.values()), abs=1e-3)

    members = [load_predictions(r["paths"]["predictions"]) for r in two_runs.values()]
    data = kit_host().dataset("bench-tiny")
    expected = nlb_bits_per_spike(np.mean([m.val.heldout for m in members], axis=0), data.val.heldout)
    assert ensemble["metrics"]["val_co_bps"]["value"] == pytest.approx(expected, rel=1e-6)
    assert f"co-bps: {ensemble['metrics']['co-bps']['value']:.4f}" in out

    # the same members and settings name the same ensemble; it shows on the leaderboard as its own row
    assert main(["ensemble", *two_runs, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 0
    assert len([r for r in records(bench_home).values() if r["ensembler"]]) == 1
    assert main(["leaderboard", "--output", str(bench_home / "boards")], host=kit_host(KitComponentsPlugin())) == 0
    assert "kit-mean" in (bench_home / "boards" / "bench-tiny.md").read_text()


def test_ensemble_refuses_one_run_and_missing_predictions(bench_home, two_runs, capsys):
    first, second = sorted(two_runs)
    assert main(["ensemble", first, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 1
    assert "at least two finished runs, got 1" in capsys.readouterr().err

    (bench_home / "runs" / second / "predictions.h5").unlink()
    assert main(["ensemble", first, second, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 1
    err = capsys.readouterr().err
    assert second in err and "predictions.h5" in err and "missing" in err


def test_ensemble_refuses_runs_on_different_datasets(bench_home, two_runs, capsys):
    first, second = sorted(two_runs)
    path = bench_home / "results" / f"{second}.json"
    record = json.loads(path.read_text())
    record["dataset"]["checksum"] = "0" * 64
    path.write_text(json.dumps(record))
    assert main(["ensemble", first, second, "--ensembler", "kit-mean"], host=kit_host(KitComponentsPlugin())) == 1
    err = capsys.readouterr().err
    assert second in err and "checksum" in err and "one dataset" in err


def test_ensemble_needs_runs_or_a_dataset(bench_home, capsys):
    assert main(["ensemble"], host=kit_host(KitComponentsPlugin())) == 1
    assert "--dataset" in capsys.readouterr().err
