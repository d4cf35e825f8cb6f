"""Session sets: selecting sessions, refusing unknown ones, and run ids of session runs."""

from __future__ import annotations

import pytest

from harness.contracts import DatasetTensors
from harness.errors import BenchError
from harness.sessions import Session, SessionSet
from harness.specs import RunSpec, spec_from_mapping
from harness.testing import TINY_SESSIONS, TinySessionsPlugin, kit_host, make_tiny_session_set


@pytest.fixture(scope="module")
def host():
    return kit_host(TinySessionsPlugin())


def test_a_session_set_has_sessions_with_their_own_units():
    sessions = make_tiny_session_set()
    assert sessions.names == ("a", "b", "c")
    counts = [(s.data.n_heldin, s.data.n_heldout) for s in sessions.sessions]
    assert counts == [(10, 3), (7, 2), (12, 4)]
    assert all(len(s.unit_ids) == s.data.n_heldin + s.data.n_heldout for s in sessions.sessions)


def test_one_session_is_an_ordinary_dataset(host):
    data = host.dataset(TINY_SESSIONS, {"sessions": ["b"]})
    assert isinstance(data, DatasetTensors) and data.name == f"{TINY_SESSIONS}:b" and data.n_heldin == 7
    assert host.dataset(f"{TINY_SESSIONS}:b").checksum == data.checksum


def test_several_sessions_are_a_session_set_in_the_order_asked(host):
    data = host.dataset(TINY_SESSIONS, {"sessions": ["c", "a"]})
    assert isinstance(data, SessionSet) and data.names == ("c", "a")
    assert isinstance(host.dataset(TINY_SESSIONS), SessionSet) and host.dataset(TINY_SESSIONS).names == ("a", "b", "c")


@pytest.mark.parametrize("how", ["config", "colon"])
def test_an_unknown_session_is_refused_in_one_line_naming_the_sessions(host, how):
    with pytest.raises(BenchError) as error:
        if how == "config":
            host.resolve_dataset(TINY_SESSIONS, {"sessions": ["a", "zz"]})
        else:
            host.resolve_dataset(f"{TINY_SESSIONS}:zz")
    message = str(error.value)
    assert "\n" not in message and f"'{TINY_SESSIONS}'" in message and "'zz'" in message and "a, b, c" in message


def test_the_loader_refuses_an_unknown_session_too():
    with pytest.raises(BenchError, match="its sessions: a, b, c"):
        make_tiny_session_set().select(["q"])


def test_an_ordinary_dataset_has_no_sessions_to_pick(host):
    with pytest.raises(BenchError, match="not a session set"):
        host.resolve_dataset("bench-tiny:a")


def test_set_colon_session_is_the_same_run_as_the_sessions_option():
    colon = RunSpec(dataset=f"{TINY_SESSIONS}:b")
    option = RunSpec(dataset=TINY_SESSIONS, dataset_config={"sessions": ["b"]})
    assert colon == option
    assert colon.run_id({"versions": {}, "dataset_config": {}, "model_config": {}, "objective_config": {}}).startswith(f"{TINY_SESSIONS}.b-ndt-")
    assert spec_from_mapping({"dataset": f"{TINY_SESSIONS}:b"}).dataset_config == {"sessions": ["b"]}


def test_many_sessions_name_their_count_in_the_run_id():
    spec = RunSpec(dataset=TINY_SESSIONS, dataset_config={"sessions": ["a", "b", "c"]})
    assert spec.run_id({"versions": {}, "dataset_config": {}, "model_config": {}, "objective_config": {}}).startswith(f"{TINY_SESSIONS}.3sessions-")


def test_new_spec_fields_at_their_default_leave_run_ids_unchanged():
    spec = RunSpec()
    identity = spec.identity()
    assert "init_from" not in identity
    assert not {"freeze_core_steps", "max_train_trials"} & set(identity["train"])
    assert "init_from" in RunSpec(init_from="x").identity()


def test_sessions_must_have_as_many_unit_ids_as_units():
    session = make_tiny_session_set().sessions[0]
    with pytest.raises(BenchError, match="unit ids"):
        Session("a", session.data, session.unit_ids[:-1])


def test_objectives_are_built_per_session_and_mtm_prompts_mean_the_same_in_each(host):
    from harness.sessions import SessionObjectives
    from harness.testing import tensor_batch

    sessions = host.dataset(TINY_SESSIONS)
    objectives = host.objective("mtm", sessions, {})
    assert isinstance(objectives, SessionObjectives) and len(objectives.objectives) == 3
    prompts = set()
    for index, session in enumerate(sessions.sessions):
        objective = objectives[index]
        assert objective.region_units.shape[1] == session.data.n_heldin  # its own units
        prompts.add(int(objective.inference_batch(tensor_batch(session.data.val, session.data)).prompt[0]))
        assert objective.n_prompts == objectives.n_prompts
    assert prompts == {objectives[0].prompt_id("neuron")}


def test_sessions_whose_objectives_have_different_prompts_are_refused():
    from types import SimpleNamespace

    from harness.sessions import session_objectives

    one, other = SimpleNamespace(n_prompts=2, eval_masks=("neuron",)), SimpleNamespace(n_prompts=4, eval_masks=("neuron",))
    with pytest.raises(BenchError, match="different number of prompts per session"):
        session_objectives("mtm", [one, other], ["a", "b"])


def test_an_epoch_of_a_session_set_is_one_pass_over_every_session_in_a_seeded_order(host):
    import torch

    from harness.specs import TrainConfig
    from harness.tasks.sessions.plan import SessionsPlan
    from harness.testing.sessions import session_shapes

    sessions = host.dataset(TINY_SESSIONS)
    objectives = host.objective("random", sessions, {})
    model = host.model("ndt", session_shapes(sessions, n_prompts=objectives.n_prompts), {"width": 16, "ff_size": 32, "depth": 1})
    seen: list[int] = []
    model.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs["session"]), with_kwargs=True)
    plan = SessionsPlan(sessions, objectives, TrainConfig(batch_size=8, heldin_only_trials=True), "cpu", 0)

    def one_epoch(seed: int) -> list[int]:
        seen.clear()
        losses = list(plan.epoch(model, torch.Generator().manual_seed(seed)))
        assert len(losses) == plan.steps_per_epoch and all(torch.isfinite(loss) for loss in losses)
        return list(seen)

    order = one_epoch(0)
    assert [order.count(index) for index in range(3)] == [p.steps_per_epoch for p in plan.plans]
    assert order == one_epoch(0) and order != sorted(order)
    validated = plan.validate(model)
    assert set(validated) >= {"val_co_bps", "val_loss"}
