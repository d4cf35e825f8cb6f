"""The uniform trainer's options, through `bench run` on the conformance kit's components."""

from __future__ import annotations

from harness.cli import main
from harness.testing import KitComponentsPlugin, kit_host



def test_weight_averaging_option_trains_and_records(bench_home, capsys):
    host = kit_host(KitComponentsPlugin())
    code = main(
        ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "4",
         "--set", "train.ema_decay=0.9", "--no-progress"],
        host=host,
    )
    out = capsys.readouterr().out
    assert code == 0, out
    import json

    (record,) = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    assert record["hyperparameters"]["train"]["ema_decay"] == 0.9
    assert record["epochs"] == 4 and record["metrics"]["val_co_bps"]["value"] is not None


def test_heldin_only_trials_join_training_without_their_targets():
    import numpy as np

    from harness.predict import training_pool
    from harness.testing import make_tiny_dataset

    data = make_tiny_dataset()
    pool, labelled = training_pool(data, heldin_only_trials=True)
    n_train = data.train.n_trials
    assert pool.n_trials == n_train + data.val.n_trials + data.eval.n_trials
    assert labelled[:n_train].all() and not labelled[n_train:].any()
    np.testing.assert_array_equal(pool.heldin[n_train : n_train + data.val.n_trials], data.val.heldin)
    assert not pool.heldout[n_train:].any() and not pool.heldin_forward[n_train:].any()
    same, flags = training_pool(data, heldin_only_trials=False)
    assert same is data.train and flags.all()


def test_heldin_only_trials_option_runs(bench_home, capsys):
    code = main(
        ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "3",
         "--set", "train.heldin_only_trials=true", "--no-progress"],
        host=kit_host(KitComponentsPlugin()),
    )
    assert code == 0, capsys.readouterr()
    import json

    (record,) = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    assert record["hyperparameters"]["train"]["heldin_only_trials"] is True
