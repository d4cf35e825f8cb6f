"""One run end to end: build, train (or fit), predict, score, record. The CLI and searches call this."""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from harness.store.atomic import write_text
from harness.run.checkpoints import load_checkpoint
from harness.contracts import DirectFit
from harness.errors import BenchError
from harness.plugin.host import Host, merged_config, resolve_objective
from harness.store.record import RunRecord
from harness.store.records import jsonable, read_records
from harness.run.context import RunContext, RunIdentity, choose_device, run_identity
from harness.run.init_from import core_parameters, load_core, one_session_shape, pretrained_record, provenance
from harness.run.schedule import check_schedule, retuner
from harness.specs import RunSpec, dump_spec
from harness.run.trainer import TrainOutcome, fit_direct, seed_everything, train

#: In a run folder being rerun under a token (see ``execute``'s ``rerun_token``).
RERUN_MARKER = ".rerun-token"

#: Told after every epoch: the run (its plan names the selection metric), the epoch, its metrics.
RunEpochCallback = Callable[[RunContext, int, dict[str, float]], None]


def completed_record(run: str | RunIdentity) -> dict[str, Any] | None:
    """The stored record of a run: by its id, or (a :class:`RunIdentity`) by its id or the old
    id of a record made before run ids hashed what trains, if that record trained the same."""
    records = read_records()
    if isinstance(run, RunIdentity):
        return run.find(records)
    return next((record for record in records if record["run_id"] == run), None)


def execute(
    host: Host,
    spec: RunSpec,
    *,
    rerun: bool = False,
    on_epoch: RunEpochCallback | None = None,
    on_status: Any = None,
    search: Mapping[str, Any] | None = None,
    rerun_token: str | None = None,
) -> tuple[dict[str, Any], TrainOutcome | None]:
    """Run ``spec``; returns its results record and the training outcome (None if it was done).

    An identical spec that already completed is not trained again unless ``rerun``; an
    interrupted one resumes from its last checkpoint. ``search`` (study, trial, storage) goes
    into the record of a run that ``bench tune`` made. ``rerun_token`` names one request to
    rerun: a retried attempt of it (a Ray task whose worker died) resumes what the first attempt
    started instead of starting over.
    """
    import torch

    say = on_status or (lambda message: None)
    if spec.folds and spec.fold is None:
        raise BenchError(f"a spec with folds: {spec.folds} is {spec.folds} runs: harness.run.crossval.cross_validate runs them and pools their scores")
    spec = resolve_objective(host, spec)
    model_entry = host.registries.models.get(spec.model)
    check_schedule(host, spec)
    device = choose_device(spec.device)
    run = RunContext.for_spec(spec, device, run_identity(host, spec))
    records = None
    if rerun:
        marker = run.run_dir / RERUN_MARKER
        if rerun_token is None or not marker.is_file() or marker.read_text() != rerun_token:
            shutil.rmtree(run.run_dir, ignore_errors=True)
            if rerun_token is not None:
                write_text(marker, rerun_token)
    else:
        records = read_records()
        done = run.identity.find(records)
        if done is not None:
            return done, None
        run = run.adopt_legacy_folder(record["run_id"] for record in records)
    # fine-tuning: the finished run whose core it loads, refused before any data loads
    pretrained = None
    if spec.init_from is not None:
        pretrained = pretrained_record(read_records() if records is None else records, spec.init_from, spec.model, model_entry.sessions)

    data, dataset_config = host.load_dataset(spec.dataset, spec.dataset_config)
    task = host.task_of(data)
    host.check_serves("model", spec.model, task.name)  # before anything is built for the wrong task
    dataset_layout = data
    if spec.fold is not None:  # validate on this fold, train on the other labelled trials
        data = task.fold_split(data, spec.fold, spec.folds)
    if spec.train.max_train_trials:  # few-shot: the same seeded trials for every run of the dataset
        if spec.fold is not None:  # its fold's predictions would not map back onto the dataset's trials
            raise BenchError(f"train.max_train_trials {spec.train.max_train_trials} with --folds: few-shot runs are single-split runs for now")
        if not hasattr(task, "limit_train_trials"):
            raise BenchError(f"train.max_train_trials: task {task.name} trains on whole splits only")
        data = task.limit_train_trials(data, spec.train.max_train_trials)
    run.data = data
    say(task.describe(data))
    generator = seed_everything(spec.seed)
    model_config = merged_config(model_entry, spec.model_config)
    objective, objective_config = None, {}
    if spec.objective is not None:
        objective_config = merged_config(host.check_serves("objective", spec.objective, task.name), spec.objective_config)
        objective = host.objective(spec.objective, data, objective_config)
    shape = task.model_shape(data, model_config, objective)
    if pretrained is not None:  # fine-tuning: this session's own layers around a loaded core
        shape = one_session_shape(shape, getattr(data, "name", spec.dataset))
    model = host.model(spec.model, shape, model_config, task=task.name)
    frozen = []
    if pretrained is not None:
        n_loaded = load_core(model, pretrained, device) if not run.last_checkpoint.exists() else len(model.core_keys())
        if spec.train.freeze_core_steps:
            frozen = core_parameters(model)
        pretrained = provenance(pretrained, n_loaded, spec.train.freeze_core_steps)
    elif spec.train.freeze_core_steps:
        raise BenchError("train.freeze_core_steps freezes a core loaded with --init-from RUN_ID; this run loads none")
    if model_entry.direct_fit and not isinstance(model, DirectFit):
        raise BenchError(f"model '{spec.model}' is registered with direct_fit=True but has no fit_direct(data)")

    run.run_dir.mkdir(parents=True, exist_ok=True)
    write_text(run.run_dir / "spec.yaml", dump_spec(spec))
    run.write_identity()
    host.run_started(run)
    if objective is None:
        outcome = fit_direct(run, model)
    else:
        if run.last_checkpoint.exists():
            say(f"resuming {run.run_id} from {run.last_checkpoint}")

        def epoch_done(epoch: int, metrics: dict[str, float]) -> None:
            if not math.isfinite(metrics["train_loss"]):  # every later epoch would be NaN too
                raise BenchError(
                    f"training diverged: the loss is {metrics['train_loss']} at epoch {epoch} "
                    "(try a lower train.lr or train.grad_clip)"
                )
            host.epoch_finished(run, epoch, metrics)
            if on_epoch is not None:
                on_epoch(run, epoch, metrics)

        plan = task.training_plan(data, shape, objective, spec.train, device, spec.seed)
        run.plan = plan
        retune = retuner(spec, model, objective, model_config, objective_config)
        outcome = train(run, model, plan, spec.train, generator, epoch_done, frozen=frozen, retune=retune)
        if outcome.resumed_from_epoch is not None:
            say(f"resumed from epoch {outcome.resumed_from_epoch}")

    model.load_state_dict(load_checkpoint(run.best_checkpoint, device)["model"])
    predictions = task.predict(model, shape, objective, data, device)
    metrics = task.score(data, predictions)
    if spec.fold is not None:  # saved in the dataset's own layout, so submit and ensembles read them as any run's
        predictions = task.to_dataset_layout(predictions, dataset_layout, spec.fold, spec.folds)
    predictions_file = task.save_predictions(predictions, run.run_dir / task.predictions_file)

    record = RunRecord.new(
        host.plugin_versions,
        torch_version=torch.__version__,
        task=task,
        run_id=run.run_id,
        legacy_run_id=run.identity.legacy_run_id,
        dataset={**task.dataset_record(data), "config": jsonable(dataset_config)},
        model=spec.model,
        objective=spec.objective,
        ensembler=None,
        hyperparameters={
            "model": jsonable(model_config),
            "objective": jsonable(objective_config),
            "train": asdict(spec.train) if objective is not None else {},
            "chosen": jsonable(outcome.chosen),
        },
        seed=spec.seed,
        device=device,
        # closed-form baselines keep what they fitted in buffers, not parameters
        n_parameters=int(sum(t.numel() for t in (model.buffers() if model_entry.direct_fit else model.parameters()))),
        wall_seconds=round(outcome.wall_seconds, 3),
        epochs=outcome.epochs,
        stopped_because=outcome.stopped_because,
        updates=outcome.updates(),
        history=[
            {key: round(float(point[key]), 5) if math.isfinite(float(point[key])) else None for key in history_keys(point, run.plan.selection_metric)}
            for point in outcome.history
        ],
        metrics=metrics,
        paths={
            "run_dir": str(run.run_dir),
            "checkpoint": str(run.best_checkpoint),
            "predictions": str(predictions_file),
            "submission": None,
        },
        spec=jsonable(spec.to_dict()),
        search_trial=spec.search_trial,
        search=None if search is None else dict(search),
        pretrained=pretrained,
    )
    record.write()
    record = record.to_dict()
    host.run_finished(run, record)
    return record, outcome


#: What every history row keeps; ``SELECTION`` stands for the plan's selection metric (NLB's
#: ``val_co_bps``, the encoding task's ``val_correlation``), ``BEST`` for its running best
#: (``best_<metric>``). A row also keeps the model's auxiliary loss terms (``aux_*``) and the
#: sample-validation bps (``sv_bps``) when the run has them.
SELECTION, BEST = "<selection>", "<best>"
HISTORY_KEYS = ("epoch", "train_loss", SELECTION, BEST, "val_loss", "elapsed")


def history_keys(point: dict[str, float], selection: str) -> list[str]:
    """The keys of one epoch kept in the record: the fixed ones it has (val_loss is absent from
    epochs trained before it was recorded, and from tasks without one), with ``selection`` (the
    plan's ``selection_metric``) and its ``best_`` twin, then the model's own terms and sample
    validation."""
    fixed = [{SELECTION: selection, BEST: f"best_{selection}"}.get(key, key) for key in HISTORY_KEYS]
    return [*(key for key in fixed if key in point), *(key for key in point if key.startswith("aux_") or key == "sv_bps")]


