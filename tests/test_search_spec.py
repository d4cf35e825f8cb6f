"""Search specs and search plans: validation names the key; spaces narrow, extend, fix and
condition as declared; several families sample only their own parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import SpecError
from harness.plugin.host import Host
from harness.search.space import FAMILY, build_plan
from harness.search.spec import Family, load_search_spec, search_spec_from_mapping

SPECS = Path(__file__).resolve().parent.parent / "specs"
BASE = {"dataset": "lorenz", "model": "ndt", "objective": "mtm", "train": {"steps": 100}}


@pytest.fixture(scope="module")
def host():
    return Host()


def search(**keys):
    return search_spec_from_mapping({"version": 1, "kind": "search", "base": BASE, **keys}, source="s.yaml")


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ({"trails": 3}, "trails"),
        ({"kind": "run"}, "kind"),
        ({"base": None}, "base"),
        ({"base": "missing.yaml"}, "base"),
        ({"sampler": "bayes"}, "sampler"),
        ({"pruner": {"name": "asha"}}, "pruner"),
        ({"trials": 0}, "trials"),
        ({"trial_max_minutes": -1}, "trial_max_minutes"),
        ({"families": [{"model": "ndt", "objectiv": "mtm"}]}, "families[0]"),
        ({"space": {"width": {"type": "int", "low": 1, "high": 2}}}, "space.width"),
        ({"space": {"ndt.width": "wide"}}, "space.ndt.width"),
        ({"fixed": ["ndt.width"]}, "fixed"),
        ({"baseline": "yes"}, "baseline"),
    ],
)
def test_search_spec_errors_name_the_key(keys, key):
    with pytest.raises(SpecError) as caught:
        search(**keys)
    assert caught.value.key == key and "s.yaml" in str(caught.value)


@pytest.mark.parametrize(
    ("keys", "key", "says"),
    [
        ({"space": {"ndt.widht": {"high": 32}}}, "space.ndt.widht", "Known options"),
        ({"fixed": {"train.lrr": 0.1}}, "fixed.train.lrr", "no trainer setting"),
        ({"space": {"lfads.factors": {"type": "int", "low": 1, "high": 4}}}, "space.lfads.factors", "not a model or objective of this search"),
        ({"space": {"ndt.width": {"low": 64, "high": 16}}}, "space.ndt.width", "'low' < 'high'"),
        ({"space": {"ndt.depth": {"type": "float", "low": 0.1, "high": 1, "step": 0.1, "log": True}}}, "space.ndt.depth", "cannot be combined"),
        ({"families": [{"model": "ndt", "objective": "mtm"}, {"model": "ndtt", "objective": "mtm"}]}, "families[1]", "Did you mean 'ndt'"),
        ({"families": [{"model": "ndt"}]}, "families[0]", "needs an objective"),
        (
            {"space": {"ndt.width": {"type": "int", "low": 16, "high": 32, "condition": {"ndt.depth": 2}}, "ndt.depth": {"type": "int", "low": 1, "high": 3, "condition": {"ndt.width": 16}}}},
            "space",
            "cycle",
        ),
    ],
)
def test_plan_errors_name_the_key(host, keys, key, says):
    with pytest.raises(SpecError) as caught:
        build_plan(host, search(**keys))
    assert caught.value.key == key, caught.value
    assert says in str(caught.value)


def test_narrowing_merges_into_the_declared_range_and_fixed_values_are_not_sampled(host):
    plan = build_plan(host, search(space={"ndt.width": {"high": 32}, "train.ema_decay": {"type": "float", "low": 0.9, "high": 0.999}}, fixed={"ndt.depth": 1, "train.steps": 50}))
    (parameters,) = plan.parameters.values()
    by_name = {p.name: p for p in parameters}
    assert dict(by_name["ndt.width"].spec) == {"type": "int", "low": 16, "high": 32, "step": 16}
    assert "train.ema_decay" in by_name and "ndt.depth" not in by_name
    assert by_name["train.lr"].spec["log"] is True  # declared by the ndt plugin
    spec = plan.run_spec(Family("ndt", "mtm"), {"ndt.width": 32, "mtm.masks": ["neuron"], "train.lr": 0.02})
    assert spec.model_config == {"depth": 1, "width": 32} and spec.objective_config == {"masks": ["neuron"]}
    assert (spec.train.steps, spec.train.lr) == (50, 0.02)


def sampled(plan, n: int, seed: int = 0):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(n):
        trial = study.ask()
        family, values = plan.sample(trial)
        study.tell(trial, 0.0)
        yield family, values, study.trials[-1].params


def test_families_sample_only_their_own_parameters_and_conditions_hold(host):
    plan = build_plan(host, search(families=[{"model": "ndt", "objective": "mtm"}, {"model": "ndt", "objective": "random"}]))
    seen = set()
    for family, values, stored in sampled(plan, 40):
        seen.add(family.label)
        assert stored[FAMILY] == family.label
        owners = {name.split(".")[0] for name in values}
        assert owners <= {"ndt", "train", family.objective}
        assert family.objective in owners
        if family.objective == "random":  # max_span is sampled only where spans exist
            assert ("random.max_span" in values) == (values["random.mode"] in ("timestep", "full"))
        else:
            assert isinstance(values["mtm.masks"], list)  # list choices come back as lists
        spec = plan.run_spec(family, values)
        assert (spec.model, spec.objective) == (family.model, family.objective)
        assert spec.train.steps == 100  # from the base spec
    assert seen == {"ndt/mtm", "ndt/random"}


def test_the_baseline_trial_runs_the_configuration_as_it_stands(host):
    """baseline: true enqueues the base spec with the plugins' defaults as a new study's first
    trial; a default outside a narrowed range is left to the sampler."""
    import optuna

    from harness.search.study import open_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    plan = build_plan(host, search(baseline=True, space={"ndt.width": {"low": 48}}, fixed={"ndt.depth": 1}))
    baseline = plan.baseline()
    assert baseline["ndt.dropout"] == 0.1 and baseline["train.lr"] == plan.search.base.train.lr  # ndt's default, the base spec's lr
    assert baseline["mtm.masks"] == '["neuron", "causal", "intra-region", "inter-region"]'  # stored as its JSON text
    assert "ndt.width" not in baseline and "ndt.depth" not in baseline  # 32 is below the narrowed 48; depth is fixed
    study = open_study(optuna.storages.InMemoryStorage(), "b", plan, optuna.samplers.RandomSampler(seed=0), optuna.pruners.NopPruner())
    trial = study.ask()
    family, values = plan.sample(trial)
    assert trial.user_attrs["baseline"] is True
    assert values["ndt.dropout"] == 0.1 and values["mtm.masks"] == ["neuron", "causal", "intra-region", "inter-region"]
    assert values["ndt.width"] >= 48
    study.tell(trial, 0.0)
    again = open_study(study._storage, "b", plan, optuna.samplers.RandomSampler(seed=0), optuna.pruners.NopPruner())
    assert not [t for t in again.get_trials() if t.state.name == "WAITING"]  # enqueued once, by the study's creator
    two = build_plan(host, search(baseline=True, families=[{"model": "ndt", "objective": "random"}, {"model": "ndt", "objective": "mtm"}]))
    assert two.baseline()[FAMILY] == "ndt/random" and "random.mode" in two.baseline()


def test_search_over_several_families_has_one_digest_per_search(host):
    one = build_plan(host, search())
    assert one.digest() == build_plan(host, search(trials=50, sampler="random")).digest()  # budgets and samplers may change
    assert one.digest() != build_plan(host, search(fixed={"ndt.depth": 1})).digest()
    # run specs gained a 'label' after studies were made: an unlabelled base must keep their digest
    assert "label" not in one.describe()["base"] and "label" in build_plan(host, search(base={**BASE, "label": "x"})).describe()["base"]


def test_the_shipped_search_specs_validate(host):
    for path in sorted(SPECS.glob("search_*.yaml")):
        plan = build_plan(host, load_search_spec(path))
        assert plan.parameters, path


def test_bench_validate_checks_search_specs_without_running(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text("dataset: lorenz\nmodel: ndt\nobjective: random\n")
    (tmp_path / "good.yaml").write_text("kind: search\nbase: base.yaml\ntrials: 3\nspace: {random.mask_ratio: {high: 0.3}}\n")
    (tmp_path / "bad.yaml").write_text("kind: search\nbase: base.yaml\nspace: {random.mask_ratoi: {high: 0.3}}\n")
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "ok   " in out and "good.yaml" in out
    assert "key 'space.random.mask_ratoi'" in out and "Known options" in out


def test_samplers_and_pruners_are_built_seeded_and_bad_options_are_named():
    import optuna

    from harness.errors import BenchError
    from harness.search.study import make_pruner, make_sampler

    assert isinstance(make_sampler({"name": "gp", "seed": 1}), optuna.samplers.GPSampler)
    assert isinstance(make_pruner({"name": "hyperband", "min_resource": 5}), optuna.pruners.HyperbandPruner)
    draws = [make_sampler({"name": "random", "seed": 4}, seed_offset=2).sample_independent(None, None, "x", optuna.distributions.FloatDistribution(0, 1)) for _ in range(2)]
    assert draws[0] == draws[1]
    with pytest.raises(BenchError, match="s.yaml: key 'sampler': tpe: .*n_startup_trails"):
        make_sampler({"name": "tpe", "n_startup_trails": 3}, source="s.yaml: key 'sampler'")


def test_storage_urls_keep_no_password():
    from harness.search.study import _redacted, storage_kind

    assert storage_kind("postgresql+psycopg://bench:secret@db:5432/studies") == "postgresql"
    assert storage_kind("sqlite:////home/x/studies.db") == "sqlite"
    assert _redacted("postgresql://bench:secret@db/studies") == "postgresql://bench:***@db/studies"


class FakeTrial:
    def __init__(self, number, state="COMPLETE", retry_of=None, surplus=False):
        import optuna

        self.number, self.state = number, optuna.trial.TrialState[state]
        self.system_attrs = {} if retry_of is None else {"failed_trial": retry_of}
        self.user_attrs = {"surplus": True} if surplus else {}


def test_slots_count_retries_once_and_surplus_trials_not_at_all():
    from harness.search.worker import count_slots, is_surplus

    trials = [FakeTrial(0), FakeTrial(1, "FAIL"), FakeTrial(2, "RUNNING"), FakeTrial(3, "WAITING", retry_of=1), FakeTrial(4, "FAIL", surplus=True)]
    count = count_slots(trials)
    assert (count.slots, count.open, count.running, count.settled) == (3, 1, 1, 1)
    assert not is_surplus(trials, 2, wanted=3) and is_surplus(trials, 5, wanted=3)
    assert not is_surplus(trials, 5, wanted=4)  # the surplus trial 4 holds no slot
