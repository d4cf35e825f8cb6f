"""Leaderboards generated from the results store, never edited by hand.

One board model, many renderings: grouping.py groups the records into boards and rows, board.py
computes each board's view once (ranking.py: one ranking and the preliminary rows; columns.py:
columns and notes; task.py: the board's task, asked for its metric order, baseline, directions
and definitions), and markdown.py, site.py (HTML), export.py (CSV, JSON) and plot.py lay the view
out; write.py's ``generate`` writes them all. compare.py is ``bench compare``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["SITE_FOLDER", "generate"]

_SUBMODULES = ("board", "columns", "compare", "export", "grouping", "markdown", "plot", "ranking", "site", "task", "write")


def __getattr__(name: str) -> Any:
    # loaded on first use: importing harness.leaderboard.compare need not load the renderers
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("generate", "report_figure", "views_from_records"):
        return getattr(importlib.import_module(f"{__name__}.write"), name)
    return getattr(importlib.import_module(f"{__name__}.board"), name)
