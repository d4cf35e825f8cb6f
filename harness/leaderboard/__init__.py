"""Leaderboards generated from the results store, never edited by hand.

One board model, many renderings: grouping.py groups the records into boards and rows, board.py
computes each board's view once (ranks, noise marks, columns, formatted cells, notes; asking the
board's task for its metric order, baseline, directions and definitions), and markdown.py,
site.py (HTML) and plot.py lay the view out; write.py's ``generate`` writes them all. compare.py
is ``bench compare``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["SITE_FOLDER", "generate"]

_SUBMODULES = ("board", "compare", "grouping", "markdown", "plot", "site", "write")


def __getattr__(name: str) -> Any:
    # loaded on first use: importing harness.leaderboard.compare need not load the renderers
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("generate", "report_figure", "views_from_records"):
        return getattr(importlib.import_module(f"{__name__}.write"), name)
    return getattr(importlib.import_module(f"{__name__}.board"), name)
