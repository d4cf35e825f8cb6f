"""harness.tasks.nlb.submission: predictions files, the NLB submission layout, and scoring a submission."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest
from nlb_tools import evaluation

from harness.errors import BenchError
from harness.tasks.nlb.submission import load_predictions, save_predictions, score_submission, write_submission




import fixtures.synthetic_nlb as fx


def test_predictions_round_trip(tmp_path):
    data = fx.make_dataset(seed=1)
    predictions = fx.make_predictions(data, mask_bps={"region": 0.125})
    path = save_predictions(predictions, tmp_path / "run" / "predictions.h5")
    loaded = load_predictions(path)
    assert loaded.mask_bps == {"region": 0.125}
    for split in ("train", "val", "eval"):
        for name, array in predictions.split(split).arrays().items():
            np.testing.assert_array_equal(getattr(loaded.split(split), name), array)
    assert [p.name for p in path.parent.iterdir()] == ["predictions.h5"]  # no temporary left behind


def test_load_predictions_refuses_other_files(tmp_path):
    with pytest.raises(BenchError, match="no such predictions file"):
        load_predictions(tmp_path / "missing.h5")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as file:
        file.create_dataset("x", data=np.zeros(3))
    with pytest.raises(BenchError, match="not a bench-harness predictions file"):
        load_predictions(foreign)


def test_submission_layout_merges_train_and_val_in_trial_order(tmp_path):
    data = fx.make_dataset(seed=2)
    predictions = fx.make_predictions(data)
    shapes = write_submission(data, predictions, tmp_path / "submission.h5")
    n_train_total = data.train.n_trials + data.val.n_trials
    assert shapes == {
        "train_rates_heldin": (n_train_total, 20, 8),
        "eval_rates_heldin": (10, 20, 8),
        "eval_rates_heldin_forward": (10, 5, 8),
        "train_rates_heldout": (n_train_total, 20, 4),
        "eval_rates_heldout": (10, 20, 4),
        "eval_rates_heldout_forward": (10, 5, 4),
    }
    with h5py.File(tmp_path / "submission.h5") as file:
        assert list(file) == ["mc_maze_small"]
        group = file["mc_maze_small"]
        assert all(group[name].dtype == np.float32 for name in group)
        train_heldout = group["train_rates_heldout"][()]
    for position, trial in enumerate(data.val.trial_ids):
        np.testing.assert_array_equal(train_heldout[trial], predictions.val.heldout[position])
    for position, trial in enumerate(data.train.trial_ids):
        np.testing.assert_array_equal(train_heldout[trial], predictions.train.heldout[position])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: r.__setitem__((0, 0, 0), -0.5), "eval_rates_heldout: 1 negative"),
        (lambda r: r.__setitem__((1, 2, 3), np.nan), "eval_rates_heldout: 1 non-finite"),
    ],
)
def test_submission_refuses_bad_rates(tmp_path, damage, message):
    data = fx.make_dataset(seed=2)
    predictions = fx.make_predictions(data)
    damage(predictions.eval.heldout)
    with pytest.raises(BenchError, match=message):
        write_submission(data, predictions, tmp_path / "submission.h5")
    assert not (tmp_path / "submission.h5").exists()


def test_submission_refuses_wrong_shapes_and_missing_forward(tmp_path):
    data = fx.make_dataset(seed=2)
    predictions = fx.make_predictions(data)
    short = dataclasses.replace(predictions, eval=dataclasses.replace(predictions.eval, heldin=predictions.eval.heldin[:, :-1]))
    with pytest.raises(BenchError, match=r"eval_rates_heldin: shape \(10, 19, 8\), expected \(10, 20, 8\)"):
        write_submission(data, short, tmp_path / "submission.h5")
    no_forward = dataclasses.replace(predictions, eval=dataclasses.replace(predictions.eval, heldout_forward=None))
    with pytest.raises(BenchError, match="eval_rates_heldout_forward: the predictions have none"):
        write_submission(data, no_forward, tmp_path / "submission.h5")
    unnamed = dataclasses.replace(data, submission_name=None)
    with pytest.raises(BenchError, match="no NLB submission name"):
        write_submission(unnamed, predictions, tmp_path / "submission.h5")


def test_score_submission_is_exactly_nlb_evaluate(tmp_path):
    data = fx.make_dataset(seed=3)
    write_submission(data, fx.make_predictions(data), tmp_path / "submission.h5")
    fx.write_target(data, tmp_path / "target.h5")
    expected = evaluation.evaluate(str(tmp_path / "target.h5"), str(tmp_path / "submission.h5"))
    expected = {key.removeprefix("[100] "): value for key, value in expected[0]["mc_maze_scaling_split"].items()}
    scores = score_submission(tmp_path / "submission.h5", tmp_path / "target.h5")
    assert scores == {"mc_maze_small": expected}


def test_score_submission_with_heldout_spikes_only_gives_co_bps(tmp_path):
    data = fx.make_dataset(seed=3)
    predictions = fx.make_predictions(data)
    write_submission(data, predictions, tmp_path / "submission.h5")
    fx.write_target(data, tmp_path / "target.h5", full=False)
    scores = score_submission(tmp_path / "submission.h5", tmp_path / "target.h5")
    expected = evaluation.bits_per_spike(predictions.eval.heldout.astype(float), data.eval.heldout.astype(float))
    assert scores == {"mc_maze_small": {"co-bps": pytest.approx(expected, rel=1e-12)}}


def test_score_submission_for_a_dataset_nlb_does_not_know(tmp_path):
    data = fx.make_dataset(seed=4, name="lorenz")
    write_submission(data, fx.make_predictions(data), tmp_path / "submission.h5")
    fx.write_target(data, tmp_path / "target.h5")
    scores = score_submission(tmp_path / "submission.h5", tmp_path / "target.h5")
    assert set(scores["lorenz"]) == {"co-bps", "vel R2", "psth R2", "fp-bps"}


def test_score_submission_without_a_matching_group(tmp_path):
    data = fx.make_dataset(seed=4)
    write_submission(data, fx.make_predictions(data), tmp_path / "submission.h5")
    other = fx.make_dataset(seed=4, name="lorenz")
    fx.write_target(other, tmp_path / "target.h5")
    with pytest.raises(BenchError, match="no group with eval_rates_heldout"):
        score_submission(tmp_path / "submission.h5", tmp_path / "target.h5")


def test_submit_and_score_commands(tmp_path, capsys):
    """bench submit rebuilds the dataset through the host from the record; bench score prints numbers."""
    import harness.cli.commands.results as commands
    from harness.store import records as results
    from harness.cli import main
    from harness.plugin.manager import DEFAULT_PLUGINS
    from harness.testing import kit_host, make_tiny_dataset

    from fixtures.run_records import make_record

    host = kit_host(*(() if commands.__name__ in DEFAULT_PLUGINS else (commands,)))
    data = make_tiny_dataset(seed=0)
    predictions = fx.make_predictions(data)
    save_predictions(predictions, tmp_path / "run" / "predictions.h5")
    record = make_record("tiny-run")
    record["dataset"] = {"name": data.name, "checksum": data.checksum, "bin_size_ms": data.bin_size_ms, "source": data.source, "config": {"seed": 0}}
    record["paths"] = {"run_dir": str(tmp_path / "run"), "checkpoint": None, "predictions": "predictions.h5", "submission": None}
    results.write_record(record, store=tmp_path / "store")

    submission = tmp_path / "out.h5"
    assert main(["submit", "latest", "--store", str(tmp_path / "store"), "--output", str(submission)], host=host) == 0
    printed = capsys.readouterr().out
    assert "eval_rates_heldout (8, 20, 4)" in printed and "train_rates_heldin (40, 20, 12)" in printed
    with h5py.File(submission) as file:
        np.testing.assert_array_equal(file[data.submission_name]["eval_rates_heldout"][()], predictions.eval.heldout)

    fx.write_target(data, tmp_path / "target.h5")
    assert main(["score", str(submission), str(tmp_path / "target.h5")], host=host) == 0
    expected = score_submission(submission, tmp_path / "target.h5")[data.submission_name]["co-bps"]
    assert f"{expected:.4f}" in capsys.readouterr().out

    # a run whose data no longer loads the same way is refused, with the reason
    record["dataset"]["checksum"] = "0" * 64
    record["run_id"] = "tiny-stale"
    record["created"] = "2030-01-01T00:00:00+00:00"
    results.write_record(record, store=tmp_path / "store")
    assert main(["submit", "tiny-stale", "--store", str(tmp_path / "store"), "--output", str(submission)], host=host) == 1
    assert "checksum" in capsys.readouterr().err
