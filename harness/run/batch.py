"""Many results at once: specs x seeds, each K-fold spec its K fold runs, through one executor.

``bench run --spec A --spec B --seeds 0,1,2 --folds 5`` asks for results (a K-fold result pools
its folds); they are made of trainings, ordinary runs that the executor runs (one after another,
or as Ray tasks) in whatever order it likes. Each K-fold result is pooled here, on the driver,
once all its folds are in its store; a result one of whose runs failed is reported, not pooled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.plugin.host import Host, resolve_objective
from harness.run.context import run_identity
from harness.run.crossval import cross_validate, fold_specs
from harness.run.executor import Ended, Executor, Failure
from harness.specs import RunSpec


@dataclass
class Outcome:
    """One asked-for result: its record (a run's, or the pooled K-fold one), or its failures."""

    spec: RunSpec
    record: dict[str, Any] | None = None
    failures: list[Failure] = field(default_factory=list)


def with_seeds(specs: Sequence[RunSpec], seeds: Sequence[int] | None) -> list[RunSpec]:
    """Every spec once per seed (``seeds`` None: each with its own)."""
    return [replace(spec, seed=seed) for spec in specs for seed in seeds] if seeds else list(specs)


def trainings(spec: RunSpec) -> list[RunSpec]:
    """The ordinary runs a result is made of: its K folds, or itself."""
    return fold_specs(spec) if spec.folds and spec.fold is None else [spec]


def run_results(
    host: Host,
    specs: Sequence[RunSpec],
    executor: Executor,
    *,
    rerun: bool = False,
    ensembler: str = "mean",
    on_ended: Callable[[RunSpec, Ended], None] | None = None,
) -> list[Outcome]:
    """Make every result of ``specs`` through ``executor``; ``on_ended`` hears of each run as it ends."""
    if any(spec.folds for spec in specs):
        host.registries.ensemblers.get(ensembler)  # an unknown name fails before any training
    specs = [resolve_objective(host, spec) for spec in specs]  # fold run ids name the objective a run uses
    outcomes = [Outcome(spec) for spec in specs]
    by_run: dict[str, list[tuple[Outcome, int]]] = {}
    wanted: list[RunSpec] = []
    for outcome in outcomes:
        for index, one in enumerate(trainings(outcome.spec)):
            run_id = run_identity(host, one).run_id
            if run_id not in by_run:  # the same run asked twice trains once
                wanted.append(one)
            by_run.setdefault(run_id, []).append((outcome, index))
    ended: dict[int, list[Ended | None]] = {id(o): [None] * len(trainings(o.spec)) for o in outcomes}
    for one, result in executor.run_all(wanted):
        if on_ended is not None:
            on_ended(one, result)
        for outcome, index in by_run[run_identity(host, one).run_id]:
            ended[id(outcome)][index] = result
    for outcome in outcomes:
        results = ended[id(outcome)]
        outcome.failures = [result for result in results if isinstance(result, Failure)]
        if outcome.failures or any(result is None for result in results):
            continue
        if len(results) == 1 and not (outcome.spec.folds and outcome.spec.fold is None):
            outcome.record = results[0]
        else:  # every fold is in the store: pool them (or find them pooled already)
            members = list(results)
            outcome.record = cross_validate(host, outcome.spec, rerun=rerun, ensembler=ensembler, run_fold=lambda fold: members[fold.fold])
    return outcomes
