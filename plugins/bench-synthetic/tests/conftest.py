"""Fixtures: a throw-away plugin manager with only this plugin, and BENCH_HOME in a temp folder."""

from __future__ import annotations

import pytest

from harness.api import Host, make_plugin_manager


@pytest.fixture
def bench_home(tmp_path, monkeypatch):
    home = tmp_path / "bench-home"
    monkeypatch.setenv("BENCH_HOME", str(home))
    return home


@pytest.fixture
def host(bench_home):
    return Host(make_plugin_manager(allow=["synthetic"]))
