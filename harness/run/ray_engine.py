"""The Ray executor: each training a Ray task on a cluster (``--ray-address``) or a local one.

Only ``bench run --engine ray`` imports this module (``pip install 'bench-harness[ray]'``).

Each task is an ordinary run (``harness.run.execute``) in a worker that rebuilds the driver's
plugins from its :class:`~harness.plugin.host.HostRecipe`. Where the worker sees the driver's
``BENCH_HOME`` (one machine, or a shared disk: the driver leaves a token file there that the
worker looks for) it trains there and the record is written as any run's. Elsewhere it trains in
its own home and returns the run folder's files with the record, which the driver lands in its
store (``harness.run.shipping``). Either way records and predictions end in the driver's store.

Faults: a task whose worker dies (killed, out of memory, a lost node) is retried by Ray up to
``max_retries`` times and resumes from the run's last checkpoint; a run that fails for its own
reasons (diverged, a bad setting) comes back as a :class:`~harness.run.executor.Failure`, is not
retried, and the others go on. Ctrl-C on the driver cancels the tasks still running (each keeps
its last checkpoint); the runs that finished were landed as they finished.
"""

from __future__ import annotations

import os
import secrets
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from harness.errors import BenchError
from harness.plugin.host import Host, HostRecipe
from harness.run.context import run_identity
from harness.run.executor import Ended, Failure, clear_failure, record_failure
from harness.run.shipping import land_run, pack_run
from harness.specs import RunSpec
from harness.store.home import bench_home

#: Where, in a home, a driver leaves its token for workers to find.
DRIVER_TOKENS = ".ray-drivers"


@dataclass(frozen=True)
class TaskResult:
    """What a task returns: the record, or why it failed; the run's files where the worker
    trained in a home of its own (None where it wrote into the driver's)."""

    run_id: str
    record: dict[str, Any] | None = None
    files: dict[str, bytes] | None = None
    failure: str | None = None


def train_task(recipe: HostRecipe, spec: RunSpec, rerun: bool, rerun_token: str, driver_home: str, driver_token: str) -> TaskResult:
    """One run in a Ray worker (a module-level function, so workers import it by name)."""
    from harness.run.execute import execute

    shared = (Path(driver_home) / DRIVER_TOKENS / driver_token).is_file()
    os.environ["BENCH_HOME"] = driver_home if shared else str(worker_home())
    host = recipe.build()
    run_id = "?"
    try:
        run_id = run_identity(host, spec).run_id
        record, _ = execute(host, spec, rerun=rerun, rerun_token=rerun_token)
    except Exception as error:  # noqa: BLE001 - the run's own failure; a dead worker never gets here
        reason = str(error) if isinstance(error, BenchError) else f"{type(error).__name__}: {error}"
        return TaskResult(run_id, failure=reason + ("" if isinstance(error, BenchError) else "\n" + traceback.format_exc()))
    return TaskResult(run_id, record=record, files=None if shared else pack_run(record))


def connect(address: str | None) -> bool:
    """Join the cluster at ``address``, else start a local one for this command; True when this
    call started the connection (the caller shuts it down). Workers start in the driver's folder
    and import the harness the way the driver does."""
    if ray.is_initialized():
        return False
    ray.init(address=address, include_dashboard=False, log_to_driver=True, configure_logging=False)
    return True


def worker_home() -> Path:
    """A worker's own home when it cannot see the driver's: its ``BENCH_HOME`` (else the default)."""
    return bench_home()


class RayExecutor:
    """Runs specs as Ray tasks with ``task_cpus`` CPUs and ``task_gpus`` (a fraction is fine) each."""

    def __init__(
        self,
        host: Host,
        *,
        address: str | None = None,
        task_cpus: float = 1,
        task_gpus: float = 0,
        max_retries: int = 3,
        rerun: bool = False,
        say: Callable[[str], None] = lambda message: None,
    ):
        if host.recipe is None:
            raise BenchError("--engine ray: this host's plugins were registered by hand, so Ray workers cannot make them again (build it with HostRecipe)")
        self.host, self.recipe, self.address, self.rerun, self.say = host, host.recipe, address, rerun, say
        self.options = {"num_cpus": task_cpus, "num_gpus": task_gpus, "max_retries": max_retries, "retry_exceptions": False}

    def run_all(self, specs: Sequence[RunSpec]) -> Iterator[tuple[RunSpec, Ended]]:
        started_here = connect(self.address)
        token = secrets.token_hex(8)
        token_file = bench_home() / DRIVER_TOKENS / token
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text(str(os.getpid()))
        self.say(f"Ray: {len(specs)} runs as tasks of {self.options['num_cpus']:g} CPU, {self.options['num_gpus']:g} GPU on {ray.cluster_resources().get('CPU', 0):g} CPUs")
        remote = ray.remote(train_task).options(**self.options)
        pending = {remote.remote(self.recipe, spec, self.rerun, token, str(bench_home()), token): spec for spec in specs}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                spec = pending.pop(done[0])
                try:
                    result = ray.get(done[0])
                except ray.exceptions.RayError as error:  # its worker died more than max_retries times
                    failure = Failure(run_identity(self.host, spec).run_id, spec, f"the Ray task failed: {type(error).__name__}: {error}")
                    record_failure(failure, "ray")
                    yield spec, failure
                    continue
                yield spec, self._ended(spec, result)
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref)  # a KeyboardInterrupt in the task: it stops, keeping its last checkpoint
            raise
        finally:
            token_file.unlink(missing_ok=True)
            if started_here:
                ray.shutdown()

    def _ended(self, spec: RunSpec, result: TaskResult) -> Ended:
        if result.failure is not None:
            failure = Failure(result.run_id, spec, result.failure)
            record_failure(failure, "ray")
            return failure
        record = result.record
        if result.files is not None:  # trained in the worker's own home: land it in ours
            record = land_run(record, result.files)
        clear_failure(result.run_id)
        return record
