"""The rich consoles the commands print to, made in one place.

A console is as wide as the terminal (or ``COLUMNS``; 80 when the output is piped), so tables
fold their cells to fit instead of wrapping every line at a fixed width; a line of text is left
whole (the terminal wraps it, and a pipe or grep sees it on one line). Commands make theirs
when they run, not at import, so ``COLUMNS`` set for one call (or one test) is honoured.
"""

from __future__ import annotations

from rich.console import Console

#: What ``--wide`` gives a table: room for every cell on one line, whatever the terminal.
WIDE_COLUMNS = 400


def make_console(*, stderr: bool = False, wide: bool = False) -> Console:
    """A console for one command's output; ``wide`` lets lines run past the terminal's width."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=WIDE_COLUMNS if wide else None)
