"""The contracts between stages: what a dataset gives, what a model, objective and ensembler honour.

Data flows one way: files -> DatasetTensors -> objective (masks) -> model -> log-rates ->
Predictions -> metrics. Dataset tensors and predictions are numpy arrays so that dataset plugins,
metrics and ensemblers never need torch; only models and objectives see torch tensors, and only
the trainer moves them between devices.

Shapes use these letters: R trials, T observed bins, F forward bins, I held-in units, O held-out
units. Spike counts are non-negative integers stored as float32; rates are expected spikes per bin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy and torch load only where data or a model is used: keeps `bench --help` fast
    import numpy as np
    import torch

SPLITS = ("train", "val", "eval")

#: Seed of every K-fold assignment. Fixed (not the run's seed), so every model and objective is
#: validated on the same folds and their pooled scores compare trial for trial.
FOLD_SEED = 0


@dataclass(frozen=True)
class MetricValue:
    """One metric of one run, with the trials it was computed on."""

    value: float | None
    split: str
    n_trials: int
    trials: list[int] = field(default_factory=list)
    note: str = ""
    higher_is_better: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> MetricValue:
        return cls(
            value=None if values["value"] is None else float(values["value"]),
            split=str(values["split"]),
            n_trials=int(values["n_trials"]),
            trials=[int(t) for t in values["trials"]],
            note=str(values.get("note", "")),
            higher_is_better=bool(values.get("higher_is_better", True)),
        )


#: The task every NLB-style dataset poses: infer rates of held-in and held-out units.
COSMOOTHING_TASK = "nlb_cosmoothing"


@dataclass(frozen=True)
class Split:
    """One split's tensors. Arrays a dataset lacks (or withholds) are None.

    heldin (R, T, I), heldout (R, T, O), heldin_forward (R, F, I), heldout_forward (R, F, O),
    behavior (R, T, B), conditions (R,), true_rates (R, T + F, I + O) in spikes per bin,
    trial_ids (R,) index each trial in the dataset's own trial table, trial_behavior (R, B).
    """

    heldin: np.ndarray
    heldout: np.ndarray | None = None
    heldin_forward: np.ndarray | None = None
    heldout_forward: np.ndarray | None = None
    behavior: np.ndarray | None = None
    conditions: np.ndarray | None = None
    true_rates: np.ndarray | None = None
    trial_ids: np.ndarray | None = None
    #: Per-trial behaviour (R, B) where a task has no per-bin signal (dmfc_rsg: is_eye, theta,
    #: is_short, ts, tp), for metrics such as tp corr.
    trial_behavior: np.ndarray | None = None

    @property
    def n_trials(self) -> int:
        return int(self.heldin.shape[0])

    def take(self, index: np.ndarray) -> Split:
        """The same split restricted to the trials at ``index`` (in that order)."""
        import numpy as np

        picked = {}
        for f in fields(self):
            value = getattr(self, f.name)
            picked[f.name] = None if value is None else value[index]
        if picked["trial_ids"] is None:
            picked["trial_ids"] = np.asarray(index)
        return Split(**picked)

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class DatasetTensors:
    """Everything a run needs from a dataset, already binned and split.

    ``val`` is a seeded subset of train trials unless the dataset has labelled val trials with
    targets; ``eval`` may withhold its held-out spikes (``eval.heldout is None``), in which case
    its rates are only exported, never scored here. ``metrics`` names the metrics its task uses, so
    a task with other inputs and targets (an encoding task, say) can plug in beside NLB's.
    """

    name: str
    bin_size_ms: int
    train: Split
    val: Split
    eval: Split
    heldin_regions: tuple[str, ...]
    heldout_regions: tuple[str, ...] | None = None
    checksum: str = ""
    source: str = ""
    task: str = COSMOOTHING_TASK
    metrics: tuple[str, ...] = ("co-bps", "fp-bps", "vel R2", "psth R2")
    #: Group name for NLB submission files (e.g. "mc_maze_small" or "mc_maze_small_20").
    submission_name: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def n_heldin(self) -> int:
        return int(self.train.heldin.shape[2])

    @property
    def n_heldout(self) -> int:
        return 0 if self.train.heldout is None else int(self.train.heldout.shape[2])

    @property
    def n_bins(self) -> int:
        return int(self.train.heldin.shape[1])

    @property
    def n_forward(self) -> int:
        return 0 if self.train.heldin_forward is None else int(self.train.heldin_forward.shape[1])

    @property
    def regions(self) -> tuple[str, ...]:
        """Distinct region labels of held-in units, in first-seen order."""
        return tuple(dict.fromkeys(self.heldin_regions))

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise KeyError(f"unknown split {name!r}; expected one of {SPLITS}")
        return getattr(self, name)

    def shape(self) -> ModelShape:
        return ModelShape(
            n_heldin=self.n_heldin,
            n_heldout=self.n_heldout,
            n_bins=self.n_bins,
            n_forward=self.n_forward,
            bin_size_ms=self.bin_size_ms,
        )

    def with_splits(self, **splits: Split) -> DatasetTensors:
        return replace(self, **splits)


def content_checksum(arrays: Mapping[str, np.ndarray | None], extra: Sequence[str] = ()) -> str:
    """A sha256 over named arrays (name, dtype, shape and bytes) and extra strings."""
    import numpy as np

    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = arrays[name]
        if value is None:
            continue
        value = np.ascontiguousarray(value)
        digest.update(f"{name}|{value.dtype.str}|{value.shape}".encode())
        digest.update(value.tobytes())
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()


def seeded_val_split(n_trials: int, fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n_trials)`` into sorted (train, val) indices, the same for the same seed."""
    import numpy as np

    if not 0 < fraction < 1:
        raise ValueError(f"val fraction must be in (0, 1), got {fraction}")
    n_val = max(1, int(round(n_trials * fraction)))
    if n_val >= n_trials:
        raise ValueError(f"cannot hold out {n_val} of {n_trials} trials for validation")
    order = np.random.default_rng(seed).permutation(n_trials)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


@dataclass(frozen=True)
class ModelShape:
    """What a model needs to know about the data to build itself."""

    n_heldin: int
    n_heldout: int
    n_bins: int
    n_forward: int
    bin_size_ms: int = 5
    #: How many task/prompt ids the objective uses (0 means the objective sends none).
    n_prompts: int = 1

    @property
    def n_units(self) -> int:
        return self.n_heldin + self.n_heldout

    @property
    def n_total_bins(self) -> int:
        return self.n_bins + self.n_forward


@runtime_checkable
class RateModel(Protocol):
    """A model is a ``torch.nn.Module`` built by its plugin's factory ``build(shape, config)``.

    ``forward(spikes, prompt)`` takes held-in counts ``spikes`` (batch, T + F, I) in which the
    objective has already hidden what the model must not see (forward bins are always hidden), and
    ``prompt`` (batch,) long task ids in ``range(shape.n_prompts)``; it returns log-rates
    (batch, T + F, I + O). It knows nothing of masking strategies.
    """

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor: ...

    def parameters(self): ...


@dataclass
class Batch:
    """Trials as torch tensors: heldin (B, T, I), heldout (B, T, O), *_forward (B, F, .)."""

    heldin: torch.Tensor
    heldout: torch.Tensor
    heldin_forward: torch.Tensor
    heldout_forward: torch.Tensor

    def targets(self) -> torch.Tensor:
        """All counts as one (B, T + F, I + O) tensor, aligned with the model's output."""
        import torch

        observed = torch.cat([self.heldin, self.heldout], dim=-1)
        forward = torch.cat([self.heldin_forward, self.heldout_forward], dim=-1)
        return torch.cat([observed, forward], dim=1)


@dataclass
class MaskedBatch:
    """What an objective hands the model and the loss.

    inputs (B, T + F, I) with hidden entries already replaced; prompt (B,) long; targets
    (B, T + F, I + O) counts; loss_mask (B, T + F, I + O) bool marking the entries scored.
    """

    inputs: torch.Tensor
    prompt: torch.Tensor
    targets: torch.Tensor
    loss_mask: torch.Tensor


@runtime_checkable
class Objective(Protocol):
    """A training objective, built by its plugin's factory ``build(data, config)``.

    It sees the dataset (to learn region labels and sizes) and the model contract, never a
    particular architecture. ``n_prompts`` tells the model how many prompt ids to embed.
    ``eval_masks`` names the masks it reports (each scored in bits per spike on val).
    ``inference_batch`` is the deterministic view used to predict rates for scoring and export:
    the co-smoothing setting (all observed held-in visible, forward bins hidden).
    ``generator`` is a CPU ``torch.Generator`` owned by the trainer: draw random masks on the CPU
    with it, then move them to the batch's device, so runs are reproducible on any device.
    """

    n_prompts: int
    eval_masks: tuple[str, ...]

    def training_batch(self, batch: Batch, generator: torch.Generator) -> MaskedBatch: ...

    def loss(self, log_rates: torch.Tensor, masked: MaskedBatch) -> torch.Tensor: ...

    def inference_batch(self, batch: Batch) -> MaskedBatch: ...

    def eval_batch(self, batch: Batch, mask: str) -> MaskedBatch: ...


@dataclass(frozen=True)
class SplitRates:
    """Predicted rates (expected spikes per bin) for one split."""

    heldin: np.ndarray
    heldout: np.ndarray
    heldin_forward: np.ndarray | None = None
    heldout_forward: np.ndarray | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def take(self, index: np.ndarray) -> SplitRates:
        """The same rates restricted to the trials at ``index`` (in that order)."""
        return SplitRates(**{name: array[index] for name, array in self.arrays().items()})


@dataclass(frozen=True)
class Predictions:
    """A candidate's predicted rates for every split, plus per-mask val bps from its objective."""

    train: SplitRates
    val: SplitRates
    eval: SplitRates
    mask_bps: Mapping[str, float] = field(default_factory=dict)

    def split(self, name: str) -> SplitRates:
        return getattr(self, name)

    def flat(self) -> dict[str, np.ndarray]:
        """Every rate array by ``<split>/<field>``: what a task-neutral ensembler averages."""
        return {f"{split}/{name}": array for split in SPLITS for name, array in self.split(split).arrays().items()}

    @classmethod
    def from_flat(cls, arrays: Mapping[str, np.ndarray]) -> Predictions:
        """The inverse of :meth:`flat` (``mask_bps`` empty: it belongs to one model's objective)."""
        splits: dict[str, dict[str, np.ndarray]] = {split: {} for split in SPLITS}
        for key, array in arrays.items():
            split, _, name = key.partition("/")
            splits[split][name] = array
        return cls(**{split: SplitRates(**fields_) for split, fields_ in splits.items()})


@runtime_checkable
class Ensembler(Protocol):
    """Combines candidates' predictions, built by its plugin's factory ``build(config)``.

    Candidates are the predictions of the dataset's task (Predictions for NLB co-smoothing,
    EncodingPredictions for video encoding); an ensembler that only averages can serve any task
    through :func:`harness.run.averaging.average_predictions` (every predictions type has ``flat()``
    and ``from_flat()``). Its registration's ``tasks`` says which tasks it serves.

    ``combine(candidates, data)`` may read ``data.val`` targets (and the candidates' val rates) to
    weigh or select candidates, and returns new Predictions in which the same fitted combination
    is applied to every split; it never touches a model or a checkpoint, and never fits on train
    or eval targets. That is what lets the harness score it honestly: it cross-fits by calling
    ``combine`` with ``data.val`` restricted to some val trials and the other val trials handed in
    as the eval split, their targets removed. After combining it may set ``chosen`` (a
    JSON-serialisable dict: which candidates it used, their weights) for the ensemble's record.
    """

    def combine(self, candidates: Sequence[Predictions], data: DatasetTensors) -> Predictions: ...


@runtime_checkable
class DirectFit(Protocol):
    """A model fitted in closed form (a baseline) rather than by the gradient trainer.

    When a built model has ``fit_direct``, the trainer calls ``fit_direct(data)`` instead of its
    gradient loop (the model may choose its own hyperparameters on ``data.val``), returns a dict of
    what it chose, and then predicts through the same ``forward(spikes, prompt)`` as any model.
    """

    def fit_direct(self, data: DatasetTensors) -> dict[str, Any]: ...


@runtime_checkable
class AuxiliaryLosses(Protocol):
    """A model that adds loss terms of its own beside the objective's (LFADS's KL and L2).

    After each training ``forward`` the trainer calls ``auxiliary_losses(step, total_steps)``
    (``step`` counts optimizer updates from 0, ``total_steps`` is the planned number) and adds
    every returned scalar tensor to the objective's loss. The model applies its own weights and
    ramps, so a term is returned exactly as it enters the loss; the trainer logs each term's
    mean over the epoch under ``aux_<name>`` beside ``train_loss`` (the objective's loss alone:
    what is optimised is ``train_loss`` plus every ``aux_*``).
    Terms may refer to the last forward pass (a KL of the posteriors it drew) or to the weights
    alone (an L2 penalty). A model without this method adds nothing.
    """

    def auxiliary_losses(self, step: int, total_steps: int) -> Mapping[str, torch.Tensor]: ...


@runtime_checkable
class MutableHyperparameters(Protocol):
    """A model or objective whose hyperparameters may change mid-run (a population-based search
    perturbs them; a spec's ``schedule`` replays that). It declares which ones by marking them
    ``mutable: true`` in its registered search space, and takes new values here between epochs:
    ``set_hyperparameters({"dropout": 0.2})`` must leave it computing exactly what a fresh one
    built with those values (and these weights) computes. Weights and optimizer state carry on.
    """

    def set_hyperparameters(self, changes: Mapping[str, Any]) -> None: ...


# -- The encoding task: stimulus (and behaviour) in, neural responses out -----------------------
#
# Letters: R trials, T frames, H x W pixels, B behaviour channels, N neurons of one mouse. Several
# mice share one dataset; each has its own neurons (so its own readout) and its own splits.

#: The task of a video -> responses dataset (Sensorium 2023 and its synthetic stand-in).
ENCODING_TASK = "video_encoding"


@dataclass(frozen=True)
class EncodingSplit:
    """One split of one mouse's trials, frames padded to the longest trial of the split.

    video (R, T, H, W) float32 grey levels as published (0-255); behavior (R, T, B) float32:
    the published ``behavior`` rows then the ``pupil_center`` rows (Sensorium 2023: pupil
    dilation, running speed, pupil centre x and y: B = 4); responses (R, T, N) float32 deconvolved activity, or
    None where the data withholds it; lengths (R,) int valid frames per trial (frames past
    ``lengths[r]`` are padding and never scored); trial_ids (R,) the published trial numbers;
    video_groups (R,) int: trials showing the same or a near-duplicate video share a group (a
    perceptual hash, so folds never split a video); expected (R, T, N) the noise-free responses
    where a synthetic dataset knows them (the oracle), else None.
    """

    video: np.ndarray
    behavior: np.ndarray
    responses: np.ndarray | None
    lengths: np.ndarray
    trial_ids: np.ndarray
    video_groups: np.ndarray
    expected: np.ndarray | None = None

    @property
    def n_trials(self) -> int:
        return int(self.video.shape[0])

    def take(self, index: np.ndarray) -> EncodingSplit:
        """The same split restricted to the trials at ``index`` (in that order)."""
        return EncodingSplit(**{f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[index] for f in fields(self)})


@dataclass(frozen=True)
class MouseRecording:
    """One mouse (one scan): its neurons and its splits. ``eval`` is the test tier whose
    responses may be withheld (``eval.responses is None``)."""

    name: str
    n_neurons: int
    train: EncodingSplit
    val: EncodingSplit
    eval: EncodingSplit
    #: The published neuron ids (``meta/neurons/unit_ids``), (N,); None: 0..N-1. A submission names them.
    neuron_ids: np.ndarray | None = None

    def split(self, name: str) -> EncodingSplit:
        if name not in SPLITS:
            raise KeyError(f"unknown split {name!r}; expected one of {SPLITS}")
        return getattr(self, name)


@dataclass(frozen=True)
class EncodingData:
    """Everything an encoding run needs from a dataset: one recording per mouse.

    ``frame_rate_hz`` is the rate of frames and responses alike (30 Hz in Sensorium 2023);
    ``skip_frames`` is how many first frames of each trial are never scored (the competition
    scored from frame 50 on, so a model always has a history).
    """

    name: str
    frame_rate_hz: float
    mice: tuple[MouseRecording, ...]
    skip_frames: int = 0
    checksum: str = ""
    source: str = ""
    task: str = ENCODING_TASK
    metrics: tuple[str, ...] = ("single-trial correlation", "correlation to average", "poisson loss")
    notes: tuple[str, ...] = ()

    @property
    def frame_shape(self) -> tuple[int, int]:
        return tuple(int(n) for n in self.mice[0].train.video.shape[2:4])

    @property
    def n_behavior(self) -> int:
        return int(self.mice[0].train.behavior.shape[2])

    def shape(self, window: int, predict_stride: int = 1) -> EncodingShape:
        return EncodingShape(
            n_neurons=tuple(mouse.n_neurons for mouse in self.mice),
            frame_shape=self.frame_shape,
            n_behavior=self.n_behavior,
            window=window,
            predict_stride=predict_stride,
        )


@dataclass(frozen=True)
class EncodingShape:
    """What an encoding model needs to know to build itself: neurons per mouse (one readout
    each, in the dataset's mouse order), frame size, behaviour channels, frames per window."""

    n_neurons: tuple[int, ...]
    frame_shape: tuple[int, int]
    n_behavior: int
    window: int
    #: Frames between the windows that predict whole trials (the model config's optional
    #: ``predict_stride``; 1: every frame by the window ending at it). Read by the task, not the model.
    predict_stride: int = 1

    @property
    def n_mice(self) -> int:
        return len(self.n_neurons)


@dataclass
class EncodingBatch:
    """Windows of one mouse's trials as torch tensors: video (b, t, H, W) normalised frames,
    behavior (b, t, B) normalised, responses (b, t, N) targets (None at inference), ``mouse``
    the mouse's index in ``EncodingData.mice``."""

    video: torch.Tensor
    behavior: torch.Tensor
    responses: torch.Tensor | None
    mouse: int


@runtime_checkable
class EncodingModel(Protocol):
    """An encoding model, built by its plugin's factory ``build(shape, config)`` with an
    :class:`EncodingShape`. ``forward(video, behavior, mouse)`` takes one batch's ``video``
    (b, t, H, W) and ``behavior`` (b, t, B) of mouse ``mouse`` and returns that mouse's
    predicted responses (b, t, N), non-negative (a softplus readout), one per frame."""

    def forward(self, video: torch.Tensor, behavior: torch.Tensor, mouse: int) -> torch.Tensor: ...

    def parameters(self): ...


@runtime_checkable
class EncodingObjective(Protocol):
    """How an encoding model is trained, built by ``build(data, config)`` with the run's
    :class:`EncodingData`: ``training_batch`` may augment a batch (CutMix mixes pairs of
    windows and their targets), drawing randomness from the trainer's CPU ``generator``;
    ``loss`` compares predicted responses (b, t, N) with the batch's targets (Poisson loss)."""

    def training_batch(self, batch: EncodingBatch, generator: torch.Generator) -> EncodingBatch: ...

    def loss(self, predicted: torch.Tensor, batch: EncodingBatch) -> torch.Tensor: ...


@dataclass(frozen=True)
class EncodingPredictions:
    """Predicted responses per mouse and split: ``responses[mouse_name][split]`` (R, T, N) on the
    split's frames (padding frames are zero)."""

    responses: Mapping[str, Mapping[str, np.ndarray]]

    def split(self, mouse: str, name: str) -> np.ndarray:
        return self.responses[mouse][name]

    def flat(self) -> dict[str, np.ndarray]:
        """Every array by ``<mouse>/<split>``: what a task-neutral ensembler averages (in mouse order)."""
        return {f"{mouse}/{split}": array for mouse, splits in self.responses.items() for split, array in splits.items()}

    @classmethod
    def from_flat(cls, arrays: Mapping[str, np.ndarray]) -> EncodingPredictions:
        """The inverse of :meth:`flat`."""
        responses: dict[str, dict[str, np.ndarray]] = {}
        for key, array in arrays.items():
            mouse, _, split = key.rpartition("/")
            responses.setdefault(mouse, {})[split] = array
        return cls(responses)


# -- Runs: what lifecycle hooks are handed ----------------------------------------------------


class RunInfo(Protocol):
    """A run as ``bench_run_started``, ``bench_epoch_finished`` and ``bench_run_finished`` see it
    (the core hands them its ``harness.run.context.RunContext``): the spec as it runs, the run id
    and folder, the device, and once they exist the dataset and TrainingPlan. ``extras`` is a
    dict where plugins may keep facts about the run."""

    spec: Any
    run_id: str
    run_dir: Any
    device: str
    data: Any
    plan: Any
    extras: dict[str, Any]


# -- Tasks: what a run's dataset asks of a model, and how the answer is judged -------------------


@runtime_checkable
class TrainingPlan(Protocol):
    """One run's training as its task lays it out, built by :meth:`Task.training_plan`; the
    trainer drives it (optimizer, schedule, EMA, clipping, checkpoints, budgets, resume).

    ``steps_per_epoch`` updates make an epoch. ``selection_metric`` names the value of
    :meth:`validate` that picks the best checkpoint and stops early (``higher_is_better`` says
    which way, ``selection_label`` how messages name it); the trainer logs its running best as
    ``best_<selection_metric>``.
    """

    steps_per_epoch: int
    selection_metric: str
    selection_label: str
    higher_is_better: bool

    def epoch(self, model: torch.nn.Module, generator: torch.Generator) -> Iterator[torch.Tensor]:
        """Yield the objective's loss of each training step of one epoch (the model in train mode,
        its forward done here on the plan's device, randomness drawn from the trainer's CPU
        ``generator``); the trainer adds the model's own terms, steps and clips after each."""
        ...

    def validate(self, model: torch.nn.Module) -> dict[str, float]:
        """Validation figures of ``model`` (in eval mode) on the val split: the selection metric,
        and ``val_loss`` (the objective's loss on val, the second checkpoint criterion) when the
        task has one. Deterministic: it draws from no shared RNG."""
        ...


@runtime_checkable
class Task(Protocol):
    """A task family (NLB co-smoothing, video encoding): registered through
    ``bench_register_tasks`` and picked by the dataset's ``task`` field. The core asks it, never
    branches on its name: what a model is given and trained on, what is scored, which validation
    metric selects checkpoints, how predictions are saved and exported, how folds are drawn.

    ``primary_metric`` is the record metric leaderboards rank by and plot; ``validation_metric``
    the record metric scored on the val split that every run of the task reports (the leaderboard's
    Validation column counts its trials); ``predictions_file`` the file name of a run's saved
    predictions; ``submission_suffix`` that of ``bench submit``'s default output; ``model_contract`` and ``objective_contract`` the protocols its components honour.

    A board also asks, where a task has them (optional, so older tasks keep working):
    ``metric_labels`` (record metric -> the label shown), ``metric_glossary(metrics)`` (metric ->
    a one-line explanation: header tooltips and the board's terms) and ``display_note(metric,
    entry)`` (a recorded metric's note as the board shows it).
    """

    name: str
    primary_metric: str
    validation_metric: str
    validation_label: str
    predictions_file: str
    submission_suffix: str
    model_contract: type
    objective_contract: type
    #: The order of the metric columns on a board (others follow alphabetically).
    metric_order: tuple[str, ...]
    #: The model whose row heads every board as the reference (None: no baseline row).
    baseline_model: str | None
    #: The file a run's report figure is drawn to (``bench report``); None where the task draws none.
    report_figure: str | None

    def higher_is_better(self, metric: str) -> bool:
        """Which way ``metric`` improves (a record's own ``higher_is_better`` wins where it has one)."""
        ...

    def metric_definitions(self, metrics: Sequence[str]) -> list[str]:
        """Markdown lines that define the less obvious of ``metrics`` under a board."""
        ...

    def check_data(self, data: Any) -> None:
        """Raise BenchError unless ``data`` is this task's dataset type (DatasetTensors, EncodingData)."""
        ...

    def describe(self, data: Any) -> str:
        """One line on the dataset's size, printed when a run starts."""
        ...

    def dataset_record(self, data: Any) -> dict[str, Any]:
        """The record's ``dataset`` entry (name, checksum, source, and ``bin_size_ms`` where the
        data is binned), less its config."""
        ...

    def model_shape(self, data: Any, model_config: Mapping[str, Any], objective: Any) -> Any:
        """What the model factory is built with (ModelShape, EncodingShape)."""
        ...

    def training_plan(self, data: Any, shape: Any, objective: Any, config: Any, device: str, seed: int) -> TrainingPlan:
        """The :class:`TrainingPlan` of a gradient-trained run: ``shape`` is what the model was
        built with (:meth:`model_shape`), ``config`` the run's TrainConfig."""
        ...

    def predict(self, model: Any, shape: Any, objective: Any, data: Any, device: str) -> Any:
        """Predictions of every split by the trained ``model`` (built with ``shape``;
        ``objective`` None for closed-form baselines), as numpy: Predictions, EncodingPredictions."""
        ...

    def score(self, data: Any, predictions: Any) -> dict[str, Any]:
        """Every metric of ``predictions`` against ``data``'s targets: {name: MetricValue},
        ``validation_metric`` and ``primary_metric`` among them."""
        ...

    def validation_score(self, data: Any, predictions: Any) -> float | None:
        """The ``validation_metric`` of ``predictions`` alone (one number, none of the other
        metrics): what ``bench tune --ensemble auto`` picks N by. None where val has no targets
        or the figure is not finite."""
        ...

    def render_report(self, record: Mapping[str, Any], data: Any, predictions: Any) -> bytes:
        """The PNG ``bench report`` writes to ``report_figure`` in the run dir; called only when
        ``report_figure`` is set."""
        ...

    def score_submission(self, submission: Any, target: Any) -> dict[str, dict[str, float]] | None:
        """``bench score``: a submission file (what :meth:`write_submission` writes) scored against
        a target file, ``{group: {metric: value}}``; None where the task scores no submission files."""
        ...

    def save_predictions(self, predictions: Any, path: Any) -> Any:
        """Write ``predictions`` to ``path`` atomically and return the path."""
        ...

    def load_predictions(self, path: Any) -> Any:
        """Read what :meth:`save_predictions` wrote; a clear BenchError for anything else."""
        ...

    def write_submission(self, data: Any, predictions: Any, path: Any) -> dict[str, tuple[int, ...]]:
        """Export the predictions in the task's submission layout (``bench submit``); returns the
        shape of each array written, by name."""
        ...

    def write_kept_submission(self, data: Any, predictions: Any, folder: Any) -> Any:
        """The compact submission a pooled K-fold record keeps in its run folder (``folder``),
        which ``bench leaderboard`` copies beside the record so a ranked row can be rescored
        (``bench score``) without its run: its path, or None where the task keeps none."""
        ...

    def submission_description(self, data: Any) -> str:
        """What :meth:`write_submission` writes, in a few words ("group 'mc_maze_small'")."""
        ...

    def ranks_by_folds(self, data: Any) -> int | None:
        """The K its boards rank K-fold rows by where ``data`` withholds its eval targets (NLB's
        mc_maze_small: 5): what ``bench tune`` selects on by default (the pooled K-fold
        validation metric). None where the dataset's own split scores a run (eval targets given)."""
        ...

    def fold_split(self, data: Any, fold: int, folds: int) -> Any:
        """``data`` with fold ``fold`` of ``folds`` as val and the other labelled trials as train."""
        ...

    def to_dataset_layout(self, predictions: Any, data: Any, fold: int, folds: int) -> Any:
        """A fold run's predictions put back into ``data``'s own train and val layout."""
        ...

    def pool_folds(self, data: Any, fold_predictions: Sequence[Any], eval_predictions: Any, folds: int) -> tuple[dict[str, Any], Any, int]:
        """The cross-validated result of K fold runs (predictions in the dataset's layout): its
        metrics {name: record metric dict}, scoring each labelled trial with the fold model that
        validated on it; the pooled predictions to save (eval from ``eval_predictions``, the fold
        ensemble); and how many labelled trials were pooled."""
        ...

    def ensemble_metrics(self, host: Any, ensembler: str, settings: Mapping[str, Any], candidates: Sequence[Any], combined: Any, data: Any, folds: int, seed: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        """An ensemble's metrics {name: MetricValue}, what goes into its ``chosen`` beside the
        ensembler's own, and the cross-fit it used ({"folds", "seed"} or None)."""
        ...
