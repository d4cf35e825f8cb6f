"""Throughput and peak memory of the dwiseneuro model alone, on random tensors.

    python plugins/bench-dwiseneuro/scripts/throughput.py --frames 24x40 --window 16 --batch 16 \
        --neurons 40,40,40 [--set features=[16,16,32,32]] [--threads 1]

Prints parameters, training samples/s (forward + backward + AdamW step, windows per second, by
the wall clock and per CPU second of the process: on a shared machine the first depends on the
neighbours), inference samples/s and the process' peak resident memory above what it held before
the first step (run it alone: one process per configuration).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch

from bench_dwiseneuro.model import build
from bench_dwiseneuro.plugin import DEFAULTS
from harness.api import EncodingShape


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", default="24x40", help="HxW")
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--neurons", default="40,40,40", help="neurons per mouse")
    parser.add_argument("--behavior", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's choice)")
    parser.add_argument("--set", action="append", default=[], help="KEY=JSON model option")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    height, width = (int(n) for n in args.frames.split("x"))
    neurons = tuple(int(n) for n in args.neurons.split(","))
    config = dict(DEFAULTS)
    for item in args.set:
        key, _, value = item.partition("=")
        config[key] = json.loads(value)
    shape = EncodingShape(n_neurons=neurons, frame_shape=(height, width), n_behavior=args.behavior, window=args.window)
    torch.manual_seed(0)
    model = build(shape, config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    video = torch.randn(args.batch, args.window, height, width)
    behavior = torch.randn(args.batch, args.window, args.behavior)
    targets = torch.rand(args.batch, args.window, neurons[0])
    before = peak_rss_mib()

    def train_step() -> None:
        predicted = model(video, behavior, 0)
        loss = (predicted - targets * torch.log(predicted + 1e-8)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    for _ in range(3):  # warm up allocator and kernels
        train_step()
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        train_step()
    train_rate = args.steps * args.batch / (time.perf_counter() - started)
    # Per CPU second too: on a shared machine the wall-clock rate depends on the neighbours.
    train_cpu_rate = args.steps * args.batch / (time.process_time() - cpu_started)
    model.eval()
    with torch.no_grad():
        model(video, behavior, 0)
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(args.steps):
            model(video, behavior, 0)
        infer_rate = args.steps * args.batch / (time.perf_counter() - started)
        infer_cpu_rate = args.steps * args.batch / (time.process_time() - cpu_started)
    result = {
        "frames": args.frames,
        "window": args.window,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_samples_per_s": round(train_rate, 1),
        "train_samples_per_cpu_s": round(train_cpu_rate, 1),
        "inference_samples_per_s": round(infer_rate, 1),
        "inference_samples_per_cpu_s": round(infer_cpu_rate, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "peak_rss_above_start_mib": round(peak_rss_mib() - before, 1),
        "config": {k: config[k] for k in ("features", "strides", "expansion", "cortex")},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
