from __future__ import annotations

import pytest

from harness.errors import BenchError, UnknownNameError
from harness.plugin.registry import Entry, ModelEntry, Register, Registry


def test_duplicate_names_are_refused_naming_both_plugins():
    registry = Registry("model")
    Register(registry, "first", ModelEntry)("gru", "x.y:build")
    with pytest.raises(BenchError, match="registered twice: by plugin 'first' and by plugin 'second'"):
        Register(registry, "second", ModelEntry)("gru", "z.w:build")


def test_unknown_name_suggests_close_matches_and_lists_all():
    registry = Registry("model")
    for name in ("ndt", "lfads", "smoothing"):
        Register(registry, "p", ModelEntry)(name, "m:f")
    with pytest.raises(UnknownNameError) as caught:
        registry.get("ntd")
    message = str(caught.value)
    assert "Did you mean 'ndt'?" in message
    assert "Available models: lfads, ndt, smoothing" in message


def test_entries_are_light_until_loaded():
    entry = Entry(kind="model", name="x", loader="json:dumps", plugin="p")
    assert entry.load().__name__ == "dumps"
    with pytest.raises(BenchError, match="cannot load no_such_module:build"):
        Entry(kind="model", name="x", loader="no_such_module:build", plugin="p").load()
    with pytest.raises(BenchError, match="not of the form"):
        Entry(kind="model", name="x", loader="nocolon", plugin="p").load()


def test_bad_registration_arguments_name_the_plugin():
    registry = Registry("model")
    with pytest.raises(BenchError, match="plugin p: bad model registration 'x'"):
        Register(registry, "p", ModelEntry)("x", "m:f", no_such_field=1)
    with pytest.raises(BenchError, match="use letters"):
        Register(registry, "p", ModelEntry)("bad name!", "m:f")


def test_search_spaces_are_checked_when_registered():
    registry = Registry("model")
    register = Register(registry, "p", ModelEntry)
    space = {
        "hidden": {"type": "int", "low": 16, "high": 64, "step": 16},
        "train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "cell": {"type": "categorical", "choices": ["gru", "lstm"]},
    }
    register("ok", "m:f", defaults={"hidden": 32, "cell": "gru"}, search_space=space)
    assert registry.get("ok").search_space["train.lr"]["log"] is True
    with pytest.raises(BenchError, match="parameter 'width': not one of its config keys"):
        register("a", "m:f", defaults={"hidden": 32}, search_space={"width": {"type": "int", "low": 1, "high": 2}})
    with pytest.raises(BenchError, match="no trainer setting 'lrr'"):
        register("b", "m:f", search_space={"train.lrr": {"type": "float", "low": 1e-4, "high": 1e-2}})
    with pytest.raises(BenchError, match="'low' < 'high'"):
        register("c", "m:f", defaults={"hidden": 32}, search_space={"hidden": {"type": "int", "low": 64, "high": 16}})
    with pytest.raises(BenchError, match="log-scale range needs 'low' > 0"):
        register("d", "m:f", search_space={"train.lr": {"type": "float", "low": 0, "high": 1, "log": True}})
    with pytest.raises(BenchError, match="non-empty 'choices'"):
        register("e", "m:f", defaults={"cell": "gru"}, search_space={"cell": {"type": "categorical"}})
