"""Pretraining on a session set, then fine-tuning on a new session with --init-from."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.errors import BenchError
from harness.run.execute import execute
from harness.specs import RunSpec, TrainConfig
from harness.testing import TINY_SESSIONS, TinySessionsPlugin, kit_host

SMALL = {"width": 16, "heads": 2, "ff_size": 32, "depth": 1}
TRAIN = TrainConfig(epochs=2, batch_size=8, warmup_epochs=0, patience=0, heldin_only_trials=True)


@pytest.fixture(scope="module")
def host():
    return kit_host(TinySessionsPlugin())


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    patcher = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("finetune-home")
    patcher.setenv("BENCH_HOME", str(folder))
    yield folder
    patcher.undo()


def pretrain(host, objective="random", sessions=("a", "b"), **model):
    spec = RunSpec(dataset=TINY_SESSIONS, model="ndt", objective=objective, dataset_config={"sessions": list(sessions)},
                   model_config={**SMALL, **model}, train=TRAIN)
    return execute(host, spec)[0]


def finetune(host, init_from, model="ndt", folds=0, **train):
    spec = RunSpec(dataset=f"{TINY_SESSIONS}:c", model=model, objective="random", model_config=SMALL if model == "ndt" else {},
                   train=TrainConfig(**{**TRAIN.__dict__, **train}), init_from=init_from, folds=folds)
    return spec


@pytest.fixture(scope="module")
def pretrained(host, home):
    return pretrain(host)


def test_pretraining_is_a_run_on_a_session_set(pretrained):
    assert pretrained["task"]["name"] == "nlb_sessions"
    assert pretrained["run_id"].startswith(f"{TINY_SESSIONS}.2sessions-ndt-random-s0-")
    assert pretrained["dataset"]["sessions"] == ["a", "b"]
    metrics = pretrained["metrics"]
    assert metrics["co-bps [a]"]["value"] is not None and metrics["co-bps [b]"]["value"] is not None
    assert metrics["co-bps"]["value"] == pytest.approx((metrics["co-bps [a]"]["value"] + metrics["co-bps [b]"]["value"]) / 2)
    assert metrics["co-bps"]["n_trials"] == metrics["co-bps [a]"]["n_trials"] + metrics["co-bps [b]"]["n_trials"]
    assert Path(pretrained["paths"]["predictions"]).name == "predictions.npz"


def test_saved_session_predictions_load_back(host, pretrained):
    task = host.task("nlb_sessions")
    predictions = task.load_predictions(pretrained["paths"]["predictions"])
    assert set(predictions.by_session) == {"a", "b"}
    assert predictions.by_session["b"].val.heldout.shape[2] == 2  # session b's own 2 held-out units


def test_mtm_pretrains_across_sessions_and_keeps_its_prompts(host, home):
    record = pretrain(host, objective="mtm")
    assert record["metrics"]["co-bps"]["value"] is not None
    assert any(name.startswith("bps[neuron] [") for name in record["metrics"])


def test_a_model_without_sessions_is_refused_on_a_session_set(host, home):
    spec = RunSpec(dataset=TINY_SESSIONS, model="kit-linear", objective="random", train=TRAIN)
    with pytest.raises(BenchError, match="does not support session sets"):
        execute(kit_host(TinySessionsPlugin(), __import__("harness.testing", fromlist=["KitComponentsPlugin"]).KitComponentsPlugin()), spec)


def test_fine_tuning_names_its_pretraining_run_and_starts_from_its_core(host, home, pretrained):
    record, outcome = execute(host, finetune(host, pretrained["run_id"], max_train_trials=10, freeze_core_steps=10_000))
    assert record["pretrained"]["run_id"] == pretrained["run_id"] and record["pretrained"]["sessions"] == ["a", "b"]
    assert record["pretrained"]["core_tensors"] > 0 and record["dataset"]["name"] == f"{TINY_SESSIONS}:c"
    assert record["metrics"]["co-bps"]["value"] is not None
    # the core never thawed: the fine-tuned core is the pretrained one, tensor for tensor
    before = torch.load(pretrained["paths"]["checkpoint"], weights_only=True)["model"]
    after = torch.load(record["paths"]["checkpoint"], weights_only=True)["model"]
    core = [key for key in after if not key.startswith(("read_in.", "read_out.", "session_tokens."))]
    assert core and all(torch.equal(before[key], after[key]) for key in core)
    assert after["read_in.0.weight"].shape == (16, 12) and after["read_out.0.weight"].shape == (16, 16)  # session c's own units


def test_a_thawed_core_trains(host, home, pretrained):
    record, _ = execute(host, finetune(host, pretrained["run_id"], freeze_core_steps=1))
    before = torch.load(pretrained["paths"]["checkpoint"], weights_only=True)["model"]
    after = torch.load(record["paths"]["checkpoint"], weights_only=True)["model"]
    assert not torch.equal(before["layers.0.qkv.weight"], after["layers.0.qkv.weight"])


def test_fine_tuning_resumes_from_its_last_checkpoint(host, home, pretrained):
    spec = finetune(host, pretrained["run_id"], max_train_trials=10, epochs=3)
    record, _ = execute(host, spec)
    assert execute(host, spec)[1] is None, "a finished fine-tuning run shows its record"
    Path(home, "results", f"{record['run_id']}.json").unlink()
    resumed, outcome = execute(host, spec)
    assert outcome.resumed_from_epoch == 3 and resumed["pretrained"]["run_id"] == pretrained["run_id"]


def test_fine_tuning_is_foldable(host, home, pretrained):
    from harness.run.crossval import cross_validate

    pooled = cross_validate(host, finetune(host, pretrained["run_id"], folds=2))
    assert pooled["folds"]["k"] == 2
    assert pooled["run_id"].startswith(f"{TINY_SESSIONS}.c-ndt-random-s0-cv2-")


def test_the_run_id_depends_on_the_pretraining_run(host, pretrained):
    from harness.run.context import run_identity

    one = run_identity(host, finetune(host, pretrained["run_id"])).run_id
    other = run_identity(host, finetune(host, "another-run")).run_id
    plain = run_identity(host, finetune(host, None)).run_id
    assert len({one, other, plain}) == 3


def test_few_shot_trials_are_nested_and_the_same_for_every_run(host):
    from harness.tasks.nlb.trials import limit_train_trials

    data = host.dataset(f"{TINY_SESSIONS}:c")
    ten, twenty = limit_train_trials(data, 10), limit_train_trials(data, 20)
    assert ten.train.n_trials == 10 and set(ten.train.trial_ids) < set(twenty.train.trial_ids)
    assert ten.val.n_trials == data.val.n_trials
    with pytest.raises(BenchError, match="has 28 train trials"):
        limit_train_trials(data, 29)


@pytest.mark.parametrize(
    "case, message",
    [
        ("unknown", "no such run in the results store"),
        ("model", "that run trained model 'ndt', this run's model is 'kit-linear'"),
        ("width", "its core has another width"),
        ("freeze", "freezes a core loaded with --init-from"),
        ("few-shot folds", "train.max_train_trials 10 with --folds: few-shot runs are single-split runs for now"),
    ],
)
def test_bad_fine_tuning_is_refused_in_one_line(host, home, pretrained, case, message):
    from harness.testing import KitComponentsPlugin

    if case == "unknown":
        spec = finetune(host, "lorenz-ndt-random-s0-0000000000")
    elif case == "model":
        host = kit_host(TinySessionsPlugin(), KitComponentsPlugin())
        spec = finetune(host, pretrained["run_id"], model="kit-linear")
    elif case == "width":
        spec = finetune(host, pretrained["run_id"])
        spec = RunSpec(**{**spec.__dict__, "model_config": {**SMALL, "width": 32, "ff_size": 32}})
    elif case == "freeze":
        spec = finetune(host, None, freeze_core_steps=5)
    else:  # before any training: its fold predictions would not map back onto the dataset's trials
        spec = RunSpec(**{**finetune(host, pretrained["run_id"], folds=2, max_train_trials=10).__dict__, "fold": 0})
    with pytest.raises(BenchError) as error:
        execute(host, spec)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", f"{TINY_SESSIONS}:zz"], f"dataset '{TINY_SESSIONS}' has no session 'zz'; its sessions: a, b, c"),
        (["--dataset", f"{TINY_SESSIONS}:c", "--init-from", "no-such-run"], "--init-from no-such-run: no such run in the results store"),
    ],
)
def test_bench_run_refuses_in_one_line(capsys, host, home, argv, message):
    from harness.cli import main

    code = main(["run", "--model", "ndt", "--objective", "random", "--epochs", "1", "--no-progress", *argv], host=host)
    err = capsys.readouterr().err.strip()
    assert code == 1 and message in err and len(err.splitlines()) == 1, err


def test_bench_run_fine_tunes_with_init_from(capsys, host, home, pretrained):
    from harness.cli import main
    from harness.store.records import read_records

    argv = ["run", "--model", "ndt", "--objective", "random", "--dataset", f"{TINY_SESSIONS}:c", "--epochs", "1", "--no-progress",
            "--init-from", pretrained["run_id"], "--set", "train.max_train_trials=8", "--set", "train.freeze_core_steps=2",
            *(f"--set=model.{key}={value}" for key, value in SMALL.items())]
    assert main(argv, host=host) == 0, capsys.readouterr().err
    record = next(r for r in read_records() if (r.get("pretrained") or {}).get("freeze_core_steps") == 2 and r["hyperparameters"]["train"]["max_train_trials"] == 8)
    assert record["pretrained"]["run_id"] == pretrained["run_id"] and record["pretrained"]["freeze_core_steps"] == 2
    assert record["spec"]["init_from"] == pretrained["run_id"]


def test_a_run_on_one_session_pretrains_too_and_is_named_in_the_provenance(host, home):
    one = pretrain(host, sessions=("a",))
    assert "task" not in one or one["task"]["name"] == "nlb_cosmoothing"  # an ordinary run
    record, _ = execute(host, finetune(host, one["run_id"], max_train_trials=8))
    assert record["pretrained"]["sessions"] == ["a"] and record["pretrained"]["core_tensors"] > 0


def test_fine_tuned_and_few_shot_runs_are_rows_of_their_own_on_the_board():
    from harness.leaderboard.grouping import row_variant

    plain = {"ensembler": None, "spec": {"train": {"max_train_trials": 0}}}
    few = {"ensembler": None, "spec": {"train": {"max_train_trials": 10}}}
    tuned = {**few, "pretrained": {"run_id": "lorenz_sessions.4sessions-ndt-mtm-s0-abc"}}
    assert row_variant(plain) is None
    assert row_variant(few) == "10 trials"
    assert row_variant(tuned) == "10 trials, from lorenz_sessions.4sessions-ndt-mtm-s0-abc"
    assert row_variant({**tuned, "spec": {"label": "tuned", "train": {}}}) == "tuned, from lorenz_sessions.4sessions-ndt-mtm-s0-abc"


def test_the_notebook_fine_tunes_too(host, home, pretrained):
    from harness import notebook

    record = notebook.run(model="ndt", objective="random", dataset=f"{TINY_SESSIONS}:c", epochs=1, model_config=SMALL,
                          init_from=pretrained["run_id"], max_train_trials=12, host=host)
    assert record["pretrained"]["run_id"] == pretrained["run_id"]
    assert record["hyperparameters"]["train"]["max_train_trials"] == 12
