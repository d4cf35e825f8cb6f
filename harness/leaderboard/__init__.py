"""Leaderboards generated from the results store, never edited by hand: the board model
(board.py), its renderings as markdown and a static site (site.py), and ``bench compare``
(compare.py). ``generate`` writes them all."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib

    # not ``from harness.leaderboard import board``: that form asks this very __getattr__ for
    # ``board`` first, which recursed until Python gave up
    board = importlib.import_module("harness.leaderboard.board")
    return getattr(board, name)
