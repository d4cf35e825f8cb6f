"""Registers the ``mean`` ensembler. Light on purpose: numpy is imported only when it is built."""

from __future__ import annotations

from harness.api import hookimpl

#: Every setting of the ensembler; ``bench ensemble --set key=value`` overrides them.
DEFAULTS = {
    "top": 0,  # keep the N candidates with the best val co-bps; 0 keeps them all
}


@hookimpl
def bench_register_ensemblers(register) -> None:
    register(
        "mean",
        "bench_ensemble.mean:build",
        description="mean of the candidates' predictions (optionally the top N by val co-bps, NLB only)",
        defaults=DEFAULTS,
        # averaging is task-neutral; ranking by val co-bps (top > 0) is NLB co-smoothing's alone
        tasks=("nlb_cosmoothing", "video_encoding"),
    )
