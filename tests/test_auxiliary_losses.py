"""The AuxiliaryLosses contract: a model's own loss terms, added by the trainer and logged per epoch."""

from __future__ import annotations

import json

import pytest

from fixtures import penalised_model
from fixtures.penalised_model import PenalisedModelPlugin
from harness.cli import main
from harness.contracts import AuxiliaryLosses
from harness.testing import KitComponentsPlugin, kit_host, make_tiny_dataset, reference_model


def run(bench_home, *options: str) -> dict:
    code = main(
        ["run", "--dataset", "bench-tiny", "--model", "kit-penalised", "--objective", "kit-cosmoothing", "--no-progress",
         "--set", "train.patience=0", *options],
        host=kit_host(KitComponentsPlugin(), PenalisedModelPlugin()),
    )
    assert code == 0
    (record,) = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    return record


def readout_norm(bench_home, record) -> float:
    import torch

    state = torch.load(record["paths"]["checkpoint"], weights_only=True)["model"]
    return float(state["readout.weight"].pow(2).sum())


def test_a_model_without_the_method_does_not_honour_the_contract():
    assert not isinstance(reference_model(make_tiny_dataset().shape()), AuxiliaryLosses)


def test_terms_are_logged_per_epoch_and_counted_in_updates(bench_home, capsys):
    record = run(bench_home, "--epochs", "3", "--batch-size", "8", "--set", "model.weight=0.01", "--set", "model.ramp=4")
    capsys.readouterr()
    steps_per_epoch = -(-make_tiny_dataset().train.n_trials // 8)
    total = 3 * steps_per_epoch
    assert penalised_model.CALLS == [(step, total) for step in range(total)]
    history = record["history"]
    assert len(history) == 3 and all(row["aux_penalty"] > 0 for row in history)
    assert set(history[0]) == {"epoch", "train_loss", "val_co_bps", "best_val_co_bps", "val_loss", "elapsed", "aux_penalty"}
    # the ramp reaches full weight after 4 of the first epoch's updates: the first epoch's mean is lower
    assert history[0]["aux_penalty"] < history[1]["aux_penalty"]


def test_the_trainer_optimises_the_terms(bench_home, tmp_path, capsys, monkeypatch):
    plain = run(bench_home, "--epochs", "6", "--lr", "0.05", "--set", "model.weight=0.0")
    assert all(row["aux_penalty"] == 0 for row in plain["history"])
    norm_plain = readout_norm(bench_home, plain)
    other_home = tmp_path / "other"
    monkeypatch.setenv("BENCH_HOME", str(other_home))
    penalised = run(other_home, "--epochs", "6", "--lr", "0.05", "--set", "model.weight=1.0")
    capsys.readouterr()
    assert readout_norm(other_home, penalised) < 0.5 * norm_plain


def test_records_without_the_new_history_keys_still_validate():
    from harness.store.records import record_problems
    from fixtures.run_records import make_record

    old = make_record(history=[{"epoch": 0.0, "train_loss": 1.0, "val_co_bps": 0.1, "best_val_co_bps": 0.1, "elapsed": 1.0}])
    assert record_problems(old) == []
    new = make_record(history=[{**old["history"][0], "aux_kl_ic": 0.01, "sv_bps": 0.05}])
    assert record_problems(new) == []
