"""The uniform trainer: the only place that seeds RNGs, moves models and writes checkpoints.

AdamW with linear warmup and cosine decay (to ``lr_floor`` of the peak), gradient clipping, an
EMA of the weights, validation every epoch on the metric the run's task selects by (val co-bps for
NLB co-smoothing, val correlation for video encoding), early stopping on it, a wall-clock and an
epoch budget, atomic checkpoints (best on the selection metric, best val loss of the training
objective where the task has one, and last), and automatic resume: the same spec finds its run
directory and continues from ``last.pt``.

What an epoch's batches are and how validation is computed is the task's
:class:`harness.contracts.TrainingPlan`; a model's own loss terms (the AuxiliaryLosses contract)
are added to the objective's loss here and logged per epoch as ``aux_<name>``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from harness.run.checkpoints import load_checkpoint, restore_rng_state, rng_state, save_checkpoint
from harness.contracts import AuxiliaryLosses, DirectFit, TrainingPlan
from harness.run.context import RunContext
from harness.specs import TrainConfig
from harness.store.schema import TIME_CAP_STOP

#: Called after each validation with (epoch, metrics) — the CLI's progress bar listens here.
EpochCallback = Callable[[int, dict[str, float]], None]
#: Called at the start of each epoch with its first update: applies a spec's hyperparameter
#: schedule to the model and objective, and returns the trainer settings in force
#: (``lr``, ``weight_decay``, ``grad_clip``; see :mod:`harness.run.schedule`).
Retune = Callable[[int], Mapping[str, float]]


@dataclass
class TrainOutcome:
    epochs: int
    best_epoch: int
    #: The best value of the plan's selection metric (``best_<metric>`` in the history).
    best_value: float
    wall_seconds: float
    stopped_because: str
    resumed_from_epoch: int | None = None
    #: Optimizer updates done (over every attempt) and planned (the update budget, whole epochs).
    updates_done: int = 0
    updates_planned: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    chosen: dict[str, Any] = field(default_factory=dict)

    @property
    def cut_short(self) -> bool:
        """The wall-clock cap stopped the run before its update budget was spent."""
        return self.stopped_because.startswith(TIME_CAP_STOP) and self.updates_done < self.updates_planned

    def updates(self) -> dict[str, Any] | None:
        """The record's ``updates`` (None for a closed-form fit, which makes none)."""
        if not self.updates_planned:
            return None
        return {"done": self.updates_done, "planned": self.updates_planned, "cut_short": self.cut_short}


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch's global RNG (dropout, init) and return the CPU generator for batches and masks."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    return torch.Generator().manual_seed(seed)


def lr_factor(step: int, warmup_steps: int, total_steps: int, floor: float) -> float:
    """Linear warmup to 1, then cosine decay to ``floor`` (``TrainConfig.lr_floor``) at ``total_steps``."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def hold_core(frozen: Sequence[torch.nn.Parameter], step: int, freeze_steps: int) -> None:
    """Whether update ``step`` (counted from 0) may move the ``frozen`` parameters: not before
    ``freeze_steps``. Set before that update's forward, so its graph has no core gradients."""
    for parameter in frozen:
        parameter.requires_grad_(step >= freeze_steps)


def apply_trainer_settings(
    settings: Mapping[str, float], optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LambdaLR, grad_clip: float
) -> float:
    """Set a schedule's trainer values: a new peak learning rate keeps the warmup and cosine
    shape (the current rate is the new peak times the schedule's factor now), a new weight
    decay takes effect on the next update. Returns the gradient clip in force."""
    if "lr" in settings:
        scheduler.base_lrs = [settings["lr"] for _ in optimizer.param_groups]
        for group, factor in zip(optimizer.param_groups, scheduler.lr_lambdas):
            group["initial_lr"] = settings["lr"]
            group["lr"] = settings["lr"] * factor(scheduler.last_epoch)
    if "weight_decay" in settings:
        for group in optimizer.param_groups:
            group["weight_decay"] = settings["weight_decay"]
    return settings.get("grad_clip", grad_clip)


def planned_epochs(config: TrainConfig, steps_per_epoch: int) -> int:
    """The epoch budget: ``config.steps`` updates when set, else ``config.epochs``."""
    if config.steps:
        return max(1, math.ceil(config.steps / steps_per_epoch))
    return max(1, config.epochs)


def fit_direct(run: RunContext, model: torch.nn.Module) -> TrainOutcome:
    """Closed-form baselines: fit, then keep the fitted weights as the best checkpoint."""
    assert isinstance(model, DirectFit) and run.data is not None
    started = time.perf_counter()
    chosen = model.fit_direct(run.data)
    model.to(run.device)
    save_checkpoint({"model": model.state_dict(), "epoch": 0, "run_id": run.run_id}, run.best_checkpoint)
    return TrainOutcome(0, 0, float("nan"), time.perf_counter() - started, "closed-form fit", chosen=dict(chosen or {}))


def train(
    run: RunContext,
    model: torch.nn.Module,
    plan: TrainingPlan,
    config: TrainConfig,
    generator: torch.Generator,
    on_epoch: EpochCallback | None = None,
    frozen: Sequence[torch.nn.Parameter] = (),
    retune: Retune | None = None,
) -> TrainOutcome:
    """Train ``model`` on the steps of ``plan`` (its task's); resume from ``run.last_checkpoint``.
    ``frozen`` parameters (a fine-tuning run's loaded core) get no updates before update
    ``config.freeze_core_steps``, every one after (AdamW skips a parameter without a gradient).
    ``retune`` (a spec's schedule) may change hyperparameters at each epoch's start.

    The best checkpoint follows ``plan.selection_metric``; its running best is logged and
    checkpointed as ``best_<metric>`` (``best_val_co_bps`` for NLB, as in every older run).
    """
    device = run.device
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = plan.steps_per_epoch
    epochs = planned_epochs(config, steps_per_epoch)
    total_steps = steps_per_epoch * epochs
    warmup_steps = steps_per_epoch * config.warmup_epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, warmup_steps, total_steps, config.lr_floor))
    averaged = None
    if config.ema_decay:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
    evaluated = model if averaged is None else averaged.module
    selection, sign = plan.selection_metric, (1.0 if plan.higher_is_better else -1.0)
    best_key = f"best_{selection}"

    start_epoch, best, best_epoch, elapsed, history, resumed = 0, -math.inf * sign, -1, 0.0, [], None
    best_loss = math.inf
    if run.last_checkpoint.exists():
        state = load_checkpoint(run.last_checkpoint, device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        if averaged is not None:
            averaged.load_state_dict(state["averaged"])
        restore_rng_state(state["rng"])
        start_epoch = resumed = int(state["epoch"]) + 1
        best, best_epoch = float(state[best_key]), int(state["best_epoch"])
        elapsed, history = float(state["elapsed"]), list(state["history"])
        best_loss = float(state.get("best_val_loss", math.inf))  # absent in checkpoints of older runs

    auxiliary = model if isinstance(model, AuxiliaryLosses) else None
    budget = None if config.max_minutes is None else config.max_minutes * 60.0
    stopped = "epoch budget"
    epoch = start_epoch - 1
    clock = time.perf_counter() - elapsed
    grad_clip = config.grad_clip
    for epoch in range(start_epoch, epochs):
        losses, terms = [], {}
        if retune is not None:
            grad_clip = apply_trainer_settings(retune(epoch * steps_per_epoch), optimizer, scheduler, grad_clip)
        hold_core(frozen, epoch * steps_per_epoch, config.freeze_core_steps)
        for number, loss in enumerate(plan.epoch(model, generator)):
            losses.append(loss.item())
            if auxiliary is not None:  # the model's own terms, already weighted and ramped by it
                for name, term in auxiliary.auxiliary_losses(epoch * steps_per_epoch + number, total_steps).items():
                    loss = loss + term
                    terms.setdefault(name, []).append(float(term.detach()))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            scheduler.step()
            if averaged is not None:
                averaged.update_parameters(model)
            # the plan runs the next forward when asked for the next loss: set what it may move now
            hold_core(frozen, epoch * steps_per_epoch + number + 1, config.freeze_core_steps)
        last_epoch = epoch == epochs - 1
        if (epoch + 1) % max(1, config.eval_every) and not last_epoch:
            continue
        validated = plan.validate(evaluated)
        metrics = {
            "train_loss": float(np.mean(losses)),
            selection: validated[selection],
            "lr": scheduler.get_last_lr()[0],
            "elapsed": time.perf_counter() - clock,
            "epochs_planned": epochs,
            **{f"aux_{name}": float(np.mean(values)) for name, values in terms.items()},
            **{key: value for key, value in validated.items() if key not in (selection, "val_loss")},
        }
        if sign * validated[selection] > sign * best:
            best, best_epoch = validated[selection], epoch
            save_checkpoint({"model": evaluated.state_dict(), "epoch": epoch, "run_id": run.run_id}, run.best_checkpoint)
        metrics[best_key] = best
        if "val_loss" in validated:
            metrics["val_loss"] = validated["val_loss"]
            if metrics["val_loss"] < best_loss:
                best_loss = metrics["val_loss"]
                save_checkpoint({"model": evaluated.state_dict(), "epoch": epoch, "run_id": run.run_id}, run.best_loss_checkpoint)
        history.append({"epoch": float(epoch), **metrics})
        elapsed = time.perf_counter() - clock
        extra = {} if averaged is None else {"averaged": averaged.state_dict()}
        save_checkpoint(
            {
                **extra,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "rng": rng_state(),
                "epoch": epoch,
                best_key: best,
                "best_epoch": best_epoch,
                "best_val_loss": best_loss,
                "elapsed": elapsed,
                "history": history,
                "run_id": run.run_id,
            },
            run.last_checkpoint,
        )
        if on_epoch is not None:
            on_epoch(epoch, metrics)
        if config.patience and epoch - best_epoch >= config.patience:
            stopped = f"early stop: no better {plan.selection_label} for {config.patience} epochs"
            break
        if budget is not None and elapsed >= budget and not last_epoch:  # on the last epoch the budget is spent anyway
            stopped = f"{TIME_CAP_STOP} {config.max_minutes:g} min"
            break
    return TrainOutcome(
        epochs=epoch + 1,
        best_epoch=best_epoch,
        best_value=best,
        wall_seconds=time.perf_counter() - clock,
        stopped_because=stopped,
        resumed_from_epoch=resumed,
        updates_done=(epoch + 1) * steps_per_epoch,
        updates_planned=total_steps,
        history=history,
    )
