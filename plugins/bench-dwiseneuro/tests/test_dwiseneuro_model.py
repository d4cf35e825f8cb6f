"""The dwiseneuro encoding model: the EncodingModel contract and what is particular to DwiseNeuro.

The conformance kit (harness.testing) checks NLB models only so far; the encoding checks it will
gain (shapes, non-negativity, determinism, round trip) are written here for now.
"""

from __future__ import annotations

import math

import io
import subprocess
import sys

import pytest
import torch

from bench_dwiseneuro.model import Pointwise3d, SpatialDepthwise3d, TemporalDepthwise3d, build, grid_position_table, sine_position_table, tile_channels
from bench_dwiseneuro.plugin import DEFAULTS
from harness.api import BenchError, ENCODING_TASK, EncodingModel, EncodingShape, TrainConfig, merged_config
from harness.testing import kit_host

#: Small enough for fast tests; still two strided blocks, a widening block and a 2-layer cortex.
SMALL = {"features": [8, 8, 16], "strides": [2, 1, 2], "expansion": 2, "se_reduce_ratio": 4, "cortex": [16, 32]}
SHAPE = EncodingShape(n_neurons=(7, 12, 5), frame_shape=(18, 32), n_behavior=5, window=8)


def small_model(seed: int = 0, shape: EncodingShape = SHAPE, **changes) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build(shape, {**DEFAULTS, **SMALL, **changes})


def inputs(batch: int = 3, shape: EncodingShape = SHAPE, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    video = torch.randn(batch, shape.window, *shape.frame_shape, generator=generator)
    behavior = torch.randn(batch, shape.window, shape.n_behavior, generator=generator)
    return video, behavior


@pytest.fixture(scope="module")
def entry():
    return kit_host().registries.models.get("dwiseneuro")


def test_registered_for_the_encoding_task_with_its_training(entry):
    assert entry.tasks == (ENCODING_TASK,)
    assert entry.default_objective == "poisson"  # cutmix by --objective (README: it costs in a 15-minute budget)
    assert set(entry.train_defaults) <= set(TrainConfig.__dataclass_fields__)
    assert entry.train_defaults["ema_decay"] > 0 and entry.defaults["window"] == 16


def test_built_through_the_registry_honours_the_contract(entry):
    model = entry.load()(SHAPE, merged_config(entry, SMALL))
    assert isinstance(model, EncodingModel) and isinstance(model, torch.nn.Module)


@pytest.mark.parametrize("mouse", range(SHAPE.n_mice))
def test_each_mouse_gets_its_own_neurons_non_negative(mouse):
    model = small_model().eval()
    with torch.no_grad():
        responses = model(*inputs(), mouse)
    assert responses.shape == (3, SHAPE.window, SHAPE.n_neurons[mouse])
    assert torch.isfinite(responses).all() and (responses >= 0).all()


@pytest.mark.parametrize("frame_shape", [(18, 32), (19, 33), (24, 40), (7, 9)])
def test_any_frame_size_and_window_length(frame_shape):
    shape = EncodingShape(n_neurons=(4,), frame_shape=frame_shape, n_behavior=5, window=16)
    model = small_model(shape=shape).eval()
    for window in (16, 3, 1):  # shorter than the temporal kernel too
        video, behavior = inputs(2, shape)
        with torch.no_grad():
            assert model(video[:, :window], behavior[:, :window], 0).shape == (2, window, 4)


def test_gradients_reach_the_core_cortex_and_that_mouses_readout_only():
    model = small_model().train()
    model(*inputs(), 1).mean().backward()
    for name, parameter in model.named_parameters():
        if name.startswith("readouts.") and not name.startswith("readouts.1."):
            assert parameter.grad is None, f"{name}: another mouse's readout must not learn from mouse 1"
        else:
            assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
    assert model.stem[0].weight.grad.abs().sum() > 0
    assert model.readouts[1].conv.weight.grad.abs().sum() > 0


def test_deterministic_under_a_seed_in_training_and_evaluation():
    video, behavior = inputs()
    for mode in ("train", "eval"):
        outputs = []
        for _ in range(2):
            model = small_model(seed=123)
            model.train(mode == "train")
            torch.manual_seed(7)  # dropout and DropPath draw from torch's global generator
            outputs.append(model(video, behavior, 0))
        assert torch.equal(outputs[0], outputs[1]), mode
    assert not torch.equal(small_model(seed=1).eval()(video, behavior, 0), small_model(seed=2).eval()(video, behavior, 0))


def test_checkpoint_round_trip():
    model = small_model(seed=1).train()
    model(*inputs(), 0)  # move the BatchNorm running statistics away from their start
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = small_model(seed=2)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    model.eval(), restored.eval()
    with torch.no_grad():
        assert torch.equal(model(*inputs(), 2), restored(*inputs(), 2))


def test_behaviour_enters_as_channels_and_can_be_switched_off():
    video, behavior = inputs()
    with torch.no_grad():
        model = small_model().eval()
        assert not torch.allclose(model(video, behavior, 0), model(video, behavior + 1.0, 0))
        blind = small_model(behavior=False).eval()
        assert torch.equal(blind(video, behavior, 0), blind(video, behavior + 1.0, 0))
    assert blind.stem[0].in_channels == 1 and model.stem[0].in_channels == 1 + SHAPE.n_behavior


def test_learns_a_frame_brightness_neuron():
    """A few AdamW steps fit neurons that follow the mean brightness: the loss falls."""
    shape = EncodingShape(n_neurons=(4,), frame_shape=(8, 8), n_behavior=2, window=4)
    tiny = {"features": [4, 8], "strides": [2, 1], "cortex": [8], "readout_dropout": 0.0, "drop_path": 0.0, "softplus_beta": 1.0}
    model = small_model(shape=shape, **tiny).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    video, behavior = inputs(8, shape)
    targets = torch.nn.functional.softplus(video.mean((2, 3)) * 4)[..., None] * torch.linspace(0.5, 2.0, 4)
    losses = []
    for _ in range(30):
        predicted = model(video, behavior, 0)
        loss = (predicted - targets * torch.log(predicted + 1e-8)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.05


def test_causal_temporal_convolutions_never_see_later_frames():
    x = torch.randn(1, 4, 8, 3, 3, generator=torch.Generator().manual_seed(0))
    later = x.clone()
    later[:, :, 5:] += 1.0
    causal, symmetric = TemporalDepthwise3d(4, 3, causal=True), TemporalDepthwise3d(4, 3)
    with torch.no_grad():
        assert torch.equal(causal(x)[:, :, :5], causal(later)[:, :, :5])
        assert not torch.equal(causal(x)[:, :, 5:], causal(later)[:, :, 5:])
        assert not torch.equal(symmetric(x)[:, :, 4], symmetric(later)[:, :, 4])  # frame 4 sees frame 5
    assert small_model(causal=True).core[1].temporal[0].pad == (0, 0, 4, 0)


def test_readouts_start_alike_whatever_the_neuron_count():
    """Initialised by fan-in: pre-activations of a 5- and a 500-neuron readout spread alike (the
    winner's fan-out init would make the small one's ten times wider)."""
    shape = EncodingShape(n_neurons=(5, 500), frame_shape=(18, 32), n_behavior=5, window=8)
    model = small_model(shape=shape).eval()
    video, behavior = inputs(4, shape)
    spreads = []
    for mouse, readout in enumerate(model.readouts):
        captured = []
        handle = readout.conv.register_forward_hook(lambda module, args, output: captured.append(output))
        with torch.no_grad():
            model(video, behavior, mouse)
        handle.remove()
        spreads.append(captured[0].std().item())
    assert 0.3 < spreads[0] < 5 and 0.3 < spreads[1] < 5
    assert max(spreads) / min(spreads) < 2


def test_softplus_beta_sets_the_zero_level():
    model = small_model(softplus_beta=0.07)
    assert model.readouts[0].softplus.beta == 0.07
    with torch.no_grad():  # a zero pre-activation is log(2) / beta, ~9.9 for the winner's 0.07
        assert model.readouts[0].softplus(torch.zeros(1)).item() == pytest.approx(9.902, abs=1e-3)


def test_position_table_codes_each_axis():
    table = sine_position_table(12, 4, 3, 5)
    assert table.shape == (1, 12, 4, 3, 5)
    assert torch.equal(table[0, 0, :, 0, 0], torch.sin(torch.arange(4.0)))  # time, lowest frequency
    assert torch.equal(table[0, 4, 0, :, 0], torch.sin(torch.arange(3.0)))  # rows
    assert torch.equal(table[0, 8, 0, 0, :], torch.sin(torch.arange(5.0)))  # columns
    assert (table[0, :4].std(dim=(2, 3)) == 0).all()  # time codes constant over the frame


def test_grid_position_table_codes_rows_and_columns_even_with_few_channels():
    table = grid_position_table(8, 3, 6, 10)  # the first block's 8 channels: 4 for rows, 4 for columns
    assert table.shape == (1, 8, 3, 6, 10)
    assert (table[0, :, 0] == table[0, :, 2]).all()  # no time code: the same at every frame
    rows, columns = table[0, :4, 0, :, 0], table[0, 4:, 0, 0, :]
    assert (table[0, :4].std(dim=3) == 0).all() and (table[0, 4:].std(dim=2) == 0).all()
    # the first harmonic is half a period across the axis: sin rises then falls, cos changes sign once
    torch.testing.assert_close(rows[0], torch.sin(math.pi * (torch.arange(6.0) + 0.5) / 6))
    assert (columns[2][:5] > 0).all() and (columns[2][5:] < 0).all()
    # every position of an axis gets its own code
    assert len({tuple(code.round(decimals=4).tolist()) for code in columns.T}) == 10


@pytest.mark.parametrize("stride", [1, 2])
def test_factorised_convolutions_are_the_winners_3d_ones(stride):
    """Run as 2D convolutions for speed; the same maps as the (1,k,k), (k,1,1), 1x1x1 Conv3d."""
    x = torch.randn(2, 6, 5, 9, 11, generator=torch.Generator().manual_seed(0))
    F = torch.nn.functional
    spatial, temporal, pointwise = SpatialDepthwise3d(6, 3, stride), TemporalDepthwise3d(6, 5), Pointwise3d(6, 4)
    with torch.no_grad():
        expected = F.conv3d(x, spatial.weight[:, :, None], stride=(1, stride, stride), padding=(0, 1, 1), groups=6)
        torch.testing.assert_close(spatial(x), expected)
        torch.testing.assert_close(temporal(x), F.conv3d(x, temporal.weight[..., None], padding=(2, 0, 0), groups=6))
        torch.testing.assert_close(pointwise(x), F.conv3d(x, pointwise.weight[..., None]))


def test_tiled_shortcut_repeats_channels():
    x = torch.arange(3.0).view(1, 3, 1)
    assert tile_channels(x, 7).flatten().tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_mouse_out_of_range_is_refused():
    with pytest.raises(IndexError, match="3 mice"):
        small_model()(*inputs(), 3)


def test_defaults_build_and_stay_small():
    model = build(EncodingShape(n_neurons=(40, 40, 40), frame_shape=(24, 40), n_behavior=5, window=16), DEFAULTS)
    n_parameters = sum(p.numel() for p in model.parameters())
    assert 20_000 < n_parameters < 500_000


@pytest.mark.parametrize(
    "changes, option",
    [
        ({"features": [16, 0]}, "features"),
        ({"features": []}, "features"),
        ({"features": "16,32"}, "features"),
        ({"strides": [2]}, "strides"),
        ({"cortex": [15]}, "groups"),
        ({"spatial_kernel": 4}, "spatial_kernel"),
        ({"temporal_kernel": 0}, "temporal_kernel"),
        ({"expansion": 0}, "expansion"),
        ({"groups": 0}, "groups"),
        ({"softplus_beta": 0}, "softplus_beta"),
        ({"readout_dropout": 1.0}, "readout_dropout"),
        ({"drop_path": -0.1}, "drop_path"),
        ({"window": 0}, "window"),
        ({"behavior": "yes"}, "behavior"),
        ({"causal": 1}, "causal"),
        ({"position": "learned"}, "position"),
    ],
)
def test_bad_options_are_refused_naming_the_option(changes, option):
    with pytest.raises(BenchError, match=f"option '{option}'"):
        small_model(**changes)


def test_unknown_options_are_refused(entry):
    with pytest.raises(BenchError, match="hidden"):
        merged_config(entry, {"hidden": 0})


def test_plugin_import_does_not_import_torch():
    code = "import sys, bench_dwiseneuro.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
