"""Registers the ``cd`` and ``autoencode`` objectives. Light on purpose: no torch import until built."""

from __future__ import annotations

from harness.api import hookimpl

#: Every setting of ``cd``; a run's ``objective_config`` may override it.
CD_DEFAULTS = {
    "cd_rate": 0.3,  # share of observed held-in entries dropped from the input and scored, in (0, 1)
}


@hookimpl
def bench_register_objectives(register) -> None:
    register(
        "cd",
        "bench_cd.objective:build_cd",
        description="Coordinated dropout: random held-in entries dropped from the input; only they (and held-out, forward) are scored",
        defaults=CD_DEFAULTS,
        # lfads-torch's PBT range for the rate; a population-based search may change it mid-run
        search_space={"cd_rate": {"type": "float", "low": 0.05, "high": 0.7, "mutable": True}},
    )
    register(
        "autoencode",
        "bench_cd.objective:build_autoencode",
        description="Plain autoencoding (LFADS without CD): all held-in input, every entry scored",
    )
