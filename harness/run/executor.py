"""Where many trainings run: the seam under ``bench run --folds K``, ``--seeds`` and several specs.

An executor takes ordinary run specs (a fold, a seed, a board spec: each one run with its own run
id, checkpoints, resume and record) and says, per spec, how it ended: its record, or a
:class:`Failure`. The sequential executor runs them here, one after another, and stops at the
first failure as ``bench run`` always has; the Ray executor (``harness.run.ray_engine``, imported
only for ``--engine ray``) runs them as Ray tasks and lets the others finish when one fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from harness.specs import RunSpec
from harness.store.atomic import write_text
from harness.store.home import runs_dir

#: The engines ``--engine`` names.
ENGINES = ("sequential", "ray")
#: Written in a run folder when the run failed for its own reasons (removed when it completes).
FAILURE_FILE = "failure.json"


@dataclass(frozen=True)
class Failure:
    """A run that ended with an error of its own (diverged, bad setting): not retried."""

    run_id: str
    spec: RunSpec
    reason: str


#: How one spec ended: its record, or why it failed.
Ended = dict[str, Any] | Failure


class Executor(Protocol):
    def run_all(self, specs: Sequence[RunSpec]) -> Iterator[tuple[RunSpec, Ended]]:
        """Run every spec; yield each with how it ended, in the order they end."""
        ...


class SequentialExecutor:
    """One run after another in this process; an error stops the rest (``bench run`` as it was)."""

    def __init__(self, run_one: Callable[[RunSpec], dict[str, Any]]):
        self.run_one = run_one

    def run_all(self, specs: Sequence[RunSpec]) -> Iterator[tuple[RunSpec, Ended]]:
        for spec in specs:
            yield spec, self.run_one(spec)


def record_failure(failure: Failure, engine: str) -> Path:
    """Write ``runs/<run_id>/failure.json`` in this home: which run failed, when, how and why. The
    results store holds complete runs only, so boards never see it."""
    path = runs_dir() / failure.run_id / FAILURE_FILE
    note = {
        "run_id": failure.run_id,
        "failed": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine": engine,
        "reason": failure.reason,
        "spec": failure.spec.to_dict(),
    }
    write_text(path, json.dumps(note, indent=2, sort_keys=True, default=str) + "\n")
    return path


def clear_failure(run_id: str) -> None:
    """A run that completed is no longer failed."""
    (runs_dir() / run_id / FAILURE_FILE).unlink(missing_ok=True)
