"""``bench run --engine ray`` against a real local Ray cluster (2 CPUs on loopback ports, started
here and stopped after): K folds as K tasks pool into the record the sequential engine makes; a
worker SIGKILLed mid-run is retried by Ray, resumes from its last checkpoint and pools as if never
interrupted; a run that fails for its own reasons is recorded as failed and the others finish."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fixtures.ray_cluster import AttemptLog, attempts, local_cluster
from harness.cli import main
from harness.run.executor import FAILURE_FILE
from harness.store.records import read_records
from harness.testing import KitComponentsPlugin, kit_host

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install 'bench-harness[ray]'; scripts/setup.sh does)"),
]

RUN = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--no-progress", "--fold-ensembler", "kit-mean"]


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(num_cpus=2) as address:
        yield address


def host():
    return kit_host(KitComponentsPlugin(), AttemptLog())


def stored(home: Path) -> dict[str, dict]:
    return {record["run_id"]: record for record in read_records(home / "results")}


def pooled_of(home: Path) -> dict:
    (pooled,) = [record for record in stored(home).values() if record.get("folds")]
    return pooled


def same_scores(a: dict, b: dict) -> None:
    """Equal up to float round-off (the driver and the workers may run torch on other thread counts)."""
    assert a["run_id"] == b["run_id"]
    assert a["folds"]["members"] == b["folds"]["members"]
    for name, metric in b["metrics"].items():
        value = a["metrics"][name]["value"]
        assert value == metric["value"] if metric["value"] is None else value == pytest.approx(metric["value"], rel=1e-6, abs=1e-9), name


GOOD = "dataset: bench-tiny\nmodel: kit-linear\nobjective: kit-cosmoothing\nfolds: 3\n"
DIVERGES = "dataset: bench-tiny\nmodel: kit-linear\nobjective: kit-cosmoothing\nseed: 1\ntrain:\n  lr: 1.0e+30\n  grad_clip: 0\n"


def test_three_folds_run_as_three_tasks_and_pool_as_sequentially_while_a_failing_run_stops_nothing(cluster, tmp_path, monkeypatch, capsys):
    # one Ray job for both (each job starts its own workers, which is most of a Ray test's time)
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(DIVERGES)
    home = tmp_path / "ray"
    monkeypatch.setenv("BENCH_HOME", str(home))
    code = main([*RUN, "--epochs", "3", "--spec", str(good), "--spec", str(bad), "--engine", "ray", "--ray-address", cluster], host=host())
    err = capsys.readouterr().err
    assert code == 1 and "1 of 2 results made" in err
    on_ray = pooled_of(home)
    assert len(stored(home)) == 4  # three folds and their pooled record; the diverged run has none
    workers = {attempts(Path(stored(home)[run_id]["paths"]["run_dir"]))[0][0] for run_id in on_ray["folds"]["members"]}
    assert os.getpid() not in workers and 1 <= len(workers) <= 3  # trained by the cluster's workers (2 CPUs: some reused)
    (failed,) = (home / "runs").glob(f"*/{FAILURE_FILE}")
    assert failed.parent.name in err and "diverged" in failed.read_text()

    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "sequential"))
    assert main([*RUN, "--epochs", "3", "--spec", str(good)], host=host()) == 0
    same_scores(on_ray, pooled_of(tmp_path / "sequential"))


DRIVER = (
    "import sys\n"
    "from harness.cli import main\n"
    "from harness.testing import KitComponentsPlugin, kit_host\n"
    "from fixtures.ray_cluster import AttemptLog\n"
    "sys.exit(main(sys.argv[1:], host=kit_host(KitComponentsPlugin(), AttemptLog())))\n"
)
LONG = [*RUN, "--epochs", "40", "--set", "train.patience=0", "--folds", "2"]


def test_a_worker_killed_mid_run_is_retried_resumes_and_pools_as_if_uninterrupted(cluster, tmp_path, monkeypatch):
    home = tmp_path / "killed"
    env = {**os.environ, "BENCH_HOME": str(home), "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, *LONG, "--engine", "ray", "--ray-address", cluster],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    victim, deadline = None, time.monotonic() + 300
    while victim is None and time.monotonic() < deadline and driver.poll() is None:
        for log in (home / "runs").glob("*-cv2f1-*/attempts.log") if (home / "runs").exists() else []:
            tried = attempts(log.parent)
            if tried and tried[0][1] and tried[0][1][-1] >= 5:  # its last.pt holds epoch 5 or later
                victim = tried[0][0]
        time.sleep(0.05)
    assert victim is not None, f"fold 1 never reached epoch 5 while the driver ran: {driver.communicate()[0][-3000:]}"
    os.kill(victim, signal.SIGKILL)
    output, _ = driver.communicate(timeout=400)
    assert driver.returncode == 0, output[-3000:]

    (fold_dir,) = (home / "runs").glob("*-cv2f1-*")
    (first, killed_at), (second, resumed) = attempts(fold_dir)[0], attempts(fold_dir)[-1]
    assert len(attempts(fold_dir)) == 2 and first == victim != second  # retried once, in another worker
    assert resumed[0] == killed_at[-1] + 1 and resumed[-1] == 39  # from the last checkpoint to the end
    assert torch.load(fold_dir / "last.pt", weights_only=True)["epoch"] == 39

    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "straight"))
    assert main(LONG, host=host()) == 0
    same_scores(pooled_of(home), pooled_of(tmp_path / "straight"))
