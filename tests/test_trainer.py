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

    from harness.tasks.nlb.predict import training_pool
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


def test_a_step_budget_sets_the_epochs():
    from harness.specs import TrainConfig
    from harness.run.trainer import planned_epochs

    # MC_Maze_Small's pool (100 trials, 7 batches of 16) and lorenz's (240 trials, 15 batches)
    assert planned_epochs(TrainConfig(steps=7000, epochs=3), 7) == 1000
    assert planned_epochs(TrainConfig(steps=7000, epochs=3), 15) == 467
    assert planned_epochs(TrainConfig(steps=0, epochs=3), 15) == 3


def test_step_budget_in_a_run_and_epochs_on_the_command_line_replacing_it(bench_home, tmp_path, capsys):
    import json
    import math

    from harness.testing import make_tiny_dataset

    n_train = make_tiny_dataset().train.n_trials
    spec = tmp_path / "steps.yaml"
    spec.write_text("dataset: bench-tiny\nmodel: kit-linear\nobjective: kit-cosmoothing\ntrain: {steps: 11, batch_size: 8, patience: 0}\n")
    run = ["run", "--spec", str(spec), "--no-progress"]
    assert main(run, host=kit_host(KitComponentsPlugin())) == 0
    assert main([*run, "--epochs", "2", "--seed", "1"], host=kit_host(KitComponentsPlugin())) == 0
    capsys.readouterr()
    by_seed = {r["seed"]: r for r in (json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json"))}
    assert by_seed[0]["epochs"] == math.ceil(11 / math.ceil(n_train / 8))
    assert by_seed[1]["epochs"] == 2 and by_seed[1]["hyperparameters"]["train"]["steps"] == 0


def test_the_lr_floor_is_a_setting_recorded_with_the_train_config(bench_home, capsys):
    """The cosine schedule ends at lr * lr_floor (0.02 by default, as before it was a setting)."""
    import json
    from pathlib import Path

    from harness.run.checkpoints import load_checkpoint
    from harness.specs import TrainConfig

    assert TrainConfig().lr_floor == 0.02
    base = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "3",
            "--lr", "0.01", "--set", "train.warmup_epochs=0", "--no-progress"]
    for floor in (None, 0.5):
        extra = [] if floor is None else ["--set", f"train.lr_floor={floor}"]
        assert main([*base, *extra], host=kit_host(KitComponentsPlugin())) == 0, capsys.readouterr()
    records = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    by_floor = {record["hyperparameters"]["train"]["lr_floor"]: record for record in records}
    assert set(by_floor) == {0.02, 0.5}
    for floor, record in by_floor.items():
        last = load_checkpoint(Path(record["paths"]["run_dir"]) / "last.pt")["history"][-1]
        assert abs(last["lr"] - 0.01 * floor) < 1e-9, (floor, last["lr"])
    assert main([*base, "--set", "train.lr_floor=1.5"], host=kit_host(KitComponentsPlugin())) == 1
    assert "train.lr_floor" in capsys.readouterr().err


def test_run_ids_of_recorded_runs_do_not_change():
    """Train settings added later (sample_validation, lr_floor) stay out of the run id at their
    default: every run on the leaderboards is found again under the id it was recorded with."""
    import json
    from pathlib import Path

    from harness.search.space import build_plan
    from harness.search.spec import load_search_spec
    from harness.plugin.host import Host
    from harness.specs import spec_from_mapping

    from harness.run.context import run_identity

    records = Path(__file__).resolve().parents[1] / "leaderboards" / "records"
    host = Host()
    checked = 0
    for path in sorted(records.glob("*.json")):
        record = json.loads(path.read_text())
        if "members" in record["spec"] or (record.get("ensembler") and not record.get("folds")):
            continue  # ensembles are named by their members
        spec = spec_from_mapping(record["spec"], str(path))
        if record["schema_version"] == 1:  # named by the spec as given, before ids hashed what trains
            assert spec.legacy_run_id() == record["run_id"], path.name
        else:
            assert run_identity(host, spec).run_id == record["run_id"], path.name
        checked += 1
    assert checked >= 50
    specs = Path(__file__).resolve().parents[1] / "specs"
    plan = build_plan(Host(), load_search_spec(specs / "search_ndt_mtm_mc_maze_small.yaml"))
    assert "lr_floor" not in plan.describe()["base"]["train"]  # the study's digest is unchanged


def test_nlb_objectives_share_the_loss_inference_and_eval_of_the_kit():
    """random, makin, cd and autoencode differ only in their training batch; the loss, the
    inference view and NLB's eval masks are harness.api.CosmoothingObjective's, defined once."""
    from bench_cd.objective import Autoencode, CoordinatedDropout
    from bench_makin_masks.objective import MakinMasking
    from bench_masking.objective import RandomMasking

    from harness import api
    from harness.contracts import Objective

    assert "CosmoothingObjective" in api.__all__
    for objective in (RandomMasking, MakinMasking, CoordinatedDropout, Autoencode):
        assert issubclass(objective, api.CosmoothingObjective), objective
        for shared in ("loss", "inference_batch", "eval_batch", "n_prompts"):
            assert shared not in vars(objective), f"{objective.__name__} defines {shared} again"
        assert "training_batch" in vars(objective)
    from harness.testing import load_tiny_dataset

    data = load_tiny_dataset({"seed": 0})
    autoencode = Autoencode(data)
    assert isinstance(autoencode, Objective) and autoencode.eval_masks == ("co-smoothing", "forward")
    try:
        autoencode.eval_batch(None, "causal")
    except KeyError as error:
        assert "Autoencode has no eval mask 'causal'" in str(error)
    else:
        raise AssertionError("an unknown eval mask must be refused")
