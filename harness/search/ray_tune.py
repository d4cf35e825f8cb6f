"""``bench tune --engine ray``: population-based training and TPE through Ray Tune.

Only ``bench tune --engine ray`` imports this module (``pip install 'bench-harness[ray]'``).
Every trial is an ordinary bench run, made by :func:`harness.run.execute.execute` inside a Ray
Tune trainable: its own run id, checkpoints, resume and record in the driver's results store.

``--sampler pbt`` (AutoLFADS's search): a population of ``trials`` members, each the base spec
with the *mutable* parameters of the search space (a plugin marks them ``mutable: true``: the
learning rate, dropout, KL and L2 weights, the CD rate) drawn from their ranges; the others stay
at their fixed, base or default values. Every ``interval`` updates each member reports its
validation metric (the mean of its last epochs') with its checkpoint, and Ray Tune's
``PopulationBasedTraining`` (synchronous: a generation at a time) gives the bottom quantile the
weights of the top quantile (exploit) with perturbed hyperparameters (explore). A member's spec
carries its history as a ``schedule``: the donor's spec up to the exploit, then an entry with
its own new values from that update on. So each member's record is a run whose spec replays on
other folds or seeds (``--best-spec`` writes the best one's).

``--sampler tpe``: Ray Tune's ``OptunaSearch`` with the study's TPE sampler over the whole
space; each trial is :func:`harness.search.worker.evaluate_spec` (K folds pooled where the
search says so, as ``bench tune`` scores them).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ray
from ray import tune

from harness.errors import BenchError
from harness.plugin.host import Host, HostRecipe
from harness.run.ray_engine import DRIVER_TOKENS, connect
from harness.run.schedule import settings_at
from harness.search.space import FAMILY, Parameter, SearchPlan
from harness.search.spec import Family, check_pbt_options
from harness.specs import RunSpec, spec_from_mapping
from harness.store.home import bench_home, runs_dir

#: In a PBT member's checkpoint: its spec so far, the update its next epoch starts at, whether it finished.
MEMBER_FILE = "member.json"
#: What a member's checkpoint carries of its run folder.
CHECKPOINT_FILES = ("last.pt", "best.pt", "best_loss.pt")
#: The metric reported to Ray Tune (the task's validation metric, named once for both samplers).
SCORE = "score"
#: The trial's number in its study (a PBT member's, from 0), reported with every result.
TRIAL = "trial"
#: PBT's clock: the member's reports during training (1, 2, ...); its final report repeats the
#: last, so that no member is exploited, or handed on, once it has finished.
GENERATION = "generation"
#: Epochs a PBT report averages: one epoch's val co-bps on 15 trials is noisy.
SMOOTHING_EPOCHS = 3


@dataclass(frozen=True)
class TuneJob:
    """What every trainable needs, shipped to the workers once (``tune.with_parameters``)."""

    recipe: HostRecipe
    plan: SearchPlan
    study: str
    sampler: str
    driver_home: str
    driver_token: str
    #: The driver's working folder: relative paths (datasets, ../shared/data) resolve from it,
    #: while Ray Tune starts each trial in a folder of its own.
    driver_cwd: str
    maximize: bool
    options: Mapping[str, Any]


def mutable_parameters(plan: SearchPlan, family: Family) -> tuple[Parameter, ...]:
    """The parameters of ``family`` a population-based search perturbs: declared ``mutable``, and
    in use where the others stay as configured (LFADS's controller weights only with a controller)."""
    settled = plan.settled[family]
    return tuple(parameter for parameter in plan.parameters[family] if parameter.spec.get("mutable") and parameter.applies(settled))


def domain(parameter: Parameter) -> Any:
    """The Ray Tune distribution of one numeric parameter."""
    spec = parameter.spec
    low, high = spec["low"], spec["high"]
    if spec["type"] == "int":
        step = int(spec.get("step") or 1)
        return tune.lograndint(int(low), int(high) + 1) if spec.get("log") else tune.qrandint(int(low), int(high), step)
    if spec.get("log"):
        return tune.loguniform(float(low), float(high))
    return tune.quniform(float(low), float(high), float(spec["step"])) if spec.get("step") else tune.uniform(float(low), float(high))


def clipped(parameters: tuple[Parameter, ...], config: Mapping[str, Any]) -> dict[str, Any]:
    """``config``'s values of ``parameters`` inside their ranges: PBT's perturbations (x0.8, x1.2)
    may step outside them."""
    values = {}
    for parameter in parameters:
        value = min(max(config[parameter.name], parameter.spec["low"]), parameter.spec["high"])
        values[parameter.name] = int(round(value)) if parameter.spec["type"] == "int" else float(value)
    return values


def trial_number(counts_from: int) -> int:
    """This trial's number in its study, from 0: Ray Tune's counter in the trial's folder name
    (``<trainable>_<trial id>_<counter>_<values>``), which a search algorithm (TPE) starts at 1 and
    PBT's variant generator at 0 (``counts_from``)."""
    context = tune.get_context()
    found = re.match(rf".*?{re.escape(context.get_trial_id())}_(\d+)", Path(context.get_trial_dir()).name)
    if found is None:
        raise BenchError(f"cannot tell the trial's number from its folder {context.get_trial_dir()}")
    return int(found.group(1)) - counts_from


def use_home(job: TuneJob) -> None:
    """Train in the driver's ``BENCH_HOME`` where this worker sees it (one machine, a shared disk),
    from the driver's working folder."""
    if not (Path(job.driver_home) / DRIVER_TOKENS / job.driver_token).is_file():
        raise BenchError(f"bench tune --engine ray: this worker cannot see the driver's BENCH_HOME ({job.driver_home}); put it on a disk the cluster shares")
    os.environ["BENCH_HOME"] = job.driver_home
    os.chdir(job.driver_cwd)


def value_at(spec: RunSpec, name: str, update: int, settled: Mapping[str, Any]) -> Any:
    """What ``spec`` trains ``name`` with from ``update`` on: its schedule's value, else its own."""
    scheduled = settings_at(spec.schedule, update)
    if name in scheduled:
        return scheduled[name]
    owner, _, key = name.partition(".")
    if owner == "train":
        return getattr(spec.train, key)
    config = spec.model_config if owner == spec.model else spec.objective_config
    return config.get(key, settled.get(name))


# -- PBT ---------------------------------------------------------------------------------------
def pbt_member(config: dict[str, Any], job: TuneJob) -> None:
    """One member of the population: a run from its sampled values, or from the checkpoint PBT
    hands it (its own after a pause, another member's after an exploit) with its new values."""
    from harness.run.context import run_identity
    from harness.run.execute import execute
    from harness.search.worker import trial_value

    use_home(job)
    host = job.recipe.build()
    family = job.plan.families[0]
    parameters = mutable_parameters(job.plan, family)
    values = clipped(parameters, config)
    number = trial_number(counts_from=0)
    checkpoint = tune.get_checkpoint()
    spec = replace(job.plan.run_spec(family, values), search_trial=number)
    generation = {"last": 0}
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            state = json.loads((Path(folder) / MEMBER_FILE).read_text())
            if state["finished"]:  # a finished member's weights: never handed on (see GENERATION), so never trained on
                raise BenchError(f"member {number} was handed the weights of a finished member ({state['run_id']})")
            spec = continued_spec(spec_from_mapping(state["spec"]), values, state["next_update"], job.plan.settled[family], number)
            generation["last"] = state["generation"]
            target = runs_dir() / run_identity(host, spec).run_id  # the checkpoint's weights, this member's run
            target.mkdir(parents=True, exist_ok=True)
            for name in CHECKPOINT_FILES:
                if (Path(folder) / name).is_file():
                    shutil.copy2(Path(folder) / name, target / name)
    interval = int(job.options["interval"])
    scores: list[float] = []

    def report(run: Any, epoch: int, metrics: dict[str, float]) -> None:
        scores.append(float(metrics[run.plan.selection_metric]))
        per_epoch = run.plan.steps_per_epoch
        done = epoch + 1
        every = max(1, round(interval / per_epoch))
        if done % every or done >= int(metrics["epochs_planned"]):
            return
        smoothed = sum(scores[-SMOOTHING_EPOCHS:]) / len(scores[-SMOOTHING_EPOCHS:])
        state = {"spec": spec.to_dict(), "next_update": done * per_epoch, "generation": done // every, "finished": False, "run_id": run.run_id}
        _report_with_files(run.run_dir, state, {SCORE: smoothed, TRIAL: number, GENERATION: done // every, "epoch": done, "run_id": run.run_id, "finished": 0})
        generation["last"] = done // every

    record, _ = execute(host, spec, on_epoch=report, search={"study": job.study, "trial": number, "storage": "ray-tune", "engine": "ray", "sampler": "pbt"})
    score = trial_value(host, record)
    state = {"spec": spec.to_dict(), "finished": True, "score": score, "run_id": record["run_id"]}
    # the last generation's number again: PBT perturbs when a member's generation rises, never here
    final = {SCORE: score, TRIAL: number, GENERATION: generation["last"], "epoch": record["epochs"], "run_id": record["run_id"], "finished": 1}
    _report_with_files(Path(record["paths"]["run_dir"]), state, final)


def continued_spec(lineage: RunSpec, values: Mapping[str, Any], update: int, settled: Mapping[str, Any], number: int) -> RunSpec:
    """The spec a member trains on from ``update``: the checkpoint's spec, plus a schedule entry
    for every value PBT changed (none after a mere pause), as this member's run."""
    changed = {name: value for name, value in values.items() if value_at(lineage, name, update, settled) != value}
    schedule = lineage.schedule + (({"at": update, "set": changed},) if changed else ())
    return replace(lineage, schedule=schedule, search_trial=number)


def _report_with_files(run_dir: Path, state: Mapping[str, Any], metrics: Mapping[str, Any]) -> None:
    """``tune.report`` with a checkpoint of the run folder's weights and the member's state."""
    with tempfile.TemporaryDirectory() as folder:
        for name in CHECKPOINT_FILES:
            if (run_dir / name).is_file():
                shutil.copy2(run_dir / name, Path(folder) / name)
        (Path(folder) / MEMBER_FILE).write_text(json.dumps(state, default=str))
        tune.report(dict(metrics), checkpoint=tune.Checkpoint.from_directory(folder))


# -- TPE ---------------------------------------------------------------------------------------
def tpe_trial(config: dict[str, Any], job: TuneJob) -> None:
    """One trial of the Optuna search: the spec its values make, scored as ``bench tune`` scores."""
    from harness.search.worker import evaluate_spec

    use_home(job)
    host = job.recipe.build()
    families = {family.label: family for family in job.plan.families}
    family = families[config[FAMILY]] if FAMILY in config else job.plan.families[0]
    number = trial_number(counts_from=1)
    values = {name: value for name, value in config.items() if name != FAMILY}
    spec = replace(job.plan.run_spec(family, values), search_trial=number)
    value, records = evaluate_spec(host, spec, {"study": job.study, "trial": number, "storage": "ray-tune", "engine": "ray", "sampler": "tpe"})
    tune.report({SCORE: value, TRIAL: number, "run_id": records[0]["run_id"], "finished": 1})


@dataclass(frozen=True)
class DefineByRun:
    """The Optuna space as the search plan samples it (families, conditions), for OptunaSearch;
    a class, not a closure, so that Ray Tune can checkpoint its search state."""

    plan: SearchPlan

    def __call__(self, trial: Any) -> None:
        self.plan.sample(trial)


# -- the driver --------------------------------------------------------------------------------
@dataclass
class TuneOutcome:
    """What the driver prints: each trial's run id and score (best first), and the wall time."""

    trials: list[dict[str, Any]]
    wall_seconds: float


def run_tune(
    host: Host,
    plan: SearchPlan,
    *,
    study: str,
    sampler: Mapping[str, Any],
    trials: int,
    maximize: bool,
    address: str | None = None,
    task_cpus: float = 1,
    task_gpus: float = 0,
    max_minutes: float | None = None,
    baseline: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> TuneOutcome:
    """Run the study on Ray Tune (a cluster at ``address``, else a local one) and return its trials."""
    if host.recipe is None:
        raise BenchError("--engine ray: this host's plugins were registered by hand, so Ray workers cannot make them again (build it with HostRecipe)")
    name = sampler["name"]
    if name not in ("pbt", "tpe"):
        raise BenchError(f"--engine ray --sampler {name}: Ray Tune runs pbt or tpe")
    if name == "pbt":
        if len(plan.families) > 1:
            raise BenchError("--sampler pbt searches one model x objective (a member's weights go to members of its own family)")
        if not mutable_parameters(plan, plan.families[0]):
            raise BenchError(f"--sampler pbt: {plan.families[0].label} declares no mutable parameter in its search space (mark one 'mutable: true')")
    options = check_pbt_options(sampler, "sampler") if name == "pbt" else dict(sampler)
    started_here = connect(address)
    token = secrets.token_hex(8)
    token_file = bench_home() / DRIVER_TOKENS / token
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(str(os.getpid()))
    job = TuneJob(host.recipe, plan, study, name, str(bench_home()), token, os.getcwd(), maximize, options)
    started = time.perf_counter()
    try:
        tuner = _tuner(job, trials, task_cpus, task_gpus, max_minutes, baseline)
        say(f"Ray Tune: {trials} {'members' if name == 'pbt' else 'trials'} of {task_cpus:g} CPU, {task_gpus:g} GPU on {ray.cluster_resources().get('CPU', 0):g} CPUs")
        grid = tuner.fit()
    finally:
        token_file.unlink(missing_ok=True)
        if started_here:
            ray.shutdown()
    rows = []
    for result in grid:
        metrics = result.metrics or {}
        rows.append({
            "trial": metrics.get(TRIAL, "?"),
            "run_id": metrics.get("run_id"),
            "score": metrics.get(SCORE),
            "finished": bool(metrics.get("finished")),
            "error": None if result.error is None else str(result.error).strip().splitlines()[-1],
        })
    sign = 1 if maximize else -1
    rows.sort(key=lambda row: -sign * row["score"] if row["finished"] and row["score"] is not None and math.isfinite(row["score"]) else math.inf)
    return TuneOutcome(rows, time.perf_counter() - started)


def _tuner(job: TuneJob, trials: int, task_cpus: float, task_gpus: float, max_minutes: float | None, baseline: bool) -> Any:
    from ray.tune import RunConfig, TuneConfig

    mode = "max" if job.maximize else "min"
    family = job.plan.families[0]
    storage = bench_home() / "ray-tune"
    storage.mkdir(parents=True, exist_ok=True)
    run_config = RunConfig(
        name=f"{job.study}-{time.strftime('%Y%m%d-%H%M%S')}",
        storage_path=str(storage),
        failure_config=tune.FailureConfig(max_failures=2),  # a dead worker's trial resumes from its checkpoint
        verbose=0,
    )
    budget = None if max_minutes is None else max_minutes * 60
    resources = {"cpu": task_cpus, "gpu": task_gpus}
    if job.sampler == "pbt":
        from ray.tune.schedulers import PopulationBasedTraining

        parameters = mutable_parameters(job.plan, family)
        random.seed(job.options["seed"])  # PBT's explore draws from Python's generator
        scheduler = PopulationBasedTraining(
            time_attr=GENERATION,
            perturbation_interval=1,  # a member reports every `interval` updates
            hyperparam_mutations={parameter.name: domain(parameter) for parameter in parameters},
            quantile_fraction=float(job.options["quantile"]),
            resample_probability=float(job.options["resample_probability"]),
            synch=True,  # a generation at a time: more members than CPUs wait at each report
        )
        from ray.tune.search.basic_variant import BasicVariantGenerator

        space = {parameter.name: domain(parameter) for parameter in parameters}
        settled = job.plan.settled[family]
        # with a baseline, the first member starts from the configuration as it stands
        first = [{name: settled[name] for name in space}] if baseline else None
        return tune.Tuner(
            tune.with_resources(tune.with_parameters(pbt_member, job=job), resources),
            param_space=space,
            tune_config=TuneConfig(
                metric=SCORE, mode=mode, scheduler=scheduler, num_samples=trials, time_budget_s=budget, reuse_actors=False,
                search_alg=BasicVariantGenerator(points_to_evaluate=first, random_state=int(job.options["seed"])),
            ),
            run_config=run_config,
        )
    from ray.tune.search.optuna import OptunaSearch

    from harness.search.study import make_sampler

    points = [job.plan.baseline()] if baseline else None
    search_alg = OptunaSearch(space=DefineByRun(job.plan), metric=SCORE, mode=mode, sampler=make_sampler(dict(job.options)), points_to_evaluate=points)
    return tune.Tuner(
        tune.with_resources(tune.with_parameters(tpe_trial, job=job), resources),
        tune_config=TuneConfig(metric=SCORE, mode=mode, search_alg=search_alg, num_samples=trials, time_budget_s=budget),
        run_config=run_config,
    )

