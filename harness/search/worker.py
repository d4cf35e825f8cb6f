"""``bench tune``'s study: Optuna trials that are ordinary bench runs.

Each trial samples a family and its parameters (:mod:`harness.search.space`), runs the spec
they make through :func:`harness.run.execute.execute` (its own run id, record, checkpoints, resume)
and reports the best of its plan's selection metric so far every epoch (``best_<metric>``), through a
``bench_epoch_finished`` hook registered for the trial's duration, to Optuna's pruner. A trial's
value is its record's validation metric, the one the run's task names (val co-bps for NLB, val
single-trial correlation for video encoding), maximised or minimised as the task says. Where studies live, how they sample
and prune: :mod:`harness.search.study`.

A study holds ``--trials`` trial *slots*. Workers heartbeat while they run a trial; a worker
killed mid-trial stops heartbeating, and the next worker to look fails that trial and queues a
retry of it (Optuna's stale-trial callback) that resumes the same run from its checkpoint. A
worker leaves when every slot is settled (complete, pruned or failed), when the study's time
budget is spent, or never before the trials other workers are running have settled.
"""

from __future__ import annotations

import math
import os
import socket
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from harness import hookimpl
from harness.errors import BenchError
from harness.run.context import run_identity
from harness.plugin.host import Host
from harness.search.space import SearchPlan
from harness.search.study import DEFAULT_HEARTBEAT_SECONDS, MAX_RETRIES, STALE_AFTER_HEARTBEATS, make_sampler, objective_label, storage_kind
from harness.specs import RunSpec
from harness.store.records import cut_short, record_task

if TYPE_CHECKING:
    import optuna

#: A worker whose trials fail this many times in a row stops: the search itself is broken.
MAX_FAILURES_IN_A_ROW = 5
_SETTLED = ("COMPLETE", "PRUNED", "FAIL")


def worker_name() -> str:
    """Which worker runs a trial (host and process), kept with the trial for the dashboard."""
    return f"{socket.gethostname()}:{os.getpid()}"


class PrunedRun(BenchError):
    """Raised from ``bench_epoch_finished`` when the study's pruner stops a trial's run."""


class SurplusTrial(BenchError):
    """Two workers asked for the study's last slot at once; the later trial is not run."""


# -- one trial ---------------------------------------------------------------------------------
class PruningReporter:
    """A hook plugin registered on the run's plugin manager for one trial: reports the best of the
    run's selection metric so far each epoch (``best_<plan.selection_metric>``) and raises
    :class:`PrunedRun` when the pruner says stop. ``maximize`` is the study's direction."""

    def __init__(self, trial: optuna.Trial, maximize: bool = True):
        self.trial = trial
        self.maximize = maximize
        self.last_epoch: int | None = None
        self.run_id: str | None = None

    @hookimpl
    def bench_epoch_finished(self, run, epoch: int, metrics: dict[str, float]) -> None:
        if self.run_id not in (None, run.run_id):
            return  # a K-fold trial is judged on its first fold's curve (later folds restart at epoch 0)
        self.run_id = run.run_id
        plan = run.plan
        self.last_epoch = epoch
        if plan is None or plan.higher_is_better != self.maximize:
            return  # a curve that improves the other way than the study's value would mislead the pruner
        value = float(metrics[f"best_{plan.selection_metric}"])
        if not math.isfinite(value):
            return
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            raise PrunedRun(f"pruned at epoch {epoch + 1} (best {plan.selection_label} {value:.4f})")


def trial_value(host: Host, record: Mapping[str, Any]) -> float:
    """What a trial optimises: its run's validation metric (the record's task names it), scored on
    the best checkpoint."""
    task = host.task(record_task(record)["name"])
    metric = record["metrics"].get(task.validation_metric) or {}
    if metric.get("value") is None:
        raise BenchError(f"run {record['run_id']} has no {task.validation_label} to optimise ({metric.get('note') or 'no val targets'})")
    return float(metric["value"])


def search_task(host: Host, search: Any) -> Any:
    """The task of the search's base dataset (loaded once: a dataset names its task), which says
    what the study optimises and which way."""
    data, _ = host.load_dataset(search.base.dataset, search.base.dataset_config)
    return host.task_of(data)


def protocol_search(host: Host, search: Any) -> tuple[Any, Any]:
    """The search as it runs, and its task: trials scored by the pooled validation metric of K
    folds where the search says K (``--folds`` or the search spec's ``folds:``; 0 is the one
    split), else the base spec's folds, else the K the task ranks by where the dataset withholds
    its eval targets (:meth:`harness.contracts.Task.ranks_by_folds`), so that a search selects
    on what its leaderboard ranks. Pruning still watches the first fold's curve."""
    from dataclasses import replace

    data, _ = host.load_dataset(search.base.dataset, search.base.dataset_config)
    task = host.task_of(data)
    folds = search.folds
    if folds is None:
        ranks_by = getattr(task, "ranks_by_folds", None)  # a task written before the method existed has none
        folds = search.base.folds or (ranks_by(data) if ranks_by is not None else None) or 0
    return replace(search, folds=folds, base=replace(search.base, folds=folds, fold=None)), task


def selection_label(search: Any, task: Any) -> str:
    """What a study's trials are scored by: "pooled 5-fold val co-bps" or "val co-bps (one split)"."""
    return f"pooled {search.base.folds}-fold {task.validation_label}" if search.base.folds else f"{task.validation_label} (one split)"


def evaluate_spec(
    host: Host, spec: RunSpec, search: Mapping[str, Any], say: Callable[[str], None] = lambda message: None
) -> tuple[float, list[dict[str, Any]]]:
    """Run one trial's spec; returns the value the study optimises and the records behind it
    (the scored record first).

    The one place a trial is scored: a spec with ``folds: K`` runs its K fold runs (each
    recorded with the trial) and scores the pooled validation metric of their cross-validated
    record, every labelled trial judged by the fold model that held it out, instead of one split's.
    """
    from harness.run.execute import execute

    def run(one: RunSpec) -> dict[str, Any]:
        return execute(host, one, search=search, on_status=lambda message: say(message) if message.startswith("resum") else None)[0]

    if not spec.folds:
        record = run(spec)
        return trial_value(host, record), [record]
    from harness.run.crossval import cross_validate, cross_validation_spec

    members: list[dict[str, Any]] = []
    pooled = cross_validate(host, cross_validation_spec(spec), run_fold=lambda one: members.append(run(one)) or members[-1])
    return trial_value(host, pooled), [pooled, *members]


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if isinstance(error, BenchError) else f"{type(error).__name__}: {text}"


# -- the worker --------------------------------------------------------------------------------
@dataclass
class Budgets:
    trials: int
    max_minutes: float | None = None  # the whole study, for this worker
    trial_max_minutes: float | None = None


@dataclass
class WorkerReport:
    ran: list[int] = field(default_factory=list)
    stopped_because: str = ""
    wall_seconds: float = 0.0


def slot_of(trial: Any) -> int:
    """The slot a trial fills: its own number, or the number of the trial it retries."""
    return int(trial.system_attrs.get("failed_trial", trial.number))


def is_surplus(trials: Sequence[Any], number: int, wanted: int) -> bool:
    """Whether trial ``number`` (not a retry) came after the study's slots were all taken."""
    earlier = [t for t in trials if t.number < number and "failed_trial" not in t.system_attrs and not t.user_attrs.get("surplus")]
    return len(earlier) >= wanted


@dataclass
class SlotCount:
    slots: int  # slots taken (by a trial in any state)
    open: int  # slots whose latest attempt waits to run (a retry)
    running: int  # slots whose latest attempt runs on some worker
    settled: int


def count_slots(trials: Sequence[Any]) -> SlotCount:
    latest: dict[int, Any] = {}
    for trial in trials:
        if trial.user_attrs.get("surplus"):
            continue
        slot = slot_of(trial)
        if slot not in latest or trial.number > latest[slot].number:
            latest[slot] = trial
    states = [trial.state.name for trial in latest.values()]
    return SlotCount(len(latest), states.count("WAITING"), states.count("RUNNING"), sum(s in _SETTLED for s in states))


class Worker:
    """Runs trials of one study until its slots are settled or its time is up."""

    def __init__(
        self,
        host: Host,
        plan: SearchPlan,
        study: optuna.Study,
        budgets: Budgets,
        *,
        storage_url: str,
        heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS,
        say: Callable[[str], None] = lambda message: None,
    ):
        self.host, self.plan, self.study, self.budgets, self.say = host, plan, study, budgets, say
        self.storage = storage_kind(storage_url)
        self.heartbeat = heartbeat_seconds
        self.started = time.monotonic()
        self.current: int | None = None

    def remaining_minutes(self) -> float | None:
        if self.budgets.max_minutes is None:
            return None
        return self.budgets.max_minutes - (time.monotonic() - self.started) / 60

    def run(self) -> WorkerReport:
        import optuna

        report, failures, said_waiting = WorkerReport(), 0, False
        optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial gets one line of ours
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        try:
            while True:
                remaining = self.remaining_minutes()
                # a trial cut to a sliver of its budget would only mislead the sampler
                enough = 0.5 * self.budgets.trial_max_minutes if self.budgets.trial_max_minutes else 0.0
                if remaining is not None and remaining <= enough:
                    report.stopped_because = f"the study's time budget of {self.budgets.max_minutes:g} min is spent"
                    break
                optuna.storages.fail_stale_trials(self.study)  # a killed worker's trial: failed, and queued again
                trials = self.study.get_trials(deepcopy=False)
                count = count_slots(trials)
                if count.open or count.slots < self.budgets.trials:
                    said_waiting = False
                    self.study.sampler = make_sampler(self.plan.search.sampler, seed_offset=len(trials), source=self.plan.search.source)
                    outcome = self.run_one()
                    report.ran.append(outcome.number)
                    if outcome.user_attrs.get("surplus"):
                        continue
                    failures = failures + 1 if outcome.state.name == "FAIL" else 0
                    if failures >= MAX_FAILURES_IN_A_ROW:
                        raise BenchError(f"{failures} trials failed in a row, the search itself looks broken; the last: {outcome.user_attrs.get('fail_reason', '?')}")
                    continue
                if not count.running:
                    report.stopped_because = f"all {count.slots} trials are settled"
                    break
                if not said_waiting:
                    self.say(
                        f"waiting for {count.running} trial(s) running on other workers (a worker that died is "
                        f"noticed {self.heartbeat * STALE_AFTER_HEARTBEATS:g} s after its last heartbeat and its trial run again)"
                    )
                    said_waiting = True
                time.sleep(min(self.heartbeat, max(1.0, (remaining or 1.0) * 60)))
        except KeyboardInterrupt:
            self.requeue_interrupted()
            raise
        report.wall_seconds = time.monotonic() - self.started
        return report

    def run_one(self):
        """One trial through ``study.optimize`` (which pops a queued retry first, heartbeats
        while it runs, and records a failure); returns the finished trial."""
        self.current = None
        self.study.optimize(self.objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
        (finished,) = [t for t in self.study.get_trials(deepcopy=False) if t.number == self.current]
        self.say(self.describe(finished))
        return finished

    def objective(self, trial: optuna.Trial) -> float:
        import optuna

        self.current = trial.number
        trials = self.study.get_trials(deepcopy=False)
        frozen = next(t for t in trials if t.number == trial.number)
        slot = slot_of(frozen)
        if slot == trial.number and is_surplus(trials, trial.number, self.budgets.trials):
            trial.set_user_attr("surplus", True)
            trial.set_user_attr("fail_reason", f"not run: another worker took the study's last slot (of {self.budgets.trials}) at the same moment")
            raise SurplusTrial(trial.user_attrs["fail_reason"])
        reporter = PruningReporter(trial, maximize=self.study.direction.name == "MAXIMIZE")
        try:
            family, values = self.plan.sample(trial)
            trial.set_user_attr("family", family.label)
            trial.set_user_attr("worker", worker_name())
            minutes = [m for m in (self.budgets.trial_max_minutes, self.remaining_minutes()) if m is not None]
            spec = self.plan.run_spec(family, values).with_overrides(search_trial=slot, train={"max_minutes": min(minutes) if minutes else None})
            trial.set_user_attr("run_id", run_identity(self.host, spec if not spec.folds else replace(spec, fold=0)).run_id)
            self.host.manager.register(reporter)
            search = {"study": self.study.study_name, "trial": trial.number, "storage": self.storage}
            value, records = evaluate_spec(self.host, spec, search, say=lambda m: self.say(f"trial {trial.number}: {m}"))
        except PrunedRun as pruned:
            trial.set_user_attr("pruned_at_epoch", (reporter.last_epoch or 0) + 1)
            raise optuna.TrialPruned(str(pruned)) from None
        except Exception as error:
            trial.set_user_attr("fail_reason", one_line(error))
            raise
        finally:
            if self.host.manager.is_registered(reporter):
                self.host.manager.unregister(reporter)
        trial.set_user_attr("run_id", records[0]["run_id"])  # the scored record (a K-fold trial's pooled one)
        trial.set_user_attr("epochs", int(records[-1]["epochs"]))
        trial.set_user_attr("train_seconds", float(records[0]["wall_seconds"]))
        short = cut_short(records[0], {record["run_id"]: record for record in records[1:]})
        if short:  # its budget was not spent: a value that depends on the machine's load, named so in the table
            trial.set_user_attr("cut_short", short)
            self.say(f"trial {trial.number}: {short} (raise --trial-minutes or the study's max_minutes)")
        return value

    def requeue_interrupted(self) -> None:
        """Ctrl-C marks the running trial failed (Optuna); queue it again so a rerun resumes its run."""
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        if self.current is None:
            return
        trial = next((t for t in self.study.get_trials(deepcopy=False) if t.number == self.current), None)
        if trial is not None and trial.state.name == "FAIL" and not trial.user_attrs.get("surplus"):
            RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)(self.study, trial)

    def describe(self, trial: Any) -> str:
        head = f"trial {trial.number}" + (f" (retry of {slot_of(trial)})" if slot_of(trial) != trial.number else "")
        family = trial.user_attrs.get("family", "") + (" (baseline)" if trial.user_attrs.get("baseline") else "")
        state = trial.state.name
        if state == "COMPLETE":
            return f"{head} {family}: {objective_label(self.study)} {trial.value:.4f} after {trial.user_attrs.get('epochs', '?')} epochs"
        if state == "PRUNED":
            return f"{head} {family}: pruned at epoch {trial.user_attrs.get('pruned_at_epoch', '?')}"
        return f"{head} {family}: failed: {trial.user_attrs.get('fail_reason', 'see the log')}"


# -- after the study ----------------------------------------------------------------------------
def fail_reason(trial: Any, trials: Sequence[Any]) -> str:
    """Why a trial failed: its recorded reason, or (no reason) its worker stopped heartbeating."""
    if "fail_reason" in trial.user_attrs:
        return str(trial.user_attrs["fail_reason"])
    retries = [t.number for t in trials if trial.number in t.system_attrs.get("retry_history", [])]
    retried = f"; run again as trial {retries[0]}" if retries else ""
    return f"its worker stopped (killed or lost; no heartbeat){retried}"


def ranked_trials(study: optuna.Study) -> list[Any]:
    """Complete trials, best value first (highest or lowest, as the study's direction says)."""
    sign = -1.0 if study.direction.name == "MAXIMIZE" else 1.0
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    return sorted(complete, key=lambda t: (sign * t.value, t.number))


def ensemble_top(host: Host, study: optuna.Study, size: int | str, ensembler: str = "mean", say: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """AE Studio's ensemble: the study's top-N runs by their validation metric through an ensembler
    plugin. ``size="auto"`` tries N = 2 .. (up to 10) and keeps the N whose ensemble scores best
    on val through the task (:meth:`harness.contracts.Task.validation_score`; chosen and scored on
    the same val trials: optimistic, like the members' own val scores)."""
    from harness.run.ensembles import ensemble_runs
    from harness.store.records import find_record, predictions_path

    ranked = [t for t in ranked_trials(study) if "run_id" in t.user_attrs]
    limit = min(len(ranked), 10 if size == "auto" else int(size))
    if limit < 2:
        raise BenchError(f"--ensemble {size}: study '{study.study_name}' has {len(ranked)} complete trial(s); an ensemble needs at least two")
    members = [find_record(t.user_attrs["run_id"]) for t in ranked[:limit]]
    if size == "auto":
        task = host.task(record_task(members[0])["name"])
        data = host.recorded_dataset(members[0]["dataset"], "the trials were")
        candidates = [task.load_predictions(predictions_path(record)) for record in members]
        combiner = host.ensembler(ensembler, {}, task=task.name)
        scores = {n: task.validation_score(data, combiner.combine(candidates[:n], data)) for n in range(2, limit + 1)}
        known = {n: value for n, value in scores.items() if value is not None}
        if not known:
            raise BenchError(f"--ensemble auto chooses N by {task.validation_label}, but '{data.name}' has no val targets to score it on; give N")
        sign = 1.0 if task.higher_is_better(task.validation_metric) else -1.0
        best = max(known, key=lambda n: (sign * known[n], -n))
        shown = ", ".join(f"{n}: {'-' if value is None else f'{value:.4f}'}" for n, value in scores.items())
        say(f"ensemble {task.validation_label} by N: {shown}; N = {best}")
        members = members[:best]
    # its row says what it is: the study's top N, not any ensemble of these runs
    return ensemble_runs(host, members, ensembler, label=f"{ensembler} of top {len(members)} ({study.study_name})")
