"""A third-party plugin package, pip-installed, is discovered like the in-tree ones."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BENCH = str(Path(sys.executable).parent / "bench")

TOY_PLUGIN = '''
from harness import hookimpl


@hookimpl
def bench_register_models(register):
    register("toy-gru", "bench_toy.model:build", description="a one-layer GRU (third-party test plugin)",
             defaults={"hidden": 16})
'''

TOY_MODEL = '''
import torch


class ToyGRU(torch.nn.Module):
    def __init__(self, shape, hidden):
        super().__init__()
        self.prompt = torch.nn.Embedding(shape.n_prompts, shape.n_heldin)
        self.gru = torch.nn.GRU(shape.n_heldin, hidden, batch_first=True, bidirectional=True)
        self.readout = torch.nn.Linear(2 * hidden, shape.n_units)

    def forward(self, spikes, prompt):
        hidden, _ = self.gru(spikes + self.prompt(prompt)[:, None, :])
        return self.readout(hidden)


def build(shape, config):
    return ToyGRU(shape, config["hidden"])
'''


def write_package(root: Path, distribution: str, module: str, files: dict[str, str], entry_name: str) -> Path:
    package = root / distribution
    (package / module).mkdir(parents=True)
    (package / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{distribution}"
        version = "0.3.1"
        dependencies = ["bench-harness"]

        [project.entry-points.bench]
        {entry_name} = "{module}.plugin"
    """))
    for name, text in files.items():
        (package / module / name).write_text(text)
    return package


@pytest.fixture
def installed_packages(tmp_path):
    toy = write_package(tmp_path, "bench-toy", "bench_toy", {"__init__.py": "", "plugin.py": TOY_PLUGIN, "model.py": TOY_MODEL}, "toy")
    broken = write_package(
        tmp_path, "bench-broken", "bench_broken", {"__init__.py": "", "plugin.py": "raise ImportError('needs libfoo 9')\n"}, "broken"
    )
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--disable-pip-version-check"]
    subprocess.run([*pip, str(toy), str(broken)], check=True, capture_output=True)
    yield
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "--quiet", "-y", "bench-toy", "bench-broken"], check=True, capture_output=True)


def test_installed_plugin_is_listed_trains_and_a_broken_one_only_warns(installed_packages, bench_home):
    listing = subprocess.run([BENCH, "plugins", "--json"], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)["plugins"]}
    assert plugins["toy"]["distribution"] == "bench-toy"
    assert plugins["toy"]["version"] == "0.3.1"
    assert plugins["toy"]["registers"] == ["model:toy-gru"]
    warnings = [line for line in listing.stderr.splitlines() if "bench-broken" in line]
    assert len(warnings) == 1 and "ImportError: needs libfoo 9" in warnings[0]

    run = subprocess.run(
        [BENCH, "run", "--model", "toy-gru", "--objective", "random", "--dataset", "lorenz", "--epochs", "2", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "co-bps:" in run.stdout
    (record,) = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    assert record["model"] == "toy-gru"
    assert record["versions"]["plugins"]["bench-toy"] == "0.3.1"


TOY_ENSEMBLER_PLUGIN = '''
from harness import hookimpl


@hookimpl
def bench_register_ensemblers(register):
    register("toy-geomean", "bench_toy_ensemble.geomean:build", description="geometric mean of rates (third-party test plugin)")
'''

TOY_GEOMEAN = '''
import numpy as np

from harness.contracts import Predictions, SplitRates


class GeometricMean:
    def combine(self, candidates, data):
        def split(name):
            arrays = [candidate.split(name).arrays() for candidate in candidates]
            return SplitRates(**{key: np.exp(np.mean([np.log(a[key]) for a in arrays], axis=0)) for key in arrays[0]})

        return Predictions(train=split("train"), val=split("val"), eval=split("eval"))


def build(config):
    return GeometricMean()
'''


@pytest.fixture
def installed_ensembler(tmp_path):
    import importlib

    package = write_package(
        tmp_path, "bench-toy-ensemble", "bench_toy_ensemble", {"__init__.py": "", "plugin.py": TOY_ENSEMBLER_PLUGIN, "geomean.py": TOY_GEOMEAN}, "toy-ensemble"
    )
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--disable-pip-version-check"]
    subprocess.run([*pip, str(package)], check=True, capture_output=True)
    importlib.invalidate_caches()  # this process imports it too (bench ensemble runs in-process below)
    yield
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "--quiet", "-y", "bench-toy-ensemble"], check=True, capture_output=True)


@pytest.mark.slow  # a pip install and a bench subprocess: about 10 s
def test_installed_ensembler_is_listed_and_combines_runs(installed_ensembler, bench_home, capsys):
    import numpy as np

    from harness.cli import main
    from harness.tasks.nlb.metrics import nlb_bits_per_spike
    from harness.tasks.nlb.submission import load_predictions
    from harness.testing import KitComponentsPlugin, kit_host

    listing = subprocess.run([BENCH, "plugins", "--json"], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)["plugins"]}
    assert plugins["toy-ensemble"]["distribution"] == "bench-toy-ensemble"
    assert plugins["toy-ensemble"]["registers"] == ["ensembler:toy-geomean"]

    # the kit's tiny dataset and linear model live in this process: train two runs, combine them here
    run = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "2", "--no-progress"]
    for seed in ("0", "1"):
        assert main([*run, "--seed", seed], host=kit_host(KitComponentsPlugin())) == 0
    assert main(["ensemble", "--dataset", "bench-tiny", "--ensembler", "toy-geomean", "--folds", "2"], host=kit_host(KitComponentsPlugin())) == 0
    capsys.readouterr()
    found = [json.loads(p.read_text()) for p in (bench_home / "results").glob("*.json")]
    (ensemble,) = [r for r in found if r["ensembler"]]
    assert ensemble["versions"]["plugins"]["bench-toy-ensemble"] == "0.3.1"
    members = [load_predictions(r["paths"]["predictions"]).val.heldout for r in found if not r["ensembler"]]
    data = kit_host().dataset("bench-tiny")
    expected = nlb_bits_per_spike(np.exp(np.mean(np.log(members), axis=0)), data.val.heldout)
    assert ensemble["metrics"]["val_co_bps"]["value"] == pytest.approx(expected, rel=1e-6)
