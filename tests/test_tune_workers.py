"""``bench tune`` worker processes: two on one PostgreSQL study (a throwaway server) finish the
requested trials with none lost or run twice; ``kill -9`` of a worker mid-trial, on PostgreSQL
and on the SQLite default, leaves the finished trials intact and the killed trial failed and
queued again, and running the command again completes the study (the retry resumes the run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
import torch
from fixtures.postgres import postgres_binaries, throwaway_postgres

from harness.search.worker import count_slots, fail_reason, slot_of

TESTS = Path(__file__).resolve().parent
TUNE = ["tune", "--dataset", "bench-tiny", "--model", "tunable", "--objective", "kit-cosmoothing", "--set", "tunable.groups=1", "--heartbeat", "1", "--pruner", "none"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def postgres_url():
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql (.ci/run does)")
    with throwaway_postgres(binaries) as url:
        yield url


def start_worker(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "BENCH_HOME": str(home), "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "fixtures.tunable", *TUNE, *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=400)
    assert process.returncode == 0, out + err
    return out


_STORAGES: dict[str, optuna.storages.RDBStorage] = {}


def load(url: str, name: str) -> optuna.Study:
    """The study, through one storage per URL (a storage per poll would exhaust the server's connections)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if url not in _STORAGES:
        _STORAGES[url] = optuna.storages.RDBStorage(url.replace("postgresql://", "postgresql+psycopg://"))
    return optuna.load_study(study_name=name, storage=_STORAGES[url])


def kill_mid_trial(process: subprocess.Popen, home: Path, storage: str, name: str) -> int:
    """SIGKILL ``process`` once some trial is complete and its own running trial has
    checkpointed two epochs; returns the killed trial's number."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, "the worker finished before it could be killed: " + process.communicate()[0]
        trials = []
        if storage.startswith("postgresql") or Path(storage.split("///", 1)[1]).exists():
            try:
                trials = load(storage, name).get_trials(deepcopy=False)
            except KeyError:  # the study is not created yet
                pass
            except sqlalchemy.exc.OperationalError as error:  # the worker is creating Optuna's tables
                if "already exists" not in str(error):
                    raise
        complete = any(t.state.name == "COMPLETE" for t in trials)
        for trial in trials:
            mine = trial.user_attrs.get("worker", "").endswith(f":{process.pid}")
            last = home / "runs" / str(trial.user_attrs.get("run_id")) / "last.pt"
            if complete and mine and trial.state.name == "RUNNING" and last.exists():
                try:
                    epoch = torch.load(last, weights_only=True)["epoch"]
                except Exception:  # noqa: BLE001 - read between writes
                    continue
                if epoch >= 2:
                    process.kill()
                    process.wait(timeout=60)
                    return trial.number
        time.sleep(0.1)
    raise AssertionError("no trial of the worker ran long enough to be killed")


def records(home: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted((home / "results").glob("*.json"))]


def check_study_complete(study: optuna.Study, home: Path, wanted: int) -> list:
    """Every slot settled exactly once as complete, each by one recorded run of its own."""
    trials = study.get_trials(deepcopy=False)
    count = count_slots(trials)
    assert (count.slots, count.settled, count.running, count.open) == (wanted, wanted, 0, 0)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == len({slot_of(t) for t in complete}) == wanted  # none lost, none run twice
    assert len({t.user_attrs["run_id"] for t in complete}) == wanted
    recorded = {r["search_trial"]: r for r in records(home) if r.get("search", {}).get("study") == study.study_name}
    assert sorted(recorded) == sorted(slot_of(t) for t in complete)
    for trial in complete:
        record = recorded[slot_of(trial)]
        assert record["run_id"] == trial.user_attrs["run_id"] and record["search"]["trial"] == trial.number
        assert record["metrics"]["val_co_bps"]["value"] == pytest.approx(trial.value)
    surplus = [t for t in trials if t.user_attrs.get("surplus")]
    assert all(t.state.name == "FAIL" and "not run" in t.user_attrs["fail_reason"] for t in surplus)
    return trials


def check_killed_trial(trials: list, killed: int, finished_before: dict[int, float]) -> None:
    by_number = {t.number: t for t in trials}
    for number, value in finished_before.items():  # finished trials are intact
        assert by_number[number].state.name == "COMPLETE" and by_number[number].value == value
    assert by_number[killed].state.name == "FAIL"  # never silently complete
    (retry,) = [t for t in trials if t.number != killed and slot_of(t) == killed]
    assert retry.state.name == "COMPLETE" and retry.user_attrs["run_id"] == by_number[killed].user_attrs["run_id"]
    assert fail_reason(by_number[killed], trials) == f"its worker stopped (killed or lost; no heartbeat); run again as trial {retry.number}"


def test_two_workers_share_one_postgresql_study(postgres_url, tmp_path):
    home = tmp_path / "home"
    args = ["--storage", postgres_url, "--study-name", "shared", "--trials", "5", "--set", "train.epochs=4"]
    first, second = start_worker(home, *args), start_worker(home, *args)
    outputs = [finish(first), finish(second)]
    trials = check_study_complete(load(postgres_url, "shared"), home, 5)
    pids = {int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in trials if t.state.name == "COMPLETE"}
    assert pids == {first.pid, second.pid}, outputs  # both worked on the study
    assert all("all 5 trials are settled" in out for out in outputs)


def test_kill_9_of_a_postgresql_worker_mid_trial(postgres_url, tmp_path):
    home = tmp_path / "home"
    args = ["--storage", postgres_url, "--study-name", "killed", "--trials", "3", "--set", "train.epochs=60"]
    doomed, survivor = start_worker(home, *args), start_worker(home, *args)
    killed = kill_mid_trial(doomed, home, postgres_url, "killed")
    finished_before = {t.number: t.value for t in load(postgres_url, "killed").get_trials() if t.state.name == "COMPLETE"}
    survived = finish(survivor)  # it notices the silent trial and runs it again
    rerun = finish(start_worker(home, *args))
    assert "all 3 trials are settled" in rerun
    trials = check_study_complete(load(postgres_url, "killed"), home, 3)
    check_killed_trial(trials, killed, finished_before)
    assert "resuming" in survived + rerun  # the retry continued the killed run from its checkpoint


def test_kill_9_of_a_worker_on_the_sqlite_default_then_rerun(tmp_path):
    home = tmp_path / "home"
    storage = f"sqlite:///{home / 'studies.db'}"
    args = ["--study-name", "local", "--trials", "2", "--set", "train.epochs=20"]
    killed = kill_mid_trial(start_worker(home, *args), home, storage, "local")
    before = load(storage, "local").get_trials()
    assert before[killed].state.name == "RUNNING"  # until a worker sees its heartbeat stopped
    finished_before = {t.number: t.value for t in before if t.state.name == "COMPLETE"}
    rerun = finish(start_worker(home, *args))
    assert f"(retry of {killed})" in rerun and "resuming" in rerun
    check_killed_trial(check_study_complete(load(storage, "local"), home, 2), killed, finished_before)
