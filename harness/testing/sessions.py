"""The conformance kit's sessions section: a tiny seeded session set and the contract a model
registered ``sessions=True`` honours (harness.sessions.MultiSessionModel)::

    from harness.testing import MultiSessionModelContract

    class TestNDTSessions(MultiSessionModelContract):
        name = "ndt"
        config = {"width": 16}

Re-exported by :mod:`harness.testing` (the pytest plugin).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from harness import hookimpl
from harness.contracts import DatasetTensors, Split, content_checksum
from harness.sessions import SESSIONS_OPTION, Session, SessionSet, SessionShapes

TINY_SESSIONS = "bench-tiny-sessions"
#: Held-in / held-out units of the kit's three sessions: each its own count.
TINY_SESSION_UNITS = {"a": (10, 3), "b": (7, 2), "c": (12, 4)}


def make_tiny_session(name: str, n_heldin: int, n_heldout: int, seed: int, n_trials: int = 40, n_bins: int = 16, n_forward: int = 4) -> Session:
    """One session of the kit's set: Poisson spikes from the set's shared latents (sines, the same
    frequencies in every session) read out through the session's own weights."""
    import numpy as np

    rng = np.random.default_rng(seed)
    time = np.linspace(0, 2 * np.pi, n_bins + n_forward)
    phases = rng.uniform(0, 2 * np.pi, size=(n_trials, 1, 3))
    latents = np.sin(time[None, :, None] * np.arange(1, 4) + phases)
    weights = rng.normal(0, 0.8, size=(3, n_heldin + n_heldout))
    rates = np.exp(latents @ weights - 0.7)
    spikes = rng.poisson(rates).astype(np.float32)

    def split(index: np.ndarray) -> Split:
        return Split(
            heldin=spikes[index, :n_bins, :n_heldin],
            heldout=spikes[index, :n_bins, n_heldin:],
            heldin_forward=spikes[index, n_bins:, :n_heldin],
            heldout_forward=spikes[index, n_bins:, n_heldin:],
            true_rates=rates[index].astype(np.float32),
            trial_ids=index,
        )

    order = np.arange(n_trials)
    data = DatasetTensors(
        name=f"{TINY_SESSIONS}:{name}",
        bin_size_ms=10,
        train=split(order[: n_trials - 12]),
        val=split(order[n_trials - 12 : n_trials - 6]),
        eval=split(order[n_trials - 6 :]),
        heldin_regions=("A",) * n_heldin,
        heldout_regions=("A",) * n_heldout,
        checksum=content_checksum({"spikes": spikes}, extra=(name,)),
        source="harness.testing (seeded)",
        submission_name=f"{TINY_SESSIONS}_{name}",
    )
    return Session(name, data, tuple(f"{name}-unit{unit}" for unit in range(n_heldin + n_heldout)))


def make_tiny_session_set(seed: int = 0) -> SessionSet:
    sessions = tuple(make_tiny_session(name, *units, seed=seed + index) for index, (name, units) in enumerate(TINY_SESSION_UNITS.items()))
    return SessionSet(TINY_SESSIONS, sessions, source="harness.testing (seeded)")


def load_tiny_sessions(config: Mapping[str, Any]) -> SessionSet | DatasetTensors:
    return make_tiny_session_set(seed=int(config.get("seed", 0))).select(config.get(SESSIONS_OPTION))


class TinySessionsPlugin:
    """Registers the kit's tiny session set on a throw-away manager (``kit_host(TinySessionsPlugin())``)."""

    @hookimpl
    def bench_register_datasets(self, register) -> None:
        register(
            TINY_SESSIONS,
            "harness.testing.sessions:load_tiny_sessions",
            description="conformance kit session set: three sessions with their own units",
            defaults={"seed": 0, SESSIONS_OPTION: []},
            sessions=tuple(TINY_SESSION_UNITS),
        )


def _batch(split: Split, data: DatasetTensors):
    import numpy as np

    from harness.tasks.nlb.predict import make_batch

    return make_batch(split, np.arange(split.n_trials), data, "cpu")


def _cosmoothing(batch):
    from harness.tasks.nlb.views import cosmoothing_view

    return cosmoothing_view(batch)


def _loss(log_rates, masked):
    from harness.tasks.nlb.views import masked_poisson_nll

    return masked_poisson_nll(log_rates, masked.targets, masked.loss_mask)


def session_shapes(sessions: SessionSet, n_prompts: int = 2) -> SessionShapes:
    import dataclasses

    return SessionShapes(sessions.names, tuple(dataclasses.replace(s.data.shape(), n_prompts=n_prompts) for s in sessions.sessions))


class MultiSessionModelContract:
    """Contract tests for a model registered ``sessions=True`` (subclass and set ``name``)."""

    name: ClassVar[str]
    config: ClassVar[Mapping[str, Any]] = {}
    steps: ClassVar[int] = 30

    @pytest.fixture
    def host(self, bench_kit_host):
        return bench_kit_host

    @pytest.fixture
    def sessions(self) -> SessionSet:
        return make_tiny_session_set()

    def build(self, host, shapes: SessionShapes, seed: int = 0):
        import torch

        torch.manual_seed(seed)
        return host.model(self.name, shapes, dict(self.config))

    def test_is_registered_for_sessions(self, host):
        assert host.registries.models.get(self.name).sessions, f"model '{self.name}' should register sessions=True"

    def test_each_session_gets_its_own_units(self, host, sessions):
        import torch

        from harness.sessions import MultiSessionModel
        model = self.build(host, session_shapes(sessions)).eval()
        assert isinstance(model, MultiSessionModel)
        for index, session in enumerate(sessions.sessions):
            data = session.data
            masked = _cosmoothing(_batch(data.val, data))
            with torch.no_grad():
                log_rates = model(masked.inputs, masked.prompt, session=index)
            assert log_rates.shape == (data.val.n_trials, data.n_bins + data.n_forward, data.n_heldin + data.n_heldout)
            assert torch.isfinite(log_rates).all()

    def test_core_is_shared_and_sessions_have_their_own_layers(self, host, sessions):
        """The core's keys do not depend on how many sessions the model has: a one-session
        model's core is the three-session model's, tensor for tensor; the rest is per session."""
        shapes = session_shapes(sessions)
        model = self.build(host, shapes)
        one = self.build(host, SessionShapes.single(shapes.shapes[0], shapes.names[0]))
        core = set(model.core_keys())
        assert core and core < set(model.state_dict()), "the core is some, not all, of the weights"
        assert set(one.core_keys()) == core
        for key in core:
            assert model.state_dict()[key].shape == one.state_dict()[key].shape, key
        assert len(model.state_dict()) > len(one.state_dict()), "more sessions, more per-session layers"

    def test_loss_decreases_on_every_session(self, host, sessions):
        import torch

        model = self.build(host, session_shapes(sessions))
        batches = [_cosmoothing(_batch(s.data.train, s.data)) for s in sessions.sessions]
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        model.train()
        history = []
        for _ in range(self.steps):
            losses = [_loss(model(b.inputs, b.prompt, session=i), b) for i, b in enumerate(batches)]
            optimizer.zero_grad()
            sum(losses).backward()
            optimizer.step()
            history.append([loss.item() for loss in losses])
        for index in range(len(batches)):
            first, last = history[0][index], history[-1][index]
            assert last < first, f"session {index}: loss did not decrease ({first:.4f} -> {last:.4f})"

    def test_one_session_model_is_a_rate_model(self, host, sessions):
        """Built with one session it is called as any model (forward(spikes, prompt)), which is
        what lets a fine-tuning run on an ordinary dataset use it."""
        import torch

        data = sessions.sessions[1].data
        model = self.build(host, SessionShapes.single(session_shapes(sessions).shapes[1], "b")).eval()
        masked = _cosmoothing(_batch(data.val, data))
        with torch.no_grad():
            assert torch.equal(model(masked.inputs, masked.prompt), model(masked.inputs, masked.prompt, session=0))

    def test_core_loads_into_a_model_of_other_sessions(self, host, sessions):
        """Fine-tuning's step: the core of a three-session model, loaded into a one-session model
        of another session, gives the same core weights; the new session's layers stay its own."""
        import torch

        shapes = session_shapes(sessions)
        pretrained = self.build(host, shapes, seed=1)
        buffer = io.BytesIO()
        torch.save(pretrained.state_dict(), buffer)
        buffer.seek(0)
        state = torch.load(buffer, weights_only=True)
        new = self.build(host, SessionShapes.single(shapes.shapes[2], "c"), seed=2)
        before = {key: value.clone() for key, value in new.state_dict().items()}
        core = new.core_keys()
        new.load_state_dict({key: state[key] for key in core}, strict=False)
        for key, value in new.state_dict().items():
            if key in core:
                assert torch.equal(value, state[key]), key
            else:
                assert torch.equal(value, before[key]), f"{key} is the new session's own and must not be loaded"

    def test_deterministic_under_seed(self, host, sessions):
        import torch

        data = sessions.sessions[0].data
        masked = _cosmoothing(_batch(data.val, data))
        outputs = []
        for _ in range(2):
            model = self.build(host, session_shapes(sessions), seed=5).eval()
            with torch.no_grad():
                outputs.append(model(masked.inputs, masked.prompt, session=0))
        assert torch.equal(*outputs)
