from __future__ import annotations

import pytest

from harness.errors import BenchError, UnknownNameError
from harness.registry import Entry, ModelEntry, Register, Registry


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
