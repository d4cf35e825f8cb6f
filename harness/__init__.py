"""bench-harness: a plugin-based benchmark harness for latent variable models of neural spiking.

The public API for plugins is ``harness.api`` (and the conformance kit, ``harness.testing``);
importing either stays light (no torch) so that plugin discovery and ``bench --help`` are fast.
The core is grouped by concern, generic code above the task packages it asks through ``Task``:

    cli/          the typer app and the built-in commands (cli/commands/)
    leaderboard/  one board model rendered as markdown, HTML and plots; compare
    search/       bench tune: search specs, spaces, Optuna studies, the trial worker
    run/          one run end to end: execute, trainer, checkpoints, folds, ensembles, rescore
    plugin/       hook specs, the plugin manager, registries, the typed Host facade
    store/        run records, atomic writes, BENCH_HOME
    tasks/        nlb/ (co-smoothing) and encoding/ (video -> responses): all that is one task's
    testing/      the conformance kit plugins reuse
    contracts.py  the stage contracts; specs.py run specs; errors.py
    notebook.py   run, results, board and compare for notebooks (``from harness import notebook``)
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "bench"
ENTRY_POINT_GROUP = "bench"

#: Marker for plugin hook implementations: ``@hookimpl def bench_register_models(register): ...``
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

from harness import _moved  # noqa: E402  (old module paths keep working for one release)

_moved.install()

__all__ = ["ENTRY_POINT_GROUP", "PROJECT_NAME", "__version__", "hookimpl"]
