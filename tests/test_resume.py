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
