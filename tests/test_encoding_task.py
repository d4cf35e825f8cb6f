"""The encoding task's pieces in the core: windows, normalisation, sliding-window prediction,
video-grouped folds, predictions on disk, the submission layout, task-neutral averaging."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from harness.contracts import EncodingPredictions
from harness.errors import BenchError
from harness.testing import PoissonEncodingObjective, make_tiny_encoding_data, reference_encoding_model


@pytest.fixture(scope="module")
def data():
    return make_tiny_encoding_data()


class FramePosition(torch.nn.Module):
    """Predicts, for every frame of a window, its position in the window (1-based) and the
    frame's raw behaviour channel 0: which window predicted a frame is readable off the output."""

    def __init__(self, n_neurons):
        super().__init__()
        self.n_neurons = n_neurons
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, video, behavior, mouse):
        b, t = video.shape[:2]
        position = torch.arange(1, t + 1, dtype=torch.float32).expand(b, t)
        return torch.stack([position, behavior[..., 0]] + [position] * (self.n_neurons[mouse] - 2), dim=-1)


def test_sliding_windows_predict_each_frame_from_the_window_ending_at_it(data):
    from harness.tasks.encoding.train import Normalisation, predict_split

    mouse = data.mice[0]
    window = 8
    norm = Normalisation.of(mouse.train)
    predicted = predict_split(FramePosition((6, 4)), mouse.val, norm, window, 0, "cpu")
    assert predicted.shape == (mouse.val.n_trials, mouse.val.video.shape[1], 6)
    for trial, length in enumerate(mouse.val.lengths):
        # frames before the first full window come from the first window, every later frame is its window's last
        np.testing.assert_array_equal(predicted[trial, :length, 0], np.minimum(np.arange(1, length + 1), window))
        np.testing.assert_allclose(predicted[trial, :length, 1], norm.behavior(mouse.val.behavior[trial, :length])[:, 0], rtol=1e-6)
        assert not predicted[trial, length:].any()  # padding frames stay zero


def test_normalisation_uses_train_statistics_of_valid_frames(data):
    from harness.tasks.encoding.train import Normalisation

    split = data.mice[0].train
    norm = Normalisation.of(split)
    valid = np.concatenate([split.video[r, : split.lengths[r]] for r in range(split.n_trials)])
    assert norm.video_mean == pytest.approx(valid.mean(), rel=1e-5) and norm.video_std == pytest.approx(valid.std(), rel=1e-5)
    normalised = norm.video(valid)
    assert abs(normalised.mean()) < 1e-4 and normalised.std() == pytest.approx(1, rel=1e-4)


def test_training_batches_are_windows_of_one_mouse_interleaved(data):
    from harness.tasks.encoding.train import EncodingPlan

    seen = []

    class Recorder(PoissonEncodingObjective):
        def training_batch(self, batch, generator):
            seen.append((batch.mouse, tuple(batch.video.shape), tuple(batch.responses.shape)))
            return batch

    plan = EncodingPlan(data, Recorder(), window=8, batch_size=5, device="cpu")
    model = reference_encoding_model(data.shape(8))
    losses = list(plan.epoch(model, torch.Generator().manual_seed(0)))
    assert len(losses) == plan.steps_per_epoch == 3 + 3  # 12 train trials per mouse in batches of 5
    assert sorted(m for m, _, _ in seen) == [0, 0, 0, 1, 1, 1] and [m for m, _, _ in seen] != sorted(m for m, _, _ in seen)
    for mouse, video, responses in seen:
        assert video[1:] == (8, 8, 12) and responses[1:] == (8, data.mice[mouse].n_neurons)
    again = []
    plan.objective = Recorder()
    seen.clear()
    list(plan.epoch(model, torch.Generator().manual_seed(0)))
    again = [m for m, _, _ in seen]
    assert again == [m for m, _, _ in seen]
    metrics = plan.validate(model)
    assert set(metrics) == {"val_correlation"} and -1 <= metrics["val_correlation"] <= 1


def test_a_window_longer_than_a_train_trial_is_refused(data):
    from harness.tasks.encoding.task import EncodingTask
    from harness.tasks.encoding.train import check_window

    shape = EncodingTask().model_shape(data, {"window": 8, "predict_stride": 4}, None)
    assert (shape.window, shape.predict_stride, shape.n_neurons) == (8, 4, (6, 4))
    with pytest.raises(BenchError, match="predict_stride=9: expected 1 to the window"):
        EncodingTask().model_shape(data, {"window": 8, "predict_stride": 9}, None)

    with pytest.raises(BenchError, match="window=64: mouse mouse0 has a train trial of only"):
        check_window(data, 64)


def test_folds_keep_each_video_in_one_fold_and_cover_every_labelled_trial(data):
    from harness.tasks.encoding.folds import fold_split, labelled_trials

    folds = 3
    for index, mouse in enumerate(data.mice):
        labelled = labelled_trials(mouse)
        val_groups = []
        for fold in range(folds):
            split = fold_split(data, fold, folds).mice[index]
            assert split.train.n_trials + split.val.n_trials == labelled.n_trials
            assert not set(split.train.video_groups) & set(split.val.video_groups)  # no video straddles
            assert split.eval is mouse.eval
            val_groups.append(set(split.val.video_groups))
        assert set().union(*val_groups) == set(labelled.video_groups)
        assert sum(len(g) for g in val_groups) == len(set(labelled.video_groups))
    with pytest.raises(BenchError, match="--folds 40: expected 2 to"):
        fold_split(data, 0, 40)


def test_fold_predictions_return_to_the_dataset_layout(data):
    from harness.tasks.encoding.folds import fold_split, out_of_fold, to_dataset_layout

    def marked(view, value):  # each trial's responses: its trial id + value
        responses = {}
        for mouse in view.mice:
            responses[mouse.name] = {
                name: np.broadcast_to((mouse.split(name).trial_ids + value)[:, None, None], (mouse.split(name).n_trials, mouse.split(name).video.shape[1], mouse.n_neurons)).astype(np.float32)
                for name in ("train", "val", "eval")
            }
        return EncodingPredictions(responses)

    folds = 3
    back = [to_dataset_layout(marked(fold_split(data, fold, folds), 1000 * fold), data, fold, folds) for fold in range(folds)]
    for predictions in back:
        for mouse in data.mice:
            for name in ("train", "val"):
                array = predictions.responses[mouse.name][name]
                assert array.shape == (mouse.split(name).n_trials, mouse.split(name).video.shape[1], mouse.n_neurons)
                np.testing.assert_array_equal(array[:, 0, 0] % 1000, mouse.split(name).trial_ids)
    pooled = out_of_fold(back, data, back[0])
    for index, mouse in enumerate(data.mice):
        for fold in range(folds):
            validated = fold_split(data, fold, folds).mice[index].val.trial_ids
            for name in ("train", "val"):
                ids = mouse.split(name).trial_ids
                chosen = pooled.responses[mouse.name][name][np.isin(ids, validated), 0, 0]
                np.testing.assert_array_equal(chosen // 1000, fold)


def test_predictions_round_trip_and_bad_files(data, tmp_path):
    from harness.tasks.encoding.io import load_predictions, save_predictions

    rng = np.random.default_rng(0)
    predictions = EncodingPredictions(
        {m.name: {s: rng.random((m.split(s).n_trials, m.split(s).video.shape[1], m.n_neurons)).astype(np.float32) for s in ("train", "val", "eval")} for m in data.mice}
    )
    path = save_predictions(predictions, tmp_path / "predictions.npz")
    loaded = load_predictions(path)
    assert list(loaded.responses) == [m.name for m in data.mice]
    for mouse in loaded.responses:
        for split in ("train", "val", "eval"):
            np.testing.assert_array_equal(loaded.responses[mouse][split], predictions.responses[mouse][split])
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(BenchError, match="other.npz: not a bench-harness encoding predictions file"):
        load_predictions(tmp_path / "other.npz")
    with pytest.raises(BenchError, match="no such predictions file"):
        load_predictions(tmp_path / "absent.npz")


def test_submission_layout_per_mouse(data, tmp_path):
    from harness.tasks.encoding.io import write_submission

    predictions = EncodingPredictions(
        {m.name: {s: np.ones((m.split(s).n_trials, m.split(s).video.shape[1], m.n_neurons), dtype=np.float32) * np.arange(m.split(s).video.shape[1])[None, :, None] for s in ("train", "val", "eval")} for m in data.mice}
    )
    shapes = write_submission(data, predictions, tmp_path / "submission")
    for mouse in data.mice:
        with np.load(tmp_path / "submission" / f"{mouse.name}.npz") as file:
            np.testing.assert_array_equal(file["trial_indices"], mouse.eval.trial_ids)
            np.testing.assert_array_equal(file["neuron_ids"], mouse.neuron_ids)
            scored = mouse.eval.lengths - data.skip_frames
            np.testing.assert_array_equal(file["lengths"], scored)
            assert file["prediction"].shape == (mouse.eval.n_trials, mouse.n_neurons, scored.max())
            first = file["prediction"][0]
            np.testing.assert_array_equal(first[0, : scored[0]], np.arange(data.skip_frames, mouse.eval.lengths[0]))  # frames from skip on
            assert np.isnan(first[:, scored[0] :]).all()
        assert shapes[f"{mouse.name}/prediction"] == (mouse.eval.n_trials, mouse.n_neurons, int(scored.max()))
    bad = dataclasses.replace(predictions, responses={**predictions.responses, "mouse0": {**predictions.responses["mouse0"], "eval": -predictions.responses["mouse0"]["eval"] - 1}})
    with pytest.raises(BenchError, match="mouse mouse0 trial .* non-finite or negative"):
        write_submission(data, bad, tmp_path / "bad")


def test_averaging_serves_both_tasks():
    from harness.run.averaging import average_predictions
    from harness.contracts import Predictions, SplitRates

    one = EncodingPredictions({"m": {"train": np.ones((2, 3, 4)), "val": np.zeros((1, 3, 4)), "eval": np.ones((1, 3, 4))}})
    two = EncodingPredictions({"m": {"train": 3 * np.ones((2, 3, 4)), "val": np.ones((1, 3, 4)), "eval": np.ones((1, 3, 4))}})
    mean = average_predictions([one, two])
    assert isinstance(mean, EncodingPredictions)
    np.testing.assert_array_equal(mean.responses["m"]["train"], 2)
    np.testing.assert_array_equal(average_predictions([one, two], weights=[3, 1]).responses["m"]["val"], 0.25)
    rates = Predictions(*(SplitRates(np.ones((2, 3, 4)), np.ones((2, 3, 1))) for _ in range(3)))
    assert isinstance(average_predictions([rates, rates]), Predictions)
    with pytest.raises(BenchError, match="predict different things"):
        average_predictions([one, EncodingPredictions({"n": one.responses["m"]})])


def test_an_encoding_run_end_to_end_through_bench_run(bench_home, capsys):
    """kit-encoder on the tiny encoding data: its default objective, windows, val correlation
    selecting the checkpoint, scoring with the oracle, npz predictions, a record that says its task."""
    import json

    from harness.cli import main
    from harness.tasks.encoding.io import load_predictions
    from harness.testing import TINY_ENCODING_DATASET, TinyEncodingPlugin, kit_host

    code = main(
        ["run", "--dataset", TINY_ENCODING_DATASET, "--model", "kit-encoder", "--epochs", "3", "--batch-size", "4", "--set", "train.ema_decay=0.9", "--no-progress"],
        host=kit_host(TinyEncodingPlugin()),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    (record,) = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    assert record["objective"] == "kit-poisson"  # the model's default objective
    assert record["task"] == {"name": "video_encoding", "primary_metric": "single-trial correlation", "validation_metric": "val_correlation"}
    assert "bin_size_ms" not in record["dataset"]  # frames are not bins: the task records none
    metrics = record["metrics"]
    for name in ("single-trial correlation", "oracle single-trial correlation", "% of oracle", "poisson loss", "correlation to average", "val_correlation"):
        assert metrics[name]["value"] is not None, name
    assert metrics["single-trial correlation"]["split"] == "eval" and metrics["val_correlation"]["split"] == "val"
    assert metrics["poisson loss"]["higher_is_better"] is False
    assert [set(point) >= {"val_correlation", "best_val_correlation", "train_loss"} for point in record["history"]] == [True] * 3
    assert "val_loss" not in record["history"][0]
    assert record["history"][-1]["best_val_correlation"] == max(point["val_correlation"] for point in record["history"])
    assert f"single-trial correlation: {metrics['single-trial correlation']['value']:.4f}" in out
    assert f"oracle single-trial correlation: {metrics['oracle single-trial correlation']['value']:.4f}" in out
    predictions = load_predictions(record["paths"]["predictions"])
    assert record["paths"]["predictions"].endswith("predictions.npz") and set(predictions.responses) == {"mouse0", "mouse1"}
    assert main(["data", "info", TINY_ENCODING_DATASET], host=kit_host(TinyEncodingPlugin())) == 0
    assert "2 mice, 24 train / 8 val / 8 eval trials, 10 neurons" in capsys.readouterr().out

    # commands the task has nothing for refuse in one line; the others work as for NLB
    for command, message in (
        (["report", record["run_id"]], "bench report: task video_encoding draws no report figure"),
        (["score", "sub.npz", "target.npz", "--task", "video_encoding"], "bench score: task video_encoding scores no submission files"),
    ):
        assert main(command, host=kit_host(TinyEncodingPlugin())) != 0
        err = capsys.readouterr().err
        assert message in err and len([line for line in err.splitlines() if line.strip()]) == 1, err
    assert main(["rescore", record["run_id"]], host=kit_host(TinyEncodingPlugin())) == 0
    assert "nothing to add" in capsys.readouterr().out


def test_encoding_folds_ensemble_and_leaderboard_by_the_nlb_commands(bench_home, tmp_path, capsys):
    """`bench run --folds`, `bench ensemble` of the fold runs, `bench submit` and `bench
    leaderboard` on the encoding task: the board ranks by single-trial correlation."""
    import json

    from harness.cli import main
    from harness.testing import TINY_ENCODING_DATASET, TinyEncodingPlugin, kit_host

    host = kit_host(TinyEncodingPlugin())
    base = ["--dataset", TINY_ENCODING_DATASET, "--model", "kit-encoder", "--epochs", "2", "--batch-size", "4", "--no-progress"]
    assert main(["run", *base, "--folds", "2"], host=host) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "fold 0: val correlation" in out and "per fold single-trial correlation:" in out
    records = {p.stem: json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")}
    pooled = next(r for r in records.values() if r.get("folds"))
    assert pooled["metrics"]["val_correlation"]["split"] == "2-fold val"
    labelled = sum(12 + 4 for _ in range(2))
    assert pooled["metrics"]["val_correlation"]["n_trials"] == labelled
    assert pooled["metrics"]["single-trial correlation"]["split"] == "eval"  # the fold ensemble on eval
    fold_ids = pooled["folds"]["members"]

    assert main(["ensemble", *fold_ids], host=host) == 0, capsys.readouterr()
    capsys.readouterr()
    ensemble = next(json.loads(p.read_text()) for p in (bench_home / "results").glob("*ensemble*.json"))
    assert ensemble["task"]["name"] == "video_encoding" and ensemble["spec"]["cross_fit"] is None
    assert ensemble["metrics"]["single-trial correlation"]["value"] == pytest.approx(pooled["metrics"]["single-trial correlation"]["value"], abs=1e-6)

    assert main(["submit", ensemble["run_id"], "--output", str(tmp_path / "submission")], host=host) == 0
    assert sorted(p.name for p in (tmp_path / "submission").iterdir()) == ["mouse0.npz", "mouse1.npz"]
    capsys.readouterr()

    assert main(["leaderboard", "--store", str(bench_home / "results"), "--output", str(tmp_path / "boards")], host=host) == 0
    board = (tmp_path / "boards" / f"{TINY_ENCODING_DATASET}.md").read_text()
    header = next(line for line in board.splitlines() if line.startswith("| Rank"))
    assert header.split(" | ")[4] == "single-trial correlation (eval, 8 trials) ↑"  # after rank, model, objective, ensembler
    assert "rank by single-trial correlation (↑)" in board and "poisson loss (eval, 8 trials) ↓" in header
    assert "Best by single-trial correlation" in (tmp_path / "boards" / "index.md").read_text()
    assert "single-trial correlation ↑" in (tmp_path / "boards" / "site" / f"{TINY_ENCODING_DATASET}.html").read_text()


def test_a_strided_slide_covers_every_frame_once(data):
    from harness.tasks.encoding.train import Normalisation, predict_split, window_starts

    assert window_starts(20, 8, 4).tolist() == [0, 4, 8, 12]
    assert window_starts(21, 8, 4).tolist() == [0, 4, 8, 12, 13]
    mouse = data.mice[1]
    predicted = predict_split(FramePosition((6, 4)), mouse.val, Normalisation.of(mouse.train), 8, 1, "cpu", stride=4)
    for trial, length in enumerate(mouse.val.lengths):
        positions = predicted[trial, :length, 0]
        assert (positions[:8] == np.arange(1, 9)).all()  # the first window, then each later window's new frames
        assert (positions[8:] > 8 - 4).all() and positions[length - 1] == 8
