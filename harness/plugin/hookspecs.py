"""Every hook a bench plugin can implement, in one place.

A plugin is a module (or object) with functions marked ``@harness.hookimpl`` whose names match
these specs; it is found through the ``bench`` entry-point group. Registration hooks receive a
``register`` object instead of returning values, so the registry can check and attribute what each
plugin adds. All hooks are called with keyword arguments; implementations may accept any subset.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from harness import PROJECT_NAME
from harness.contracts import RunInfo

if TYPE_CHECKING:
    from harness.plugin.commands import CommandRegistry
    from harness.plugin.registry import Register

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def bench_register_datasets(register: Register) -> None:
    """Register datasets: ``register(name, "pkg.module:load", description=..., defaults=...,
    source=..., bin_sizes_ms=..., n_trials=..., n_units=..., downloader=..., locator=...)``.
    ``locator`` is called as ``locate(config) -> str`` (where the files are now, "" if absent);
    ``downloader`` as ``download(name, destination=None)`` (None: BENCH_HOME/data/NAME).

    The loader is called as ``load(config)`` with the entry's defaults updated by the run's
    dataset config, and returns what its task reads: :class:`harness.contracts.DatasetTensors`
    (``task="nlb_cosmoothing"``) or :class:`harness.contracts.EncodingData`
    (``task="video_encoding"``); the ``task`` field picks the registered task that runs it. A
    session set registers ``sessions=(names...)`` and a ``sessions`` option in its defaults, and
    returns a :class:`harness.sessions.SessionSet` (``task="nlb_sessions"``), or one session's
    ordinary DatasetTensors when ``config["sessions"]`` names one. Every implementation is
    called; names must be unique across plugins.
    """


@hookspec
def bench_register_models(register: Register) -> None:
    """Register models: ``register(name, "pkg.module:build", description=..., defaults=...)``.

    The factory is called as ``build(shape, config)`` with its task's shape and the merged config,
    and returns a ``torch.nn.Module`` honouring the task's model contract: a
    :class:`harness.contracts.ModelShape` and :class:`harness.contracts.RateModel` for NLB
    co-smoothing (the default ``tasks=("nlb_cosmoothing",)``), an
    :class:`harness.contracts.EncodingShape` and :class:`harness.contracts.EncodingModel` for
    ``tasks=("video_encoding",)``; a run refuses a model whose ``tasks`` lack its dataset's task.
    ``default_objective`` names the objective ``bench run`` uses when none is given. A closed-form baseline registers with
    ``direct_fit=True`` and implements :class:`harness.contracts.DirectFit`; the trainer then fits
    it without an objective. ``train_defaults`` (TrainConfig keys) are the trainer settings the
    model is tuned for; ``bench run`` without a spec starts from them. ``search_space`` declares
    the ranges ``bench tune`` samples (config keys, or ``train.KEY``; format in
    :func:`harness.plugin.registry.check_search_space`). ``sessions=True`` says the factory also
    takes :class:`harness.sessions.SessionShapes` and builds a
    :class:`harness.sessions.MultiSessionModel` (session-set runs, ``--init-from``). Every
    implementation is called.
    """


@hookspec
def bench_register_objectives(register: Register) -> None:
    """Register training objectives: ``register(name, "pkg.module:build", defaults=...)``.

    The factory is called as ``build(data, config)`` with the run's dataset and the merged
    config, and returns an object honouring its task's objective contract
    (:class:`harness.contracts.Objective` for NLB co-smoothing,
    :class:`harness.contracts.EncodingObjective` for video encoding); ``tasks=(...)`` says which
    tasks it serves. It may declare a ``search_space`` like a model's. Every implementation is called.
    """


@hookspec
def bench_register_ensemblers(register: Register) -> None:
    """Register ensemblers: ``register(name, "pkg.module:build", defaults=...)``.

    The factory is called as ``build(config)`` and returns an object honouring
    :class:`harness.contracts.Ensembler`: fitted on val targets only, its combination applied
    alike to every split, so ``bench ensemble`` can cross-fit its val scores (a fresh ensembler per
    fold, built from the same config). ``tasks=(...)`` says whose predictions it combines (one that
    only averages can serve every task through :func:`harness.run.averaging.average_predictions`).
    Every implementation is called.
    """


@hookspec
def bench_register_tasks(register: Register) -> None:
    """Register task families: ``register(name, "pkg.module:build", description=...,
    primary_metric=...)``. The name is what a dataset's ``task`` field says (``nlb_cosmoothing``,
    ``video_encoding``); the factory is called as ``build()`` and returns an object honouring
    :class:`harness.contracts.Task`, which the core asks what a model is given, what is scored,
    which validation metric selects checkpoints, how predictions are saved and exported and how
    folds are drawn. The built-in tasks register through this hook too. Every implementation is
    called; names must be unique across plugins.
    """


@hookspec(firstresult=True)
def bench_dataset_for_path(path: Path) -> tuple[str, dict[str, Any]] | None:
    """Claim a data file or folder given as ``--dataset PATH``.

    Return ``(registered_dataset_name, dataset_config)`` that loads it (the config usually holds
    the path), or None when the plugin does not recognise it. The first non-None answer wins.
    """


@hookspec
def bench_register_commands(cli: CommandRegistry) -> None:
    """Add commands to the ``bench`` CLI: ``cli.app`` is the root typer app and
    ``cli.group("data")`` returns (creating it once) a named sub-command group. Built-in commands
    are added through this same hook. Every implementation is called, built-ins first.
    """


@hookspec
def bench_run_started(run: RunInfo) -> None:
    """Called once a run's dataset, model and objective are built, before the first step (also
    when resuming). ``run`` carries the spec, run id, directory and device. Every
    implementation is called; observers only.
    """


@hookspec
def bench_epoch_finished(run: RunInfo, epoch: int, metrics: dict[str, float]) -> None:
    """Called after each epoch's validation with ``metrics``: ``train_loss``, the metric the run's
    plan selects by (``run.plan.selection_metric``, e.g. ``val_co_bps``) and its ``best_`` twin. Raise :class:`harness.errors.BenchError` to stop the run (a search plugin
    prunes this way). Every implementation is called.
    """


@hookspec
def bench_run_finished(run: RunInfo, record: dict[str, Any]) -> None:
    """Called after a run's record is written to the results store, with that record. Every
    implementation is called; observers only.
    """
