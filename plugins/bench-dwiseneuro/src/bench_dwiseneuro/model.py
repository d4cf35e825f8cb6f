"""DwiseNeuro (Sensorium 2023 winner, R. Kuzmin), scaled down for a CPU, as a bench encoding model.

The video frame and the behaviour (as extra channels, constant over the frame) pass through a
point-wise 3D stem, then inverted residual blocks whose depth-wise convolution is factorised into a
spatial (1, k, k) and a temporal (k, 1, 1) one, with squeeze-and-excitation, DropPath, an absolute
3D sine position encoding added before each block, and a parameter-free shortcut (nearest
downsampling and channel tiling, then BatchNorm). Space is then averaged away; a "cortex" of
grouped 1x1 convolutions over time with channel shuffle mixes the features; one grouped 1x1
readout per mouse gives that mouse's neurons through a softplus with a small beta (0.07), so the
outputs are non-negative and can grow large without the gradient vanishing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from harness.api import BenchError, EncodingShape


def drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Zero a whole sample's residual branch with probability ``rate`` (stochastic depth)."""
    if rate == 0.0 or not training:
        return x
    keep = 1.0 - rate
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
    return x * mask / keep


class BatchNormAct(nn.Sequential):
    def __init__(self, channels: int, norm: type[nn.Module], activation: bool = True):
        super().__init__(norm(channels), nn.SiLU() if activation else nn.Identity())


class SqueezeExcite3d(nn.Module):
    """Channel gates from the mean over time and space of each channel."""

    def __init__(self, channels: int, reduce_ratio: int):
        super().__init__()
        reduced = max(1, channels // reduce_ratio)
        self.reduce = nn.Conv3d(channels, reduced, 1)
        self.expand = nn.Conv3d(reduced, channels, 1)
        self.activation = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.expand(self.activation(self.reduce(x.mean((2, 3, 4), keepdim=True))))
        return x * torch.sigmoid(gate)


def tile_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Repeat the channels of (b, c, ...) until there are ``channels``, then cut: the winner's
    parameter-free way to widen a shortcut."""
    if x.shape[1] == channels:
        return x
    repeats = math.ceil(channels / x.shape[1])
    return x.repeat(1, repeats, *([1] * (x.ndim - 2)))[:, :channels]


class Pointwise3d(nn.Conv2d):
    """A 1x1x1 convolution of (b, c, t, H, W), run as a 1x1 Conv2d over (b, c, t, H*W): the same
    map, and PyTorch's CPU Conv3d has no fast path for it."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, h, w = x.shape
        return super().forward(x.reshape(b, -1, t, h * w)).view(b, -1, t, h, w)


class SpatialDepthwise3d(nn.Conv2d):
    """The winner's (1, k, k) depth-wise Conv3d, run as a grouped Conv2d over (b, c*t, H, W) with
    each channel's kernel repeated for its t frames (4-5x faster than Conv3d on a CPU)."""

    def __init__(self, channels: int, kernel: int, stride: int):
        super().__init__(channels, channels, kernel, stride=stride, padding=kernel // 2, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        weight = self.weight.repeat_interleave(t, dim=0)
        y = F.conv2d(x.reshape(b, c * t, h, w), weight, stride=self.stride, padding=self.padding, groups=c * t)
        return y.view(b, c, t, *y.shape[2:])


class TemporalDepthwise3d(nn.Conv2d):
    """The winner's (k, 1, 1) depth-wise Conv3d, run as a (k, 1) Conv2d over (b, c, t, H*W).

    Symmetric padding (the winner's) lets each frame see k // 2 neighbours on both sides;
    ``causal`` pads only the past, so each frame sees the k - 1 frames before it and none after.
    """

    def __init__(self, channels: int, kernel: int, causal: bool = False):
        super().__init__(channels, channels, (kernel, 1), padding=0, groups=channels, bias=False)
        self.pad = (0, 0, kernel - 1, 0) if causal else (0, 0, kernel // 2, kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        return super().forward(F.pad(x.reshape(b, c, t, h * w), self.pad)).view(b, c, t, h, w)


class InvertedResidual3d(nn.Module):
    """Point-wise expansion, spatial then temporal depth-wise convolution, squeeze-and-excitation,
    point-wise projection; added to a parameter-free shortcut."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, spatial_kernel: int, temporal_kernel: int, causal: bool, expansion: int, se_reduce_ratio: int, drop_path_rate: float):
        super().__init__()
        mid = in_channels * expansion
        self.stride = stride
        self.out_channels = out_channels
        self.drop_path_rate = drop_path_rate
        self.expand = nn.Sequential(Pointwise3d(in_channels, mid), BatchNormAct(mid, nn.BatchNorm3d))
        self.spatial = nn.Sequential(SpatialDepthwise3d(mid, spatial_kernel, stride), BatchNormAct(mid, nn.BatchNorm3d))
        self.temporal = nn.Sequential(TemporalDepthwise3d(mid, temporal_kernel, causal), BatchNormAct(mid, nn.BatchNorm3d))
        self.squeeze_excite = SqueezeExcite3d(mid, se_reduce_ratio)
        self.project = nn.Sequential(Pointwise3d(mid, out_channels), BatchNormAct(out_channels, nn.BatchNorm3d, activation=False))
        self.shortcut_norm = nn.BatchNorm3d(out_channels)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            # Nearest-neighbour downsampling to the strided conv's output size (ceil(H / stride)).
            x = x[:, :, :, :: self.stride, :: self.stride]
        return self.shortcut_norm(tile_channels(x, self.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.project(self.squeeze_excite(self.temporal(self.spatial(self.expand(x)))))
        return drop_path(branch, self.drop_path_rate, self.training) + self.shortcut(x)


def sine_position_table(channels: int, length: int, height: int, width: int) -> torch.Tensor:
    """(1, channels, length, height, width): sine/cosine codes of the frame index, row and column,
    each axis taking a third of the channels (the winner's absolute 3D position encoding)."""
    per_axis = 2 * math.ceil(channels / 6)
    inverse_frequency = 1.0 / (10000 ** (torch.arange(0, per_axis, 2, dtype=torch.float32) / per_axis))

    def codes(n: int) -> torch.Tensor:  # (per_axis, n)
        angles = inverse_frequency[:, None] * torch.arange(n, dtype=torch.float32)[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=0)

    table = torch.zeros(3 * per_axis, length, height, width)
    table[:per_axis] = codes(length)[:, :, None, None]
    table[per_axis : 2 * per_axis] = codes(height)[:, None, :, None]
    table[2 * per_axis :] = codes(width)[:, None, None, :]
    return table[None, :channels]


def grid_position_table(channels: int, length: int, height: int, width: int) -> torch.Tensor:
    """(1, channels, length, height, width): sine/cosine codes of the row and the column only, half
    the channels each, at frequencies fitted to the frame: the k-th pair has k half-periods across
    the axis, so even a few channels tell apart the left, middle and right of a small frame."""
    per_axis = 2 * math.ceil(channels / 4)

    def codes(n: int) -> torch.Tensor:  # (per_axis, n)
        harmonics = torch.arange(1, per_axis // 2 + 1, dtype=torch.float32)
        angles = harmonics[:, None] * math.pi * (torch.arange(n, dtype=torch.float32)[None, :] + 0.5) / n
        return torch.cat([angles.sin(), angles.cos()], dim=0)

    table = torch.zeros(2 * per_axis, length, height, width)
    table[:per_axis] = codes(height)[:, None, :, None]
    table[per_axis:] = codes(width)[:, None, None, :]
    return table[None, :channels]


POSITION_TABLES = {"winner": sine_position_table, "grid": grid_position_table}


class PositionEncoding3d(nn.Module):
    """Adds a position table (``winner`` or ``grid``); kept out of the state dict (it depends only
    on the shape), cached per input shape."""

    def __init__(self, channels: int, kind: str = "winner"):
        super().__init__()
        self.channels = channels
        self.table_of = POSITION_TABLES[kind]
        self._cache: dict[tuple, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape[2:]), x.device, x.dtype)
        table = self._cache.get(key)
        if table is None:
            table = self.table_of(self.channels, *x.shape[2:]).to(x.device, x.dtype)
            self._cache = {key: table}
        return x + table


class ShuffleLayer(nn.Module):
    """One cortex layer: a grouped 1x1 convolution over time, BN + SiLU, channel shuffle between
    the groups (so the next grouped layer mixes them), DropPath, a tiled-channel shortcut."""

    def __init__(self, in_channels: int, out_channels: int, groups: int, drop_path_rate: float):
        super().__init__()
        self.groups = groups
        self.out_channels = out_channels
        self.drop_path_rate = drop_path_rate
        self.conv = nn.Conv1d(in_channels, out_channels, 1, groups=groups, bias=False)
        self.norm = BatchNormAct(out_channels, nn.BatchNorm1d)
        self.shortcut_norm = nn.BatchNorm1d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(x))
        if self.groups > 1:
            batch, channels, length = y.shape
            y = y.view(batch, self.groups, channels // self.groups, length).transpose(1, 2).reshape(batch, channels, length)
        return drop_path(y, self.drop_path_rate, self.training) + self.shortcut_norm(tile_channels(x, self.out_channels))


class Readout(nn.Module):
    """One mouse: dropout of whole cortex channels, a grouped 1x1 convolution to its neurons
    (rounded up to a multiple of the groups, then cut), softplus."""

    def __init__(self, in_channels: int, n_neurons: int, groups: int, beta: float, dropout: float):
        super().__init__()
        self.n_neurons = n_neurons
        self.dropout = nn.Dropout1d(dropout)
        self.conv = nn.Conv1d(in_channels, math.ceil(n_neurons / groups) * groups, 1, groups=groups)
        self.softplus = nn.Softplus(beta=beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.softplus(self.conv(self.dropout(x))[:, : self.n_neurons])


class DwiseNeuro(nn.Module):
    """forward(video (b, t, H, W), behavior (b, t, B), mouse) -> responses (b, t, N_mouse) >= 0."""

    def __init__(self, shape: EncodingShape, config: Mapping[str, Any]):
        super().__init__()
        check_config(config)
        self.shape = shape
        self.use_behavior = bool(config["behavior"])
        features = [int(f) for f in config["features"]]
        strides = [int(s) for s in config["strides"]]
        in_channels = 1 + (shape.n_behavior if self.use_behavior else 0)
        self.stem = nn.Sequential(Pointwise3d(in_channels, features[0]), BatchNormAct(features[0], nn.BatchNorm3d, activation=False))
        blocks: list[nn.Module] = []
        drop_path_rate = float(config["drop_path"])
        for index, (channels, stride) in enumerate(zip(features, strides)):
            out_channels = features[index + 1] if index + 1 < len(features) else channels
            blocks += [
                PositionEncoding3d(channels, str(config.get("position", "winner"))),
                InvertedResidual3d(
                    channels,
                    out_channels,
                    stride=stride,
                    spatial_kernel=int(config["spatial_kernel"]),
                    temporal_kernel=int(config["temporal_kernel"]),
                    causal=bool(config["causal"]),
                    expansion=int(config["expansion"]),
                    se_reduce_ratio=int(config["se_reduce_ratio"]),
                    # Deeper blocks are dropped more often, as in the winner (0 for the first).
                    drop_path_rate=drop_path_rate * index / len(features),
                ),
            ]
        self.core = nn.Sequential(*blocks)
        groups = int(config["groups"])
        cortex: list[nn.Module] = []
        previous = features[-1]
        for channels in config["cortex"]:
            cortex.append(ShuffleLayer(previous, int(channels), groups, drop_path_rate))
            previous = int(channels)
        self.cortex = nn.Sequential(*cortex)
        self.readouts = nn.ModuleList(
            Readout(previous, n, groups, float(config["softplus_beta"]), float(config["readout_dropout"])) for n in shape.n_neurons
        )
        initialise(self)

    def forward(self, video: torch.Tensor, behavior: torch.Tensor, mouse: int) -> torch.Tensor:
        if not 0 <= mouse < len(self.readouts):
            raise IndexError(f"dwiseneuro: mouse {mouse} out of range; the model was built for {len(self.readouts)} mice")
        x = video[:, None]  # (b, 1, t, H, W)
        if self.use_behavior:
            b, t, n_behavior = behavior.shape
            planes = behavior.transpose(1, 2)[:, :, :, None, None].expand(b, n_behavior, t, *video.shape[2:])
            x = torch.cat([x, planes], dim=1)
        x = self.core(self.stem(x))
        x = self.cortex(x.mean((3, 4)))  # (b, C, t)
        return self.readouts[mouse](x).transpose(1, 2)


def initialise(module: nn.Module) -> None:
    """The winner's start: convolutions normal with std sqrt(2 / fan-out), zero biases, unit norms.

    Except the readouts: by fan-out, ~8000 neurons a mouse gave the winner's readouts a std of
    ~0.02 and every neuron a start near log(2) / beta; tens of neurons would give 15x that and
    responses scattered over orders of magnitude. By fan-in (std 1 / sqrt(inputs per group)) the
    pre-activations start with a std near 1 whatever the neuron count.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            fan_out = math.prod(m.kernel_size) * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, Readout):
            nn.init.normal_(m.conv.weight, 0.0, 1.0 / math.sqrt(m.conv.in_channels // m.conv.groups))


def _positive_ints(config: Mapping[str, Any], key: str) -> list[int]:
    value = config[key]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise BenchError(f"dwiseneuro: option '{key}' must be a non-empty list of positive integers, got {value!r}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise BenchError(f"dwiseneuro: option '{key}' must be a non-empty list of positive integers, got {value!r}")
    return list(value)


def _number(config: Mapping[str, Any], key: str, low: float, high: float, *, integer: bool = False, low_open: bool = False, high_open: bool = False) -> None:
    value = config[key]
    kinds = (int,) if integer else (int, float)
    bad = isinstance(value, bool) or not isinstance(value, kinds)
    if not bad:
        bad = value < low or value > high or (low_open and value == low) or (high_open and value == high)
    if bad:
        kind = "an integer" if integer else "a number"
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise BenchError(f"dwiseneuro: option '{key}' must be {kind} in {interval}, got {value!r}")


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse a bad configuration with a one-line BenchError naming the option."""
    features = _positive_ints(config, "features")
    strides = _positive_ints(config, "strides")
    if len(strides) != len(features):
        raise BenchError(f"dwiseneuro: option 'strides' needs one stride per block of 'features' ({len(features)}), got {len(strides)}")
    cortex = _positive_ints(config, "cortex")
    for key in ("spatial_kernel", "temporal_kernel"):
        _number(config, key, 1, 99, integer=True)
        if config[key] % 2 == 0:
            raise BenchError(f"dwiseneuro: option '{key}' must be odd (the convolution keeps the size), got {config[key]}")
    _number(config, "expansion", 1, 16, integer=True)
    _number(config, "se_reduce_ratio", 1, 1024, integer=True)
    _number(config, "groups", 1, 64, integer=True)
    groups = config["groups"]
    for channels in [features[-1], *cortex]:
        if channels % groups:
            raise BenchError(f"dwiseneuro: option 'groups' ({groups}) must divide the last of 'features' and every width of 'cortex', found {channels}")
    _number(config, "softplus_beta", 0, 100, low_open=True)
    _number(config, "readout_dropout", 0, 1, high_open=True)
    _number(config, "drop_path", 0, 1, high_open=True)
    _number(config, "window", 1, 10_000, integer=True)
    if config.get("position", "winner") not in POSITION_TABLES:
        raise BenchError(f"dwiseneuro: option 'position' must be one of {', '.join(POSITION_TABLES)}, got {config['position']!r}")
    for key in ("behavior", "causal"):
        if not isinstance(config[key], bool):
            raise BenchError(f"dwiseneuro: option '{key}' must be true or false, got {config[key]!r}")


def build(shape: EncodingShape, config: Mapping[str, Any]) -> DwiseNeuro:
    """The registered factory: a DwiseNeuro sized by ``shape`` and ``config`` (defaults merged)."""
    return DwiseNeuro(shape, config)
