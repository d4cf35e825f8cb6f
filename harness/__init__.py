"""bench-harness: a plugin-based benchmark harness for latent variable models of neural spiking.

The public API for plugins lives here and in the modules it names; importing it stays light
(no torch) so that plugin discovery and ``bench --help`` are fast.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "bench"
ENTRY_POINT_GROUP = "bench"

#: Marker for plugin hook implementations: ``@hookimpl def bench_register_models(register): ...``
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["ENTRY_POINT_GROUP", "PROJECT_NAME", "__version__", "hookimpl"]
