"""The conformance kit's encoding section: a tiny seeded EncodingData, a reference model and
objective, and contract tests an encoding model or objective plugin reuses::

    from harness.testing import EncodingModelContract

    class TestDwiseNeuro(EncodingModelContract):
        name = "dwiseneuro"
        config = {"window": 8}      # optional: keep the test small

Re-exported by :mod:`harness.testing` (the pytest plugin), which provides the fixtures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from harness import hookimpl
from harness.contracts import ENCODING_TASK, EncodingBatch, EncodingData, EncodingShape, EncodingSplit, MouseRecording, content_checksum

TINY_ENCODING_DATASET = "bench-tiny-encoding"
#: Frames per window the kit's tests use (its trials are short).
TINY_WINDOW = 8


def make_tiny_encoding_data(seed: int = 0, n_videos: int = 12, frame_shape: tuple[int, int] = (8, 12), eval_responses: bool = True) -> EncodingData:
    """Two mice (6 and 4 neurons) watching the same 12 short videos, some shown twice (repeats
    share a video group). Neurons are linear-nonlinear filters of the last frames' contrast with a
    running-speed gain, responses gamma noise around the expected ones (kept as ``expected``)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    height, width = frame_shape
    n_frames = 40
    videos = rng.normal(128, 40, size=(n_videos, n_frames, height, width)).astype(np.float32)
    videos = (videos + np.roll(videos, 1, axis=1)) / 2  # some temporal smoothness
    mice = []
    for index, n_neurons in enumerate((6, 4)):
        shown = np.concatenate([np.arange(n_videos), rng.choice(n_videos, size=8, replace=False)])  # 8 repeats
        n_trials = len(shown)
        lengths = rng.integers(32, n_frames + 1, size=n_trials)
        behavior = rng.normal(0, 1, size=(n_trials, n_frames, 5)).astype(np.float32)
        filters = rng.normal(0, 1, size=(n_neurons, height, width)).astype(np.float32) / (height * width) ** 0.5
        drive = np.einsum("rthw,nhw->rtn", (videos[shown] - 128) / 40, filters)
        drive = (drive + np.roll(drive, 1, axis=1)) / 2
        gain = 1 + 0.3 * np.tanh(behavior[..., :1])
        expected = (np.log1p(np.exp(1.5 * drive)) * gain).astype(np.float32)
        responses = rng.gamma(4.0, expected / 4.0).astype(np.float32)
        valid = np.arange(n_frames)[None, :, None] < lengths[:, None, None]
        video = np.where(valid[..., None], videos[shown], 0).astype(np.float32)
        responses, expected, behavior = responses * valid, expected * valid, behavior * valid

        def split(trials: np.ndarray, keep_responses: bool = True) -> EncodingSplit:
            return EncodingSplit(
                video=video[trials],
                behavior=behavior[trials],
                responses=responses[trials] if keep_responses else None,
                lengths=lengths[trials].astype(np.int64),
                trial_ids=trials.astype(np.int64),
                video_groups=shown[trials].astype(np.int64),
                expected=expected[trials],
            )

        order = rng.permutation(n_trials)
        mice.append(
            MouseRecording(
                name=f"mouse{index}",
                n_neurons=n_neurons,
                train=split(np.sort(order[:12])),
                val=split(np.sort(order[12:16])),
                eval=split(np.sort(order[16:]), eval_responses),
                neuron_ids=np.arange(100, 100 + n_neurons),
            )
        )
    return EncodingData(
        name=TINY_ENCODING_DATASET,
        frame_rate_hz=30.0,
        mice=tuple(mice),
        skip_frames=4,
        checksum=content_checksum({"videos": videos}, extra=[str(seed)]),
        source="harness.testing.encoding (seeded)",
    )


def load_tiny_encoding_data(config: Mapping[str, Any]) -> EncodingData:
    return make_tiny_encoding_data(seed=int(config.get("seed", 0)), eval_responses=bool(config.get("eval_responses", True)))


def reference_encoding_model(shape: EncodingShape):
    """The kit's reference model: each frame's 4x4-pooled pixels and behaviour, a linear readout
    per mouse, softplus."""
    import torch

    class PooledLinear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.window = shape.window
            self.pool = torch.nn.AdaptiveAvgPool2d((2, 3))
            self.readouts = torch.nn.ModuleList(torch.nn.Linear(6 + shape.n_behavior, n) for n in shape.n_neurons)

        def forward(self, video, behavior, mouse):
            b, t = video.shape[:2]
            pooled = self.pool(video.reshape(b * t, 1, *video.shape[2:])).reshape(b, t, 6)
            return torch.nn.functional.softplus(self.readouts[mouse](torch.cat([pooled, behavior], dim=-1)))

    return PooledLinear()


def build_reference_encoding_model(shape: EncodingShape, config: Mapping[str, Any]):
    return reference_encoding_model(shape)


class PoissonEncodingObjective:
    """The kit's reference objective: no augmentation, the Poisson loss on every frame."""

    def training_batch(self, batch: EncodingBatch, generator) -> EncodingBatch:
        return batch

    def loss(self, predicted, batch: EncodingBatch):
        return (predicted - batch.responses * (predicted + 1e-8).log()).mean()


def build_poisson_encoding_objective(data: EncodingData, config: Mapping[str, Any]) -> PoissonEncodingObjective:
    return PoissonEncodingObjective()


class TinyEncodingPlugin:
    """Registers the kit's tiny encoding dataset, reference model and objective (a throw-away manager's)."""

    @hookimpl
    def bench_register_datasets(self, register) -> None:
        register(TINY_ENCODING_DATASET, "harness.testing.encoding:load_tiny_encoding_data", description="conformance kit encoding data", defaults={"seed": 0, "eval_responses": True})

    @hookimpl
    def bench_register_models(self, register) -> None:
        register(
            "kit-encoder", "harness.testing.encoding:build_reference_encoding_model", description="conformance kit encoding model",
            defaults={"window": TINY_WINDOW, "predict_stride": 1}, tasks=(ENCODING_TASK,), default_objective="kit-poisson",
        )

    @hookimpl
    def bench_register_objectives(self, register) -> None:
        register("kit-poisson", "harness.testing.encoding:build_poisson_encoding_objective", description="Poisson loss, no augmentation", tasks=(ENCODING_TASK,))


def window_batch(data: EncodingData, mouse: int = 0, split: str = "train", window: int = TINY_WINDOW) -> EncodingBatch:
    """The first ``window`` frames of every trial of one mouse's split, normalised as the trainer does."""
    import numpy as np

    from harness.tasks.encoding.train import Normalisation, _windows

    recording = data.mice[mouse]
    chosen = recording.split(split)
    trials = np.arange(chosen.n_trials)
    return _windows(chosen, Normalisation.of(recording.train), trials, np.zeros(len(trials), dtype=np.int64), window, mouse, "cpu")


def _encoding_steps(model, objective, batches: list[EncodingBatch], steps: int, seed: int = 0) -> list[float]:
    import torch

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    model.train()
    for step in range(steps):
        batch = objective.training_batch(batches[step % len(batches)], generator)
        loss = objective.loss(model(batch.video, batch.behavior, batch.mouse), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


class _EncodingKitFixtures:
    @pytest.fixture
    def host(self, bench_kit_host):
        return bench_kit_host

    @pytest.fixture
    def data(self, bench_tiny_encoding_data):
        return bench_tiny_encoding_data


class EncodingModelContract(_EncodingKitFixtures):
    """Contract tests for a registered encoding model (subclass and set ``name``; ``config``
    must keep ``window`` within the kit's trials: 8 frames or fewer)."""

    name: ClassVar[str]
    config: ClassVar[Mapping[str, Any]] = {"window": TINY_WINDOW}
    steps: ClassVar[int] = 40

    def build(self, host, data: EncodingData, seed: int = 0):
        import torch

        from harness.tasks.encoding.train import window_of

        torch.manual_seed(seed)
        config = dict(self.config)
        return host.model(self.name, data.shape(window_of(config)), config, task=ENCODING_TASK)

    def test_is_registered_for_the_encoding_task(self, host):
        entry = host.registries.models.get(self.name)
        assert entry.description, f"model '{self.name}' should describe itself"
        assert ENCODING_TASK in entry.tasks, f"model '{self.name}' should declare tasks=({ENCODING_TASK!r},)"

    def test_output_shape_non_negative_and_finite(self, host, data):
        import torch

        model = self.build(host, data)
        model.eval()
        for mouse, recording in enumerate(data.mice):
            batch = window_batch(data, mouse)
            with torch.no_grad():
                predicted = model(batch.video, batch.behavior, mouse)
            assert predicted.shape == (recording.train.n_trials, TINY_WINDOW, recording.n_neurons)
            assert torch.isfinite(predicted).all() and (predicted >= 0).all()

    def test_loss_decreases(self, host, data):
        from harness.testing.encoding import PoissonEncodingObjective

        model = self.build(host, data)
        batches = [window_batch(data, mouse) for mouse in range(len(data.mice))]
        losses = _encoding_steps(model, PoissonEncodingObjective(), batches, self.steps)
        first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
        assert last < first, f"loss did not decrease: {first:.4f} -> {last:.4f}"

    def test_deterministic_under_seed_and_checkpoint_round_trip(self, host, data):
        import io

        import torch

        batch = window_batch(data, 1, "val")
        first, second = self.build(host, data, seed=123), self.build(host, data, seed=123)
        buffer = io.BytesIO()
        torch.save(first.state_dict(), buffer)
        buffer.seek(0)
        restored = self.build(host, data, seed=7)
        restored.load_state_dict(torch.load(buffer, weights_only=True))
        for model in (first, second, restored):
            model.eval()
        with torch.no_grad():
            outputs = [model(batch.video, batch.behavior, 1) for model in (first, second, restored)]
        assert torch.equal(outputs[0], outputs[1])
        assert torch.allclose(outputs[0], outputs[2])


class EncodingObjectiveContract(_EncodingKitFixtures):
    """Contract tests for a registered encoding objective (subclass and set ``name``)."""

    name: ClassVar[str]
    config: ClassVar[Mapping[str, Any]] = {}
    steps: ClassVar[int] = 40

    def build(self, host, data: EncodingData):
        return host.objective(self.name, data, dict(self.config))

    def test_is_registered_for_the_encoding_task(self, host):
        assert ENCODING_TASK in host.registries.objectives.get(self.name).tasks

    def test_training_batch_keeps_shapes_and_is_seeded(self, host, data):
        import torch

        objective = self.build(host, data)
        batch = window_batch(data)
        runs = [objective.training_batch(window_batch(data), torch.Generator().manual_seed(3)) for _ in range(2)]
        for out in runs:
            assert out.video.shape == batch.video.shape and out.behavior.shape == batch.behavior.shape
            assert out.responses.shape == batch.responses.shape and out.mouse == batch.mouse
            assert torch.isfinite(out.video).all() and torch.isfinite(out.responses).all()
        assert torch.equal(runs[0].video, runs[1].video) and torch.equal(runs[0].responses, runs[1].responses)

    def test_loss_is_finite_and_trains_the_reference_model(self, host, data):
        objective = self.build(host, data)
        model = reference_encoding_model(data.shape(TINY_WINDOW))
        batches = [window_batch(data, mouse) for mouse in range(len(data.mice))]
        losses = _encoding_steps(model, objective, batches, self.steps)
        assert all(loss == loss and abs(loss) != float("inf") for loss in losses)
        first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
        assert last < first, f"loss did not decrease: {first:.4f} -> {last:.4f}"
