"""The plugin manager: fresh per call, built-ins through the same path, switches, broken plugins."""

from __future__ import annotations

import warnings

import pytest

from harness import hookimpl
from harness.plugin.host import Host
from harness.plugin.manager import DEFAULT_PLUGINS, PluginLoadWarning, load_report, make_plugin_manager
from harness.testing import KitComponentsPlugin, TinyDatasetPlugin


def test_each_call_builds_a_fresh_manager_with_the_builtins():
    one, two = make_plugin_manager(), make_plugin_manager()
    assert one is not two
    for name in DEFAULT_PLUGINS:
        assert one.has_plugin(name)
    assert all(info.builtin for info in load_report(one).loaded[: len(DEFAULT_PLUGINS)])


def test_in_process_plugin_registers_all_four_kinds():
    host = Host(make_plugin_manager(extra_plugins=[TinyDatasetPlugin(), KitComponentsPlugin()]))
    assert "bench-tiny" in host.registries.datasets
    assert host.registries.models.get("kit-linear").plugin
    assert "kit-cosmoothing" in host.registries.objectives
    assert "kit-mean" in host.registries.ensemblers


def test_misspelled_hook_fails_validation():
    class Typo:
        @hookimpl
        def bench_register_modles(self, register):  # noqa: D401 - a deliberate misspelling
            pass

    with pytest.raises(Exception, match="bench_register_modles"):
        make_plugin_manager(extra_plugins=[Typo()])


def test_duplicate_component_across_plugins_is_refused():
    class Again(KitComponentsPlugin):
        pass

    host = Host(make_plugin_manager(extra_plugins=[KitComponentsPlugin(), Again()]))
    with pytest.raises(Exception, match="registered twice"):
        _ = host.registries


def test_blocklist_and_allowlist_from_environment(monkeypatch):
    installed = {info.name for info in load_report(make_plugin_manager()).loaded if not info.builtin}
    if not installed:
        pytest.skip("no entry-point plugins installed")
    victim = sorted(installed)[0]
    monkeypatch.setenv("BENCH_DISABLE_PLUGINS", victim)
    report = load_report(make_plugin_manager())
    assert victim in report.skipped and victim not in {i.name for i in report.loaded}
    monkeypatch.delenv("BENCH_DISABLE_PLUGINS")
    monkeypatch.setenv("BENCH_PLUGINS", victim)
    loaded = {i.name for i in load_report(make_plugin_manager()).loaded if not i.builtin}
    assert loaded == {victim}


def test_broken_entry_point_warns_once_and_blocks_nothing(monkeypatch):
    from importlib import metadata

    real = metadata.entry_points

    class BrokenEntryPoint:
        name = "broken"
        dist = type("Dist", (), {"name": "bench-broken", "version": "9.9"})()

        def load(self):
            raise RuntimeError("boom at import")

    def with_broken(**kwargs):
        return [*real(**kwargs), BrokenEntryPoint()]

    monkeypatch.setattr("harness.plugin.manager.entry_points", with_broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = make_plugin_manager(extra_plugins=[KitComponentsPlugin()])
    relevant = [w for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert len(relevant) == 1
    assert "'broken' from distribution 'bench-broken'" in str(relevant[0].message)
    assert "RuntimeError: boom at import" in str(relevant[0].message)
    assert "kit-linear" in Host(manager).registries.models
    assert load_report(manager).failed == {"broken": "RuntimeError: boom at import"}


def test_cli_switches_block_and_allow_plugins(capsys):
    import json

    from harness.cli import main

    installed = sorted(info.name for info in load_report(make_plugin_manager()).loaded if not info.builtin)
    if len(installed) < 2:
        pytest.skip("needs two entry-point plugins installed")
    assert main(["--disable-plugin", installed[0], "plugins", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert installed[0] in listing["skipped"]
    assert installed[0] not in {p["name"] for p in listing["plugins"]}
    assert main(["--plugins", installed[1], "plugins", "--json"]) == 0
    assert {p["name"] for p in json.loads(capsys.readouterr().out)["plugins"]} == {installed[1]}
