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
