"""Old module paths, kept for one release: ``import harness.metrics`` still works for a third-party
plugin written before the core was grouped by concern, with a DeprecationWarning naming the new
home. Each old name is an alias module that forwards attribute access to the module that moved.
New code imports ``harness.api`` (or the new paths inside the core)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings

#: Old path -> new path (round 3's regrouping; drop after one release).
MOVED = {
    "harness.atomic": "harness.store.atomic",
    "harness.home": "harness.store.home",
    "harness.results": "harness.store.records",
    "harness.checkpoints": "harness.run.checkpoints",
    "harness.runs": "harness.run.context",
    "harness.execute": "harness.run.execute",
    "harness.trainer": "harness.run.trainer",
    "harness.crossval": "harness.run.crossval",
    "harness.ensembles": "harness.run.ensembles",
    "harness.averaging": "harness.run.averaging",
    "harness.rescore": "harness.run.rescore",
    "harness.hookspecs": "harness.plugin.hookspecs",
    "harness.plugins": "harness.plugin.manager",
    "harness.registry": "harness.plugin.registry",
    "harness.host": "harness.plugin.host",
    "harness.nlb_task": "harness.tasks.nlb.task",
    "harness.cosmoothing_plan": "harness.tasks.nlb.plan",
    "harness.predict": "harness.tasks.nlb.predict",
    "harness.views": "harness.tasks.nlb.views",
    "harness.metrics": "harness.tasks.nlb.metrics",
    "harness.fewshot": "harness.tasks.nlb.fewshot",
    "harness.sample_validation": "harness.tasks.nlb.sample_validation",
    "harness.submission": "harness.tasks.nlb.submission",
    "harness.report": "harness.tasks.nlb.report",
    "harness.folds": "harness.tasks.nlb.folds",
    "harness.cache": "harness.tasks.nlb.cache",
    "harness.encoding_task": "harness.tasks.encoding.task",
    "harness.encoding_train": "harness.tasks.encoding.train",
    "harness.encoding_folds": "harness.tasks.encoding.folds",
    "harness.encoding_io": "harness.tasks.encoding.io",
    "harness.encoding_metrics": "harness.tasks.encoding.metrics",
    "harness.testing_encoding": "harness.testing.encoding",
    "harness.search_study": "harness.search.study",
    "harness.search_space": "harness.search.space",
    "harness.search_spec": "harness.search.spec",
    "harness.site": "harness.leaderboard.site",
    "harness.compare": "harness.leaderboard.compare",
    "harness.commands": "harness.cli.commands",
    "harness.cli.registry": "harness.plugin.commands",
}


class _Alias(types.ModuleType):
    """Stands at an old path; every attribute comes from the module that moved."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(old, f"moved to {new}")
        self.__moved_to__ = new

    def _target(self) -> types.ModuleType:
        return importlib.import_module(self.__moved_to__)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(self._target(), name)

    def __dir__(self) -> list[str]:
        return dir(self._target())


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=False)

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new} (or use harness.api); the old path goes in the next release", DeprecationWarning, stacklevel=3)
        return _Alias(spec.name, new)

    def exec_module(self, module) -> None:
        module._target()  # an import error of the new module shows at the import, as before


def install() -> None:
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
