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
