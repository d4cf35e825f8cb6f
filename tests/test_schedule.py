"""A spec's ``schedule``: hyperparameters that change mid-run (what a population-based search
does to a member, replayed), refused where a plugin does not declare them mutable, applied at
the first epoch at or after their update, and reapplied when a run resumes past them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.interrupt import StopAt
from harness import hookimpl
from harness.cli import main
from harness.errors import SpecError
from harness.specs import spec_from_mapping
from harness.store.records import read_records
from harness.testing import kit_host

# LFADS with coordinated dropout on the kit's tiny dataset: one update an epoch (a batch holds every trial)
SPEC = {
    "dataset": "bench-tiny",
    "model": "lfads",
    "objective": "cd",
    "model_config": {"encoder_size": 16, "ic_size": 8, "generator_size": 16, "factors": 8},
    "train": {"lr": 0.005, "steps": 8, "batch_size": 256, "warmup_epochs": 0, "patience": 0},
}
CHANGES = [{"at": 3, "set": {"train.lr": 0.0005, "lfads.dropout": 0.4, "cd.cd_rate": 0.5}}, {"at": 6, "set": {"lfads.kl_ic_weight": 0.001}}]


def write_spec(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(json.dumps({**SPEC, **changes}))
    return path


def run(path: Path, home: Path, monkeypatch, *plugins) -> tuple[int, dict | None]:
    monkeypatch.setenv("BENCH_HOME", str(home))
    code = main(["run", "--spec", str(path), "--no-progress"], host=kit_host(*plugins))
    records = read_records(home / "results")
    return code, (records[0] if records else None)


@pytest.mark.parametrize(
    ("schedule", "where", "says"),
    [
        ([{"at": 0, "set": {"train.lr": 0.1}}], "schedule[0].at", "above 0"),
        ([{"at": 4, "set": {"train.lr": 0.1}}, {"at": 4, "set": {"train.lr": 0.2}}], "schedule[1].at", "above 4"),
        ([{"at": 4, "set": {}}], "schedule[0].set", "non-empty"),
        ([{"at": 4, "set": {"lr": 0.1}}], "schedule[0].set.lr", "lfads.dropout or train.lr"),
        ([{"at": 4, "set": {"train.lr": "fast"}}], "schedule[0].set.train.lr", "a number"),
        ([{"at": 4}], "schedule[0]", "'at' (an update) and 'set'"),
    ],
)
def test_a_malformed_schedule_is_refused_naming_the_entry(schedule, where, says):
    with pytest.raises(SpecError) as caught:
        spec_from_mapping({**SPEC, "schedule": schedule}, source="s.yaml")
    assert where in str(caught.value) and says in str(caught.value)


def test_what_no_plugin_declares_mutable_is_refused_before_anything_trains(tmp_path, monkeypatch, capsys):
    path = write_spec(tmp_path, schedule=[{"at": 2, "set": {"lfads.generator_size": 32}}])
    code, record = run(path, tmp_path / "home", monkeypatch)
    err = capsys.readouterr().err
    assert code != 0 and record is None
    assert "schedule[0].set.lfads.generator_size" in err and "cd.cd_rate" in err and "lfads.dropout" in err and "train.lr" in err
    assert not (tmp_path / "home" / "runs").exists()


class LearningRates:
    """Keeps each epoch's learning rate (the trainer reports it; records keep no ``lr``)."""

    def __init__(self):
        self.rates: list[float] = []

    @hookimpl
    def bench_epoch_finished(self, run, epoch, metrics):
        self.rates.append(metrics["lr"])


def test_scheduled_values_hold_from_their_update_and_the_schedule_is_part_of_the_run(tmp_path, monkeypatch):
    plain_rates, scheduled_rates = LearningRates(), LearningRates()
    code, plain = run(write_spec(tmp_path), tmp_path / "plain", monkeypatch, plain_rates)
    assert code == 0
    code, scheduled = run(write_spec(tmp_path, schedule=CHANGES), tmp_path / "scheduled", monkeypatch, scheduled_rates)
    assert code == 0
    assert scheduled["run_id"] != plain["run_id"] and scheduled["spec"]["schedule"] == CHANGES and "schedule" not in plain["spec"]
    rates, before = scheduled_rates.rates, plain_rates.rates
    assert len(rates) == len(before) == 8
    assert rates[:3] == before[:3]  # epochs 0-2 (updates 0-2) train as the plain run does
    # from update 3 the peak is 5e-4 instead of the spec's 5e-3: the cosine factor is the plain run's
    for epoch in range(3, 8):
        assert rates[epoch] == pytest.approx(before[epoch] * 0.1, rel=1e-6)
    assert scheduled["history"][2]["train_loss"] == plain["history"][2]["train_loss"]
    assert scheduled["history"][4]["train_loss"] != plain["history"][4]["train_loss"]


def test_a_run_resumed_past_a_change_trains_as_one_never_interrupted(tmp_path, monkeypatch):
    path = write_spec(tmp_path, schedule=CHANGES)
    code, whole = run(path, tmp_path / "whole", monkeypatch)
    assert code == 0
    code, record = run(path, tmp_path / "resumed", monkeypatch, StopAt(4, KeyboardInterrupt))  # after update 4: the first change holds
    assert code != 0 and record is None
    code, resumed = run(path, tmp_path / "resumed", monkeypatch)
    assert code == 0 and resumed["run_id"] == whole["run_id"]
    assert [p["train_loss"] for p in resumed["history"]] == [p["train_loss"] for p in whole["history"]]
    assert resumed["metrics"]["co-bps"]["value"] == whole["metrics"]["co-bps"]["value"]
