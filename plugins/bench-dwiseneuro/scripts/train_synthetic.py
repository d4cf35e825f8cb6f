"""Train dwiseneuro on an encoding dataset with a small loop of its own, to size the defaults.

    /work/tools/heavy .venv/bin/python plugins/bench-dwiseneuro/scripts/train_synthetic.py \
        --dataset sensorium_synthetic --minutes 5 [--set features=[16,16,32,32]] [--lr 3e-3] \
        [--objective cutmix] [--batch 16] [--ema 0.99] [--eval-seconds 60]

Not the harness' trainer (``bench run`` is the real path once the core trains encoding runs):
the same recipe in a few lines. Random windows of one mouse per batch, AdamW with linear warmup
and cosine decay over the time budget, gradient clipping, an EMA of the weights; frames and
behaviour z-scored with the train split's statistics. Every ``--eval-seconds`` the EMA model
predicts every trial of ``--splits`` (windows of the model's length every ``--eval-stride`` frames, overlaps averaged)
and the single-trial correlation is printed beside the oracle's (the noise-free responses where
the dataset keeps them). Prints one JSON line per evaluation.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from harness.api import EncodingBatch, EncodingData, EncodingSplit, merged_config, single_trial_correlation
from harness.testing import kit_host


def pooled_correlation(predicted: list[np.ndarray], observed: list[np.ndarray], splits: list[EncodingSplit], skip: int) -> float:
    """The competition's single-trial correlation, per neuron pooled over mice, then the mean."""
    per_neuron = [single_trial_correlation(o, p, s.lengths, skip, per_neuron=True) for p, o, s in zip(predicted, observed, splits)]
    return float(np.concatenate(per_neuron).mean())


class Normaliser:
    """z-scores of frames (one mean/std) and of each behaviour channel, from the train frames."""

    def __init__(self, data: EncodingData):
        frames, behaviour = [], []
        for mouse in data.mice:
            split = mouse.train
            valid = np.arange(split.video.shape[1])[None, :] < split.lengths[:, None]
            frames.append(split.video[valid].ravel())
            behaviour.append(split.behavior[valid])
        frames, behaviour = np.concatenate(frames), np.concatenate(behaviour)
        self.video_mean, self.video_std = float(frames.mean()), float(frames.std()) + 1e-6
        self.behavior_mean, self.behavior_std = behaviour.mean(0), behaviour.std(0) + 1e-6

    def video(self, video: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((video - self.video_mean) / self.video_std).float()

    def behavior(self, behavior: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((behavior - self.behavior_mean) / self.behavior_std).float()


def random_batch(data: EncodingData, norm: Normaliser, window: int, size: int, rng: np.random.Generator) -> EncodingBatch:
    mouse = int(rng.integers(len(data.mice)))
    split = data.mice[mouse].train
    trials = rng.integers(split.n_trials, size=size)
    starts = [int(rng.integers(0, max(1, split.lengths[r] - window + 1))) for r in trials]
    take = lambda array: np.stack([array[r, s : s + window] for r, s in zip(trials, starts)])  # noqa: E731
    return EncodingBatch(norm.video(take(split.video)), norm.behavior(take(split.behavior)), torch.from_numpy(take(split.responses)), mouse)


@torch.no_grad()
def predict_split(model, split: EncodingSplit, mouse: int, norm: Normaliser, window: int, n_neurons: int, stride: int) -> np.ndarray:
    """(R, T, N): windows every ``stride`` frames (and one ending at the last frame); each
    predicts the frames since the previous window ended (the first, all of its own), as the
    harness' encoding task does."""
    n_frames = split.video.shape[1]
    starts = sorted(set(range(0, max(1, n_frames - window + 1), stride)) | {max(0, n_frames - window)})
    out = np.zeros((split.n_trials, n_frames, n_neurons), np.float32)
    video, behavior = norm.video(split.video), norm.behavior(split.behavior)
    covered = 0
    for start in starts:
        piece = slice(start, start + window)
        out[:, covered : start + window] = model(video[:, piece], behavior[:, piece], mouse).numpy()[:, covered - start :]
        covered = start + window
    return out


def evaluate(model, data: EncodingData, norm: Normaliser, window: int, stride: int, splits: list[str]) -> dict[str, float]:
    model.eval()
    out = {}
    for name in splits:
        predicted, observed, expected, splits = [], [], [], []
        for index, mouse in enumerate(data.mice):
            split = mouse.split(name)
            if split.responses is None or split.n_trials == 0:
                continue
            predicted.append(predict_split(model, split, index, norm, window, mouse.n_neurons, stride))
            observed.append(split.responses)
            expected.append(split.expected)
            splits.append(split)
        if predicted:
            out[f"{name}_corr"] = pooled_correlation(predicted, observed, splits, data.skip_frames)
        if predicted and all(e is not None for e in expected):
            out[f"{name}_oracle_corr"] = pooled_correlation(expected, observed, splits, data.skip_frames)
            out[f"{name}_pct_oracle"] = 100 * out[f"{name}_corr"] / out[f"{name}_oracle_corr"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="sensorium_synthetic")
    parser.add_argument("--dataset-set", action="append", default=[], help="KEY=JSON dataset option")
    parser.add_argument("--set", action="append", default=[], help="KEY=JSON model option")
    parser.add_argument("--objective", default="cutmix")
    parser.add_argument("--objective-set", action="append", default=[], help="KEY=JSON objective option")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--ema", type=float)
    parser.add_argument("--warmup", type=float, default=0.05, help="share of the budget spent warming up")
    parser.add_argument("--eval-seconds", type=float, default=60.0)
    parser.add_argument("--eval-stride", type=int, default=0, help="frames between prediction windows (0: half the window)")
    parser.add_argument("--splits", default="eval", help="comma-separated splits scored at each evaluation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    options = lambda items: {k: json.loads(v) for k, _, v in (item.partition("=") for item in items)}  # noqa: E731

    host = kit_host()
    dataset_entry = host.registries.datasets.get(args.dataset)
    data: EncodingData = dataset_entry.load()(merged_config(dataset_entry, options(args.dataset_set)))
    model_entry = host.registries.models.get("dwiseneuro")
    config = merged_config(model_entry, options(args.set))
    train = dict(model_entry.train_defaults)
    lr, weight_decay = args.lr or train["lr"], args.weight_decay if args.weight_decay is not None else train["weight_decay"]
    batch_size, ema = args.batch or train["batch_size"], args.ema if args.ema is not None else train["ema_decay"]
    objective_entry = host.registries.objectives.get(args.objective)
    objective = objective_entry.load()(data, merged_config(objective_entry, options(args.objective_set)))

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    window = int(config["window"])
    model = model_entry.load()(data.shape(window), config)
    averaged = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(ema), use_buffers=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    norm = Normaliser(data)
    n_train = sum(int(mouse.train.lengths.sum()) for mouse in data.mice)
    print(json.dumps({"dataset": data.name, "mice": [m.n_neurons for m in data.mice], "frames": data.frame_shape, "train_frames": n_train,
                      "parameters": sum(p.numel() for p in model.parameters()), "model": config, "lr": lr, "weight_decay": weight_decay,
                      "batch": batch_size, "ema": ema, "objective": args.objective, "threads": torch.get_num_threads()}), flush=True)

    budget = args.minutes * 60.0
    started, next_eval, step, losses = time.perf_counter(), args.eval_seconds, 0, []
    while True:
        elapsed = time.perf_counter() - started
        progress = min(1.0, elapsed / budget)
        factor = progress / args.warmup if progress < args.warmup else 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (progress - args.warmup) / (1 - args.warmup)))
        for group in optimizer.param_groups:
            group["lr"] = lr * factor
        if elapsed >= next_eval or elapsed >= budget:
            evaluated_at = time.perf_counter()
            figures = evaluate(averaged.module, data, norm, window, args.eval_stride or max(1, window // 2), args.splits.split(","))
            print(json.dumps({"seconds": round(elapsed), "cpu_seconds": round(time.process_time()), "steps": step, "samples": step * batch_size, "train_loss": round(float(np.mean(losses)), 4) if losses else None,
                              **{k: round(v, 4) for k, v in figures.items()}}), flush=True)
            losses = []
            next_eval += args.eval_seconds
            started += time.perf_counter() - evaluated_at  # the budget counts training time only
            if elapsed >= budget:
                break
        model.train()
        batch = objective.training_batch(random_batch(data, norm, window, batch_size, rng), generator)
        loss = objective.loss(model(batch.video, batch.behavior, batch.mouse), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        averaged.update_parameters(model)
        losses.append(loss.item())
        step += 1


if __name__ == "__main__":
    main()
