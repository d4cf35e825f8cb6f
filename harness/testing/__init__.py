"""The conformance kit: contract tests every plugin package reuses (a pytest plugin).

A plugin's test module subclasses a contract and names its component::

    from harness.testing import ModelContract

    class TestNDT(ModelContract):
        name = "ndt"
        config = {"d_model": 32}     # optional: keep the test small

The tests build the component through a fresh plugin manager (so the entry point is exercised),
run it on a tiny seeded dataset with two regions, and check shapes, finiteness, loss decrease,
determinism under a seed and the checkpoint round trip. Loaded automatically through the
``pytest11`` entry point of bench-harness.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from harness import hookimpl
from harness.contracts import Batch, DatasetTensors, MaskedBatch, ModelShape, Predictions, Split, SplitRates, content_checksum

from harness.testing.encoding import (  # noqa: F401 - the kit's encoding section, re-exported
    TINY_ENCODING_DATASET,
    EncodingModelContract,
    EncodingObjectiveContract,
    PoissonEncodingObjective,
    TinyEncodingPlugin,
    make_tiny_encoding_data,
    reference_encoding_model,
    window_batch,
)

from harness.testing.sessions import (  # noqa: F401,E402 - the kit's sessions section, re-exported
    TINY_SESSIONS,
    MultiSessionModelContract,
    TinySessionsPlugin,
    make_tiny_session_set,
    session_shapes,
)

TINY_DATASET = "bench-tiny"


def make_tiny_dataset(seed: int = 0, n_trials: int = 48, n_bins: int = 20, n_forward: int = 5) -> DatasetTensors:
    """Poisson spikes from smooth shared latents: 2 regions x 6 held-in units, 4 held-out units."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n_heldin, n_heldout, n_latent = 12, 4, 3
    time = np.linspace(0, 2 * np.pi, n_bins + n_forward)
    phases = rng.uniform(0, 2 * np.pi, size=(n_trials, 1, n_latent))
    latents = np.sin(time[None, :, None] * np.arange(1, n_latent + 1) + phases)
    weights = rng.normal(0, 0.8, size=(n_latent, n_heldin + n_heldout))
    rates = np.exp(latents @ weights - 0.5)
    spikes = rng.poisson(rates).astype(np.float32)

    def split(index: np.ndarray) -> Split:
        return Split(
            heldin=spikes[index, :n_bins, :n_heldin],
            heldout=spikes[index, :n_bins, n_heldin:],
            heldin_forward=spikes[index, n_bins:, :n_heldin],
            heldout_forward=spikes[index, n_bins:, n_heldin:],
            behavior=latents[index, :n_bins, :2].astype(np.float32),
            conditions=(index % 4).astype(np.int64),
            true_rates=rates[index].astype(np.float32),
            trial_ids=index,
        )

    order = np.arange(n_trials)
    return DatasetTensors(
        name=TINY_DATASET,
        bin_size_ms=10,
        train=split(order[: n_trials - 16]),
        val=split(order[n_trials - 16 : n_trials - 8]),
        eval=split(order[n_trials - 8 :]),
        heldin_regions=("A",) * 6 + ("B",) * 6,
        heldout_regions=("A", "A", "B", "B"),
        checksum=content_checksum({"spikes": spikes}),
        source="harness.testing (seeded)",
        submission_name=TINY_DATASET,
    )


def load_tiny_dataset(config: Mapping[str, Any]) -> DatasetTensors:
    return make_tiny_dataset(seed=int(config.get("seed", 0)))


class TinyDatasetPlugin:
    """Registers the kit's tiny dataset on a throw-away manager."""

    @hookimpl
    def bench_register_datasets(self, register) -> None:
        register(TINY_DATASET, "harness.testing:load_tiny_dataset", description="conformance kit data", defaults={"seed": 0})


def build_reference_model(shape: ModelShape, config: Mapping[str, Any]):
    return reference_model(shape)


def build_cosmoothing_objective(data: DatasetTensors, config: Mapping[str, Any]) -> CoSmoothingObjective:
    return CoSmoothingObjective()


class MeanEnsembler:
    """The kit's reference ensembler: the plain mean of the candidates' rates."""

    def combine(self, candidates, data: DatasetTensors) -> Predictions:
        import numpy as np

        def mean(name: str) -> SplitRates:
            first = candidates[0].split(name)
            arrays = {
                key: np.mean([c.split(name).arrays()[key] for c in candidates], axis=0) for key in first.arrays()
            }
            return SplitRates(**arrays)

        return Predictions(train=mean("train"), val=mean("val"), eval=mean("eval"))


def build_mean_ensembler(config: Mapping[str, Any]) -> MeanEnsembler:
    return MeanEnsembler()


class KitComponentsPlugin:
    """Registers the kit's reference model, objective and ensembler, for the core's own tests."""

    @hookimpl
    def bench_register_models(self, register) -> None:
        register("kit-linear", "harness.testing:build_reference_model", description="conformance kit linear model")

    @hookimpl
    def bench_register_objectives(self, register) -> None:
        register("kit-cosmoothing", "harness.testing:build_cosmoothing_objective", description="co-smoothing view only")

    @hookimpl
    def bench_register_ensemblers(self, register) -> None:
        register("kit-mean", "harness.testing:build_mean_ensembler", description="mean of candidates' rates")


def kit_host(*extra_plugins: object):
    """A fresh Host with the installed plugins, the kit's tiny dataset and ``extra_plugins``
    (``TinyEncodingPlugin()`` adds the tiny encoding dataset, model and objective)."""
    from harness.plugin.host import HostRecipe

    return HostRecipe(extra_plugins=(TinyDatasetPlugin(), *extra_plugins)).build()


def tensor_batch(split: Split, data: DatasetTensors) -> Batch:
    import numpy as np

    from harness.tasks.nlb.predict import make_batch

    return make_batch(split, np.arange(split.n_trials), data, "cpu")


class CoSmoothingObjective:
    """The kit's reference objective: the NLB co-smoothing view, no random masking."""

    n_prompts = 1
    eval_masks = ("co-smoothing",)

    def training_batch(self, batch: Batch, generator) -> MaskedBatch:
        return self.inference_batch(batch)

    def inference_batch(self, batch: Batch) -> MaskedBatch:
        from harness.tasks.nlb.views import cosmoothing_view

        return cosmoothing_view(batch)

    def loss(self, log_rates, masked: MaskedBatch):
        from harness.tasks.nlb.views import masked_poisson_nll

        return masked_poisson_nll(log_rates, masked.targets, masked.loss_mask)

    def eval_batch(self, batch: Batch, mask: str) -> MaskedBatch:
        return self.inference_batch(batch)


def reference_model(shape: ModelShape):
    """The kit's reference model: a per-bin linear map plus a prompt embedding."""
    import torch

    class LinearRates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.readout = torch.nn.Linear(shape.n_heldin, shape.n_units)
            self.prompt = torch.nn.Embedding(max(1, shape.n_prompts), shape.n_units)

        def forward(self, spikes, prompt):
            return self.readout(spikes) + self.prompt(prompt)[:, None, :]

    return LinearRates()


def _train_steps(model, objective, batch: Batch, steps: int, seed: int = 0) -> list[float]:
    import torch

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    model.train()
    for _ in range(steps):
        masked = objective.training_batch(batch, generator)
        loss = objective.loss(model(masked.inputs, masked.prompt), masked)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.fixture(scope="session")
def bench_kit_host():
    """A Host with the installed plugins and the kit's tiny dataset, shared by contract tests."""
    return kit_host()


@pytest.fixture(scope="session")
def bench_tiny_dataset() -> DatasetTensors:
    return make_tiny_dataset()


@pytest.fixture(scope="session")
def bench_tiny_encoding_data():
    return make_tiny_encoding_data()


class _KitFixtures:
    """The kit's host and tiny dataset under the names contract tests use."""

    @pytest.fixture
    def host(self, bench_kit_host):
        return bench_kit_host

    @pytest.fixture
    def data(self, bench_tiny_dataset):
        return bench_tiny_dataset


class ModelContract(_KitFixtures):
    """Contract tests for a registered model (subclass and set ``name``)."""

    name: ClassVar[str]
    config: ClassVar[Mapping[str, Any]] = {}
    steps: ClassVar[int] = 40

    def build(self, host, data: DatasetTensors, seed: int = 0, n_prompts: int = 2):
        import dataclasses

        import torch

        torch.manual_seed(seed)
        return host.model(self.name, dataclasses.replace(data.shape(), n_prompts=n_prompts), dict(self.config))

    def test_is_registered_with_defaults(self, host):
        entry = host.registries.models.get(self.name)
        assert entry.description, f"model '{self.name}' should describe itself"
        assert isinstance(dict(entry.defaults), dict)

    def test_output_shape_and_finite(self, host, data):
        import torch

        model = self.build(host, data)
        batch = tensor_batch(data.train, data)
        masked = CoSmoothingObjective().inference_batch(batch)
        model.eval()
        with torch.no_grad():
            log_rates = model(masked.inputs, torch.ones_like(masked.prompt))
        assert log_rates.shape == (data.train.n_trials, data.n_bins + data.n_forward, data.n_heldin + data.n_heldout)
        assert torch.isfinite(log_rates).all()

    def test_loss_decreases(self, host, data):
        from harness.plugin.registry import ModelEntry

        entry: ModelEntry = host.registries.models.get(self.name)
        model = self.build(host, data)
        if entry.direct_fit:
            chosen = model.fit_direct(data)
            assert isinstance(chosen, dict)
            return
        losses = _train_steps(model, CoSmoothingObjective(), tensor_batch(data.train, data), self.steps)
        first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
        assert last < first, f"loss did not decrease: {first:.4f} -> {last:.4f}"

    def test_deterministic_under_seed(self, host, data):
        import torch

        batch = tensor_batch(data.val, data)
        outputs = []
        for _ in range(2):
            model = self.build(host, data, seed=123)
            model.eval()
            with torch.no_grad():
                masked = CoSmoothingObjective().inference_batch(batch)
                outputs.append(model(masked.inputs, masked.prompt))
        assert torch.equal(outputs[0], outputs[1])

    def test_checkpoint_round_trip(self, host, data):
        import torch

        model = self.build(host, data, seed=1)
        if getattr(model, "fit_direct", None) is not None:
            model.fit_direct(data)
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        buffer.seek(0)
        restored = self.build(host, data, seed=2)
        restored.load_state_dict(torch.load(buffer, weights_only=True))
        batch = tensor_batch(data.val, data)
        masked = CoSmoothingObjective().inference_batch(batch)
        model.eval()
        restored.eval()
        with torch.no_grad():
            assert torch.allclose(model(masked.inputs, masked.prompt), restored(masked.inputs, masked.prompt))

    def test_mutable_hyperparameters_match_a_fresh_build(self, host, data):
        """What the model declares ``mutable`` (a population-based search changes it mid-run) must,
        set through ``set_hyperparameters``, compute what a model built with it computes."""
        import dataclasses

        import torch

        changes = mutable_changes(host.registries.models.get(self.name), self.config)
        if not changes:
            pytest.skip(f"model '{self.name}' declares no mutable hyperparameter")
        changed = self.build(host, data, seed=1)
        changed.set_hyperparameters(changes)
        fresh = host.model(self.name, dataclasses.replace(data.shape(), n_prompts=2), {**self.config, **changes})
        fresh.load_state_dict(changed.state_dict())
        masked = CoSmoothingObjective().inference_batch(tensor_batch(data.train, data))
        outputs = []
        for model in (changed, fresh):
            model.train()
            torch.manual_seed(5)
            outputs.append(model(masked.inputs, masked.prompt))
            if hasattr(model, "auxiliary_losses"):
                outputs.extend(term.detach() for _, term in sorted(model.auxiliary_losses(10**6, 10**6).items()))
        half = len(outputs) // 2
        for one, two in zip(outputs[:half], outputs[half:]):
            assert torch.allclose(one, two), "set_hyperparameters left the model computing other than a fresh build"


class ObjectiveContract(_KitFixtures):
    """Contract tests for a registered objective (subclass and set ``name``)."""

    name: ClassVar[str]
    config: ClassVar[Mapping[str, Any]] = {}
    steps: ClassVar[int] = 60

    def build(self, host, data):
        return host.objective(self.name, data, dict(self.config))

    def test_masked_batch_contract(self, host, data):
        import torch

        objective = self.build(host, data)
        assert objective.n_prompts >= 1 and objective.eval_masks
        batch = tensor_batch(data.train, data)
        total_bins, units = data.n_bins + data.n_forward, data.n_heldin + data.n_heldout
        for masked in (objective.training_batch(batch, torch.Generator().manual_seed(0)), objective.inference_batch(batch)):
            assert masked.inputs.shape == (data.train.n_trials, total_bins, data.n_heldin), "held-out units are never input"
            assert masked.targets.shape == masked.loss_mask.shape == (data.train.n_trials, total_bins, units)
            assert masked.loss_mask.dtype == torch.bool and masked.loss_mask.any()
            assert masked.prompt.dtype == torch.long and int(masked.prompt.max()) < objective.n_prompts

    def test_forward_bins_never_visible(self, host, data):
        import torch

        objective = self.build(host, data)
        batch = tensor_batch(data.train, data)
        altered = Batch(batch.heldin, batch.heldout, batch.heldin_forward + 3, batch.heldout_forward)
        for seed in range(3):
            one = objective.training_batch(batch, torch.Generator().manual_seed(seed))
            two = objective.training_batch(altered, torch.Generator().manual_seed(seed))
            assert torch.equal(one.inputs, two.inputs), "inputs must not depend on forward-bin spikes"
        assert torch.equal(objective.inference_batch(batch).inputs, objective.inference_batch(altered).inputs)

    def test_deterministic_under_generator(self, host, data):
        import torch

        objective = self.build(host, data)
        batch = tensor_batch(data.train, data)
        one = objective.training_batch(batch, torch.Generator().manual_seed(7))
        two = objective.training_batch(batch, torch.Generator().manual_seed(7))
        assert torch.equal(one.inputs, two.inputs) and torch.equal(one.loss_mask, two.loss_mask)
        assert torch.equal(one.prompt, two.prompt)

    def test_eval_masks(self, host, data):
        objective = self.build(host, data)
        batch = tensor_batch(data.val, data)
        for mask in objective.eval_masks:
            masked = objective.eval_batch(batch, mask)
            assert masked.loss_mask.any(), f"eval mask '{mask}' scores nothing"

    def test_loss_decreases_with_reference_model(self, host, data):
        import dataclasses

        objective = self.build(host, data)
        model = reference_model(dataclasses.replace(data.shape(), n_prompts=objective.n_prompts))
        losses = _train_steps(model, objective, tensor_batch(data.train, data), self.steps)
        assert all(loss == loss for loss in losses), "loss must be finite"
        first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
        assert last < first, f"loss did not decrease: {first:.4f} -> {last:.4f}"

    def test_mutable_hyperparameters_match_a_fresh_build(self, host, data):
        """What the objective declares ``mutable``, set through ``set_hyperparameters``, must make
        the batches an objective built with it makes."""
        import torch

        changes = mutable_changes(host.registries.objectives.get(self.name), self.config)
        if not changes:
            pytest.skip(f"objective '{self.name}' declares no mutable hyperparameter")
        changed = self.build(host, data)
        changed.set_hyperparameters(changes)
        fresh = host.objective(self.name, data, {**self.config, **changes})
        batch = tensor_batch(data.train, data)
        one = changed.training_batch(batch, torch.Generator().manual_seed(3))
        two = fresh.training_batch(batch, torch.Generator().manual_seed(3))
        assert torch.equal(one.inputs, two.inputs) and torch.equal(one.loss_mask, two.loss_mask)


def mutable_changes(entry: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """A value other than the configured one for each mutable config key of ``entry`` (its
    range's top, or bottom where the top is configured); trainer settings are the trainer's."""
    changes = {}
    for key, spec in entry.search_space.items():
        if spec.get("mutable") and not key.startswith("train."):
            current = {**entry.defaults, **config}[key]
            changes[key] = spec["high"] if current != spec["high"] else spec["low"]
    return changes


class EnsemblerContract:
    """Contract tests for a registered ensembler (subclass and set ``name``).

    Set ``reproduces_identical_candidates = False`` for an ensembler that refits the rates (a
    stacking ensembler recalibrates even one candidate repeated); every other test holds for all.
    """

    name: ClassVar[str]
    config: ClassVar[Mapping[str, Any]] = {}
    reproduces_identical_candidates: ClassVar[bool] = True

    @pytest.fixture
    def host(self, bench_kit_host):
        return bench_kit_host

    @staticmethod
    def candidates(data: DatasetTensors, n: int = 3) -> list[Predictions]:
        import numpy as np

        rng = np.random.default_rng(0)
        out = []
        for _ in range(n):
            splits = {}
            for name in ("train", "val", "eval"):
                true = data.split(name).true_rates
                noisy = true * rng.uniform(0.5, 1.5, size=true.shape)
                T, I = data.n_bins, data.n_heldin
                splits[name] = SplitRates(noisy[:, :T, :I], noisy[:, :T, I:], noisy[:, T:, :I], noisy[:, T:, I:])
            out.append(Predictions(**splits))
        return out

    def test_combines_candidates(self, host):
        import numpy as np

        data = make_tiny_dataset()
        combined = host.ensembler(self.name, dict(self.config)).combine(self.candidates(data), data)
        for name in ("train", "val", "eval"):
            for key, array in combined.split(name).arrays().items():
                reference = getattr(self.candidates(data)[0].split(name), key)
                assert array.shape == reference.shape
                assert np.isfinite(array).all() and (array >= 0).all()

    def test_identical_candidates_give_themselves(self, host):
        import numpy as np

        if not self.reproduces_identical_candidates:
            pytest.skip(f"ensembler '{self.name}' refits rates (reproduces_identical_candidates = False)")
        data = make_tiny_dataset()
        one = self.candidates(data, n=1)[0]
        combined = host.ensembler(self.name, dict(self.config)).combine([one, one], data)
        np.testing.assert_allclose(combined.val.heldout, one.val.heldout, rtol=1e-6)

    def test_fits_on_val_only_and_treats_every_split_alike(self, host):
        """What cross-fitting (harness.run.ensembles) relies on: trials handed in as the eval split,
        targets removed, get the rates the fit on val gives the same trials on val; train targets
        play no part."""
        import dataclasses

        import numpy as np

        data = make_tiny_dataset()
        candidates = self.candidates(data)
        fit, held = np.arange(3, data.val.n_trials), np.arange(3)

        def combine(eval_trials: np.ndarray, train_heldout: np.ndarray) -> Predictions:
            fold = data.with_splits(
                train=dataclasses.replace(data.train, heldout=train_heldout),
                val=data.val.take(fit),
                eval=Split(heldin=data.val.heldin[eval_trials], trial_ids=data.val.trial_ids[eval_trials]),
            )
            fold_candidates = [dataclasses.replace(c, val=c.val.take(fit), eval=c.val.take(eval_trials)) for c in candidates]
            return host.ensembler(self.name, dict(self.config)).combine(fold_candidates, fold)

        again = combine(fit, data.train.heldout)
        for key, array in again.val.arrays().items():
            np.testing.assert_allclose(getattr(again.eval, key), array, rtol=1e-6, err_msg=key)
        real = combine(held, data.train.heldout)
        blank = combine(held, np.zeros_like(data.train.heldout))
        np.testing.assert_allclose(blank.eval.heldout, real.eval.heldout, rtol=1e-6)
