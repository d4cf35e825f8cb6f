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


TRAINED = {"dataset_config": {"seed": 0}, "model_config": {"width": 32}, "objective_config": {}, "versions": {"bench-harness": "0.1.0"}}


@pytest.mark.parametrize("run_id", [lambda spec: spec.run_id(TRAINED), RunSpec.legacy_run_id], ids=["run_id", "legacy"])
def test_run_id_ignores_budget_and_device_but_not_hyperparameters(run_id):
    spec = RunSpec(model="ndt", objective="mtm")
    assert run_id(spec) == run_id(spec.with_overrides(train={"max_minutes": 3}, device="cpu"))
    assert run_id(spec) != run_id(spec.with_overrides(train={"lr": 0.1}))
    assert run_id(spec) != run_id(spec.with_overrides(seed=1))
    assert run_id(spec).startswith("lorenz-ndt-mtm-s0-")


def test_the_run_id_takes_the_configs_that_train_not_those_given():
    spec = RunSpec(model="ndt", objective="mtm")
    assert spec.run_id(TRAINED) == spec.with_overrides(model_config={"width": 32}).run_id(TRAINED)
    assert spec.run_id(TRAINED) != spec.run_id({**TRAINED, "model_config": {"width": 64}})
    assert spec.run_id(TRAINED) != spec.run_id({**TRAINED, "versions": {"bench-harness": "0.2.0"}})
    assert spec.legacy_run_id() != spec.with_overrides(model_config={"width": 32}).legacy_run_id()


def test_set_assignments():
    groups = parse_assignments(["model.n_layers=2", "train.lr=1e-3", "objective.modes=[neuron, causal]"])
    assert groups == {"model": {"n_layers": 2}, "train": {"lr": 1e-3}, "objective": {"modes": ["neuron", "causal"]}}
    with pytest.raises(SpecError, match="SECTION.KEY=VALUE"):
        parse_assignments(["lr=3"])
    assert spec_from_mapping({"train": {"max_minutes": None}}).train.max_minutes is None


# -- run identity: what trains, not the spec as given -------------------------------------------


def _with_default(host, kind: str, name: str, **defaults):
    """``host`` with the registered ``kind`` ``name`` given other defaults (a new plugin release)."""
    import dataclasses
    from types import MappingProxyType

    registry = host.registries.by_kind(kind)
    entry = registry.get(name)
    registry._entries[name] = dataclasses.replace(entry, defaults=MappingProxyType({**entry.defaults, **defaults}))
    return host


def test_the_run_id_hashes_the_merged_configuration_and_versions():
    from harness.plugin.host import Host
    from harness.run.context import run_identity

    host = Host()
    spec = host.default_spec("ndt")
    width = host.registries.models.get("ndt").defaults["width"]
    same = run_identity(host, spec.with_overrides(model_config={"width": width}))
    identity = run_identity(host, spec)
    assert identity.run_id == same.run_id  # naming a default is the same run
    assert identity.legacy_run_id != same.legacy_run_id  # the spec as given differed
    assert identity.legacy_run_id == spec.legacy_run_id()
    assert identity.run_id.startswith("lorenz-ndt-random-s0-") and identity.run_id != identity.legacy_run_id
    assert run_identity(host, spec.with_overrides(model_config={"width": width + 16})).run_id != identity.run_id
    assert set(identity.trained["versions"]) == {"bench-harness", "bench-ndt", "bench-masking", "bench-synthetic"}
    assert run_identity(host, spec.with_overrides(device="cpu", train={"max_minutes": 3})).run_id == identity.run_id

    changed = run_identity(_with_default(Host(), "model", "ndt", width=width * 2), spec)
    assert changed.run_id != identity.run_id and changed.legacy_run_id == identity.legacy_run_id
    assert run_identity(_with_default(Host(), "objective", "random", mask_ratio=0.5), spec).run_id != identity.run_id
    assert run_identity(_with_default(Host(), "dataset", "lorenz", seed=7), spec).run_id != identity.run_id


def test_a_new_release_of_a_providing_plugin_is_a_new_run_and_others_are_not():
    import dataclasses

    from harness.plugin.host import Host
    from harness.plugin.manager import load_report
    from harness.run.context import run_identity

    spec = Host().default_spec("ndt")
    before = run_identity(Host(), spec).run_id

    def released(distribution: str) -> Host:
        host = Host()
        report = load_report(host.manager)
        report.loaded[:] = [dataclasses.replace(i, version="9.9") if i.distribution == distribution else i for i in report.loaded]
        return host

    assert run_identity(released("bench-ndt"), spec).run_id != before
    assert run_identity(released("bench-lfads"), spec).run_id == before  # installed, but not in this run


@pytest.mark.slow
def test_bench_run_with_a_default_named_is_the_same_run(bench_home, capsys):
    from harness.cli import main
    from harness.plugin.host import Host

    width = Host().registries.models.get("ndt").defaults["width"]
    command = ["run", "--model", "ndt", "--dataset", "lorenz", "--epochs", "1", "--no-progress"]
    assert main(command) == 0
    first = capsys.readouterr().out
    assert main([*command, "--set", f"model.width={width}"]) == 0
    second = capsys.readouterr().out
    (run_id,) = [p.stem for p in (bench_home / "results").glob("*.json")]
    assert run_id in first and f"{run_id} already completed" in second.replace("\n", " ")


def test_every_stored_run_is_named_by_its_spec_s_legacy_id():
    """Records made before run ids hashed what trains keep being found by their spec."""
    import json
    from pathlib import Path

    stored = sorted((Path(__file__).resolve().parents[1] / "leaderboards" / "records").glob("*.json"))
    runs = [json.loads(path.read_text()) for path in stored]
    runs = [record for record in runs if record["ensembler"] is None or record.get("folds")]
    runs = [record for record in runs if record["schema_version"] == 1]  # later records hash what trains (test_trainer)
    assert len(runs) > 50
    for record in runs:
        assert spec_from_mapping(record["spec"], source=record["run_id"]).legacy_run_id() == record["run_id"]
