"""Registers the ``mean`` ensembler. Light on purpose: numpy is imported only when it is built."""

from __future__ import annotations

from harness import hookimpl

#: Every setting of the ensembler; ``bench ensemble --set key=value`` overrides them.
DEFAULTS = {
    "top": 0,  # keep the N candidates with the best val co-bps; 0 keeps them all
}


@hookimpl
def bench_register_ensemblers(register) -> None:
    register(
        "mean",
        "bench_ensemble.mean:build",
        description="mean of the candidates' rates (optionally the top N by val co-bps)",
        defaults=DEFAULTS,
    )
