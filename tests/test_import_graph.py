"""The import graph: task packages sit below the generic core and import none of it but the
contracts, errors, store and specs; the generic core reaches a task only through its Task
object (registered by a "module:Class" string), never by importing a task package. Imports
inside functions count too: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "harness"
GENERIC = ("run", "search", "store", "plugin", "leaderboard", "cli")
CORE_ABOVE_TASKS = ("harness.run", "harness.search", "harness.leaderboard", "harness.cli", "harness.plugin", "harness.testing")


def module_name(path: Path) -> str:
    parts = path.relative_to(HARNESS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (``from a import b`` counts
    as ``a`` and, where ``a.b`` is a module, ``a.b``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "harness" or name.startswith("harness.")}


def modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (HARNESS / package).rglob("*.py"))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("path", modules(*GENERIC), ids=lambda p: str(p.relative_to(HARNESS)))
def test_generic_modules_import_no_task_package(path):
    assert not [name for name in imports(path) if _within(name, "harness.tasks")]


@pytest.mark.parametrize("path", modules("tasks"), ids=lambda p: str(p.relative_to(HARNESS)))
def test_task_packages_import_nothing_above_them(path):
    above = [name for name in imports(path) if any(_within(name, prefix) for prefix in CORE_ABOVE_TASKS)]
    assert not above


@pytest.mark.parametrize("task", ["nlb", "encoding"])
def test_a_task_package_imports_no_other_task(task):
    others = {"nlb", "encoding"} - {task}
    for path in modules(f"tasks/{task}"):
        assert not [name for name in imports(path) if any(_within(name, f"harness.tasks.{other}") for other in others)], path


def _cycles(paths: dict[str, Path]) -> list[str]:
    graph = {name: {other for other in imports(path) if other in paths and other != name} for name, path in paths.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph[start]:
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    return sorted(name for name in graph if reaches(name, name, set()))


def test_no_import_cycles_within_a_task_package():
    for task in ("nlb", "encoding", "sessions"):
        cycles = _cycles({module_name(path): path for path in modules(f"tasks/{task}")})
        assert not cycles, f"modules of harness.tasks.{task} in an import cycle: {', '.join(cycles)}"


def test_no_import_cycles_in_the_core():
    """Type-only imports count too: the plugin layer annotates runs with contracts.RunInfo, not
    with run/'s RunContext. The facades that name modules as strings (harness.api, the old paths'
    aliases) import nothing and are left out."""
    paths = {module_name(path): path for path in HARNESS.rglob("*.py")}
    paths = {name: path for name, path in paths.items() if name not in ("harness.api", "harness._moved")}
    cycles = _cycles(paths)
    assert not cycles, f"modules in an import cycle: {', '.join(cycles)}"
