"""What a record keeps of each epoch: the plan names its selection metric; nothing is guessed."""

from __future__ import annotations

from harness.run.execute import history_keys


def test_the_selection_metric_comes_from_the_plan_not_from_its_best_twin():
    # a plan whose validate also reports a figure with a running best of its own, logged first
    point = {"epoch": 0.0, "train_loss": 1.0, "val_aux": 0.1, "best_val_aux": 0.2, "val_correlation": 0.3,
             "best_val_correlation": 0.3, "elapsed": 1.0, "aux_kl": 0.01, "lr": 1e-3}
    assert history_keys(point, "val_correlation") == ["epoch", "train_loss", "val_correlation", "best_val_correlation", "elapsed", "aux_kl"]


def test_nlb_rows_keep_their_names_and_val_loss_where_there_is_one():
    point = {"epoch": 1.0, "train_loss": 1.0, "val_co_bps": 0.2, "best_val_co_bps": 0.25, "val_loss": 0.5, "elapsed": 2.0, "sv_bps": 0.1}
    assert history_keys(point, "val_co_bps") == ["epoch", "train_loss", "val_co_bps", "best_val_co_bps", "val_loss", "elapsed", "sv_bps"]
