from __future__ import annotations

import pytest

from harness.errors import SpecError
from harness.specs import RunSpec, load_spec, parse_assignments, spec_from_mapping


def test_spec_round_trip_and_include(tmp_path):
    (tmp_path / "base.yaml").write_text("model: ndt\ntrain: {lr: 0.01, epochs: 5}\nmodel_config: {d_model: 32}\n")
    (tmp_path / "run.yaml").write_text("include: base.yaml\nversion: 1\nobjective: mtm\ntrain: {epochs: 7}\nseed: 3\n")
    spec = load_spec(tmp_path / "run.yaml")
    assert (spec.model, spec.objective, spec.seed) == ("ndt", "mtm", 3)
    assert spec.train.lr == 0.01 and spec.train.epochs == 7
    assert dict(spec.model_config) == {"d_model": 32}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("modle: ndt\n", "modle"),
        ("train: {lr: fast}\n", "train.lr"),
        ("train: {epocs: 3}\n", "train.epocs"),
        ("seed: one\n", "seed"),
        ("version: 2\n", "version"),
        ("model_config: [1, 2]\n", "model_config"),
        ("train: {epochs: 2.5}\n", "train.epochs"),
    ],
)
def test_bad_keys_are_named(tmp_path, text, key):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.key == key
    assert str(path) in str(caught.value)


def test_yaml_is_safe_loaded(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("model: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(path)


def test_include_cycle_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("include: b.yaml\n")
    (tmp_path / "b.yaml").write_text("include: a.yaml\n")
    with pytest.raises(SpecError, match="cycle"):
        load_spec(tmp_path / "a.yaml")


def test_run_id_ignores_budget_and_device_but_not_hyperparameters():
    spec = RunSpec(model="ndt", objective="mtm")
    assert spec.run_id() == spec.with_overrides(train={"max_minutes": 3}, device="cpu").run_id()
    assert spec.run_id() != spec.with_overrides(train={"lr": 0.1}).run_id()
    assert spec.run_id() != spec.with_overrides(seed=1).run_id()
    assert spec.run_id().startswith("lorenz-ndt-mtm-s0-")


def test_set_assignments():
    groups = parse_assignments(["model.n_layers=2", "train.lr=1e-3", "objective.modes=[neuron, causal]"])
    assert groups == {"model": {"n_layers": 2}, "train": {"lr": 1e-3}, "objective": {"modes": ["neuron", "causal"]}}
    with pytest.raises(SpecError, match="SECTION.KEY=VALUE"):
        parse_assignments(["lr=3"])
    assert spec_from_mapping({"train": {"max_minutes": None}}).train.max_minutes is None
