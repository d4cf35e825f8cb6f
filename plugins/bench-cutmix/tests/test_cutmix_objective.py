"""The cutmix and poisson encoding objectives: the EncodingObjective contract, CutMix's boxes and
area-ratio targets, the Poisson loss.

The conformance kit (harness.testing) has no encoding section yet; the tiny encoding data and
reference model these tests need are written here for now.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from bench_cutmix.objective import poisson_loss, random_box
from harness.api import BenchError, ENCODING_TASK, EncodingBatch, EncodingData, EncodingObjective, EncodingSplit, MouseRecording, merged_config
from harness.testing import kit_host

N, T, H, W, B = 6, 8, 10, 14, 5


def tiny_encoding_data() -> EncodingData:
    """Two mice of random trials in the contract's layout (what an objective's factory receives)."""
    rng = np.random.default_rng(0)

    def split(trials: int, neurons: int) -> EncodingSplit:
        return EncodingSplit(
            video=rng.uniform(0, 255, (trials, T, H, W)).astype(np.float32),
            behavior=rng.normal(size=(trials, T, B)).astype(np.float32),
            responses=rng.gamma(1.0, size=(trials, T, neurons)).astype(np.float32),
            lengths=np.full(trials, T),
            trial_ids=np.arange(trials),
            video_groups=np.arange(trials),
        )

    mice = tuple(MouseRecording(f"mouse{m}", n, split(4, n), split(2, n), split(2, n)) for m, n in enumerate((3, 5)))
    return EncodingData(name="tiny-encoding", frame_rate_hz=30.0, mice=mice)


def constant_batch(n: int = N) -> EncodingBatch:
    """Window i shows the grey level i + 1 everywhere, behaves as 10 * (i + 1) and fires 100 * (i + 1):
    after mixing, every value tells which window it came from."""
    level = torch.arange(1.0, n + 1)
    return EncodingBatch(
        video=level.view(n, 1, 1, 1).expand(n, T, H, W).clone(),
        behavior=(10 * level).view(n, 1, 1).expand(n, T, B).clone(),
        responses=(100 * level).view(n, 1, 1).expand(n, T, 3).clone(),
        mouse=0,
    )


def objective(name: str = "cutmix", **config):
    host = kit_host()
    entry = host.registries.objectives.get(name)
    return entry.load()(tiny_encoding_data(), merged_config(entry, config))


@pytest.mark.parametrize("name", ["cutmix", "poisson"])
def test_registered_for_the_encoding_task_and_honour_the_contract(name):
    entry = kit_host().registries.objectives.get(name)
    assert entry.tasks == (ENCODING_TASK,) and entry.description
    assert isinstance(objective(name), EncodingObjective)


def test_prob_zero_leaves_the_batch_unchanged():
    batch = constant_batch()
    mixed = objective(prob=0.0).training_batch(batch, torch.Generator().manual_seed(0))
    for key in ("video", "behavior", "responses"):
        assert torch.equal(getattr(mixed, key), getattr(batch, key))


def test_poisson_objective_never_augments():
    batch = constant_batch()
    assert objective("poisson").training_batch(batch, torch.Generator().manual_seed(0)) is batch


@pytest.mark.parametrize("seed", range(5))
def test_a_partners_box_is_pasted_and_targets_mixed_by_its_area(seed):
    batch = constant_batch()
    mixed = objective(prob=1.0).training_batch(batch, torch.Generator().manual_seed(seed))
    n_mixed = 0
    for i in range(N):
        own = i + 1.0
        frames = mixed.video[i]
        assert torch.equal(frames, frames[:1].expand_as(frames)), "the same box on every frame of the window"
        pasted = frames[0] != own
        if not pasted.any():  # a Beta draw near 0 gives an empty box: nothing changes
            assert torch.equal(mixed.responses[i], batch.responses[i])
            continue
        n_mixed += 1
        rows, columns = pasted.any(1).nonzero().flatten(), pasted.any(0).nonzero().flatten()
        box = pasted[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
        assert box.all() and int(pasted.sum()) == box.numel(), "the pasted area is one rectangle"
        partner_level = frames[0][pasted].unique()
        assert partner_level.numel() == 1 and partner_level.item() != own
        share = box.numel() / (H * W)
        partner = partner_level.item()
        expected = (1 - share) * 100 * own + share * 100 * partner
        torch.testing.assert_close(mixed.responses[i], torch.full_like(mixed.responses[i], expected))
        torch.testing.assert_close(mixed.behavior[i], torch.full_like(mixed.behavior[i], (1 - share) * 10 * own + share * 10 * partner))
    assert n_mixed >= N - 2
    assert torch.equal(batch.video, constant_batch().video), "the input batch is not modified in place"


def test_about_prob_of_the_windows_are_mixed():
    generator = torch.Generator().manual_seed(0)
    cutmix = objective(prob=0.5)
    mixed_share = np.mean([
        (cutmix.training_batch(constant_batch(), generator).responses[:, 0, 0] != 100 * torch.arange(1.0, N + 1)).float().mean().item()
        for _ in range(200)
    ])
    assert 0.38 < mixed_share < 0.55  # 0.5, less the few empty boxes


def test_box_share_never_exceeds_the_mixing_ratio_and_averages_near_it():
    rng = np.random.default_rng(0)
    ratios, shares = [], []
    for _ in range(2000):
        lam = rng.beta(1.0, 1.0)
        share = random_box(24, 40, lam, rng).share(24, 40)
        assert 0.0 <= share <= lam + 1e-12
        ratios.append(lam), shares.append(share)
    # Clipping at the edges shrinks boxes: on average they cover less than lam, but not much less.
    assert 0.5 * np.mean(ratios) < np.mean(shares) < np.mean(ratios)


def test_same_generator_state_same_mix_and_the_generator_advances():
    cutmix = objective(prob=1.0)
    one = cutmix.training_batch(constant_batch(), torch.Generator().manual_seed(3))
    two = cutmix.training_batch(constant_batch(), torch.Generator().manual_seed(3))
    assert torch.equal(one.video, two.video) and torch.equal(one.responses, two.responses)
    generator = torch.Generator().manual_seed(3)
    first = cutmix.training_batch(constant_batch(), generator)
    second = cutmix.training_batch(constant_batch(), generator)
    assert not torch.equal(first.video, second.video)


def test_a_single_window_is_left_alone():
    batch = constant_batch(1)
    assert objective(prob=1.0).training_batch(batch, torch.Generator().manual_seed(0)) is batch


def test_poisson_loss_is_torchs_poisson_nll_on_rates():
    generator = torch.Generator().manual_seed(0)
    predicted = torch.rand(4, T, 3, generator=generator) * 5
    targets = torch.poisson(torch.full((4, T, 3), 2.0), generator=generator)
    batch = EncodingBatch(video=torch.zeros(4, T, H, W), behavior=torch.zeros(4, T, B), responses=targets, mouse=1)
    expected = torch.nn.functional.poisson_nll_loss(predicted, targets, log_input=False, full=False, eps=1e-8)
    for name in ("cutmix", "poisson"):
        torch.testing.assert_close(objective(name).loss(predicted, batch), expected)
    torch.testing.assert_close(poisson_loss(predicted, targets, 1e-8), (predicted - targets * torch.log(predicted + 1e-8)).mean())


def test_loss_refuses_a_batch_without_targets_or_a_wrong_shape():
    batch = constant_batch()
    with pytest.raises(BenchError, match="do not match"):
        objective().loss(torch.ones(N, T, 4), batch)
    with pytest.raises(BenchError, match="no responses"):
        objective().loss(torch.ones(N, T, 3), EncodingBatch(batch.video, batch.behavior, None, 0))


def test_loss_falls_training_a_reference_model_on_mixed_batches():
    """The kit's idea of a reference model, for encoding: a linear map of the pooled 4x4 frame."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    video = torch.randn(16, T, H, W, generator=generator)
    pooled = torch.nn.functional.adaptive_avg_pool2d(video, 4).flatten(2)
    responses = torch.nn.functional.softplus(pooled @ torch.randn(16, 3, generator=generator))
    batch = EncodingBatch(video=video, behavior=torch.zeros(16, T, B), responses=responses, mouse=0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 3), torch.nn.Softplus())
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-2)
    cutmix, losses = objective(prob=0.5), []
    for _ in range(80):
        mixed = cutmix.training_batch(batch, generator)
        loss = cutmix.loss(model(torch.nn.functional.adaptive_avg_pool2d(mixed.video, 4).flatten(2)), mixed)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < np.mean(losses[:10])


@pytest.mark.parametrize(
    "name, config, option",
    [("cutmix", {"prob": 1.5}, "prob"), ("cutmix", {"prob": "half"}, "prob"), ("cutmix", {"alpha": 0}, "alpha"), ("poisson", {"eps": 0}, "eps")],
)
def test_bad_options_are_refused_naming_the_option(name, config, option):
    with pytest.raises(BenchError, match=f"{name}: option '{option}'"):
        objective(name, **config)


def test_plugin_import_does_not_import_torch():
    code = "import sys, bench_cutmix.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
