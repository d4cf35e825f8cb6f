"""Where the harness keeps its state: BENCH_HOME (results store, runs, checkpoints, caches)."""

from __future__ import annotations

import os
from pathlib import Path


def bench_home() -> Path:
    """``$BENCH_HOME``, else ``$XDG_DATA_HOME/bench-harness``, else ``~/.local/share/bench-harness``."""
    configured = os.environ.get("BENCH_HOME")
    if configured:
        return Path(configured).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "bench-harness"


def results_dir() -> Path:
    return bench_home() / "results"


def runs_dir() -> Path:
    return bench_home() / "runs"


def cache_dir() -> Path:
    return bench_home() / "cache"


def data_dir() -> Path:
    """Where downloaded raw data goes (``bench data download``)."""
    return bench_home() / "data"
