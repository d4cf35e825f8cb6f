"""The public API for plugins: one place names what plugins may import, it stays light, and the
module paths it replaced keep importing for one release."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import harness.api as api
from harness._moved import MOVED

ROOT = Path(__file__).resolve().parents[1]
#: What an in-tree plugin may import from the harness: the API and the conformance kit.
PUBLIC_MODULES = {"harness", "harness.api", "harness.testing", "harness.testing.encoding"}


def _harness_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "harness":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "harness"}
    return found


def test_every_public_name_resolves():
    for name in api.__all__:
        assert getattr(api, name) is not None, name


def test_an_unknown_name_says_where_the_public_names_are():
    with pytest.raises(AttributeError, match="__all__"):
        api.no_such_thing  # noqa: B018


def test_importing_the_api_loads_no_torch():
    code = "import sys, harness.api; from harness.api import hookimpl, BenchError; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_in_tree_plugins_import_only_the_public_api():
    offenders = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for module in _harness_imports(path) - PUBLIC_MODULES:
            offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert not offenders, "plugins must import harness.api or harness.testing only:\n" + "\n".join(offenders)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_module_paths_still_import_with_a_deprecation_warning(old):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert any(issubclass(w.category, DeprecationWarning) and MOVED[old] in str(w.message) for w in caught)
    new = importlib.import_module(MOVED[old])
    public = [name for name in vars(new) if not name.startswith("_")]
    assert public and all(getattr(module, name) is getattr(new, name) for name in public[:20])
