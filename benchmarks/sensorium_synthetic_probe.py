"""How learnable is ``sensorium_synthetic``? A small reference model (not DwiseNeuro) trained for a
few minutes, printing its single-trial correlation on the held-out eval trials against the oracle.

    /work/tools/heavy .venv/bin/python benchmarks/sensorium_synthetic_probe.py --minutes 4

The model is the plainest fit to how the data is made, so its figure says what the data allows,
not how good any real model is: one shared causal (2+1)-D convolution (16 spatial filters of 9 x 9
pixels, each followed by its own 12-frame temporal kernel) whose outputs and their squares (for complex cells) feed a per-neuron factorised readout
(a spatial mask over 2x2-pooled features times feature weights), a softplus, and a per-neuron gain exp(w . behaviour).
Poisson loss, Adam, whole trials in batches of 16 of one mouse at a time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from harness.contracts import EncodingPredictions
from harness.tasks.encoding.metrics import score_encoding

KERNEL_FRAMES, KERNEL_PIXELS, FILTERS = 12, 9, 16


class Probe(nn.Module):
    def __init__(self, n_neurons: tuple[int, ...], frame_shape: tuple[int, int], n_behavior: int):
        super().__init__()
        pixels = (frame_shape[0] // 2) * (frame_shape[1] // 2)  # the readout sees 2x2-pooled features
        # (2+1)-D: spatial filters, then a temporal kernel per filter (ten times cheaper than 3-D)
        self.core = nn.Sequential(
            nn.Conv3d(1, FILTERS, (1, KERNEL_PIXELS, KERNEL_PIXELS), padding=(0, KERNEL_PIXELS // 2, KERNEL_PIXELS // 2)),
            nn.Conv3d(FILTERS, FILTERS, (KERNEL_FRAMES, 1, 1), groups=FILTERS),
        )
        self.spatial = nn.ParameterList([nn.Parameter(torch.randn(n, pixels) * 0.01) for n in n_neurons])
        self.features = nn.ParameterList([nn.Parameter(torch.randn(n, 2 * FILTERS) * 0.1) for n in n_neurons])
        self.bias = nn.ParameterList([nn.Parameter(torch.zeros(n)) for n in n_neurons])
        self.gain = nn.ParameterList([nn.Parameter(torch.zeros(n_behavior, n)) for n in n_neurons])

    def forward(self, video: torch.Tensor, behavior: torch.Tensor, mouse: int) -> torch.Tensor:
        padded = nn.functional.pad(video[:, None], (0, 0, 0, 0, KERNEL_FRAMES - 1, 0))  # causal in time
        features = self.core(padded)
        features = torch.cat([features, features.pow(2)], dim=1)
        features = nn.functional.avg_pool3d(features, (1, 2, 2)).flatten(3)  # (b, 2F, T, pixels / 4)
        pooled = torch.einsum("bctp,np->btnc", features, self.spatial[mouse])
        drive = (pooled * self.features[mouse]).sum(-1) + self.bias[mouse]
        return nn.functional.softplus(drive) * torch.exp(behavior @ self.gain[mouse])


def tensors(split, video_stats, behavior_stats):
    video = torch.from_numpy((split.video - video_stats[0]) / video_stats[1]).float()
    behavior = torch.from_numpy((split.behavior - behavior_stats[0]) / behavior_stats[1]).float()
    mask = torch.from_numpy(np.arange(split.video.shape[1])[None, :] < split.lengths[:, None])
    responses = None if split.responses is None else torch.from_numpy(split.responses)
    return video, behavior, responses, mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", default="{}", help="sensorium_synthetic options as JSON")
    args = parser.parse_args()
    import json

    from bench_sensorium.datasets import load_sensorium_synthetic

    torch.manual_seed(args.seed)
    started = time.monotonic()
    from bench_sensorium.defaults import READER_DEFAULTS, SYNTHETIC_DEFAULTS

    data = load_sensorium_synthetic({**SYNTHETIC_DEFAULTS, **READER_DEFAULTS, **json.loads(args.config)})
    print(f"data: {time.monotonic() - started:.1f} s, {len(data.mice)} mice, neurons {[m.n_neurons for m in data.mice]}")
    valid = [m.train.video[:, : m.train.lengths.max()] for m in data.mice]
    video_stats = (float(np.mean([v.mean() for v in valid])), float(np.mean([v.std() for v in valid])))
    train_behavior = np.concatenate([m.train.behavior[np.arange(m.train.video.shape[1])[None, :] < m.train.lengths[:, None]] for m in data.mice])
    behavior_stats = (train_behavior.mean(axis=0), train_behavior.std(axis=0) + 1e-6)
    splits = {(i, name): tensors(m.split(name), video_stats, behavior_stats) for i, m in enumerate(data.mice) for name in ("train", "val", "eval")}
    model = Probe(tuple(m.n_neurons for m in data.mice), data.frame_shape, data.n_behavior)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = np.random.default_rng(args.seed)
    deadline = time.monotonic() + 60 * args.minutes
    step, samples = 0, 0
    while time.monotonic() < deadline:
        mouse = step % len(data.mice)
        video, behavior, responses, mask = splits[(mouse, "train")]
        batch = torch.from_numpy(generator.choice(len(video), size=16, replace=False))
        predicted = model(video[batch], behavior[batch], mouse)
        loss = ((predicted - responses[batch] * torch.log(predicted + 1e-8)) * mask[batch, :, None]).sum() / mask[batch].sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step, samples = step + 1, samples + 16
        if step % 100 == 0:
            print(f"step {step}: loss {loss.item():.4f}, {time.monotonic() - started:.0f} s")
    with torch.no_grad():
        outputs = {m.name: {name: model(*splits[(i, name)][:2], i).numpy() * splits[(i, name)][3][..., None].numpy() for name in ("val", "eval")} for i, m in enumerate(data.mice)}
    predictions = EncodingPredictions(outputs)
    for name in ("val", "eval"):
        scores = score_encoding(data, predictions, name)
        print(name, {key: round(value, 3) for key, value in scores.items()})
    print(f"{step} steps, {samples} trials ({samples / (60 * args.minutes):.1f} trials/s), {args.minutes} min")


if __name__ == "__main__":
    main()
