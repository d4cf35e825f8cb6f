"""Registers the ``stacking`` and ``per-neuron`` ensemblers. Light on purpose: numpy, scipy and
scikit-learn are imported only when an ensembler is built."""

from __future__ import annotations

from harness.api import hookimpl

#: Penalty strengths the inner cross-validation chooses from. They multiply a loss normalised per
#: unit (per spike for the Poisson fit, per unit mean count for least squares), so one grid suits
#: quiet and busy units alike; 100 holds a Poisson fit at its prior, the plain mean.
ALPHAS = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]

#: Every setting of ``stacking``; ``bench ensemble --set key=value`` overrides them.
STACKING_DEFAULTS = {
    "fit": "poisson",  # "poisson": Poisson likelihood, shrunk to the mean (scipy L-BFGS-B); "least-squares": sklearn, shrunk to 0
    "space": "log-rates",  # combine "log-rates" (log link) or "rates" (identity link); least squares needs rates
    "penalty": "ridge",  # "ridge", "lasso" or "elastic-net" on the non-negative weights
    "l1_ratio": 0.5,  # elastic-net only: the share of the L1 term
    "alphas": ALPHAS,
    "inner_folds": 3,  # inner cross-validation over the fitting trials chooses the strength
    "tune": "shared",  # "shared": one strength for every unit; "per-unit": each unit its own
}

PER_NEURON_DEFAULTS = {
    "top": 2,  # per held-out unit, the mean of the k candidates with the best val bits per spike on it
}


@hookimpl
def bench_register_ensemblers(register) -> None:
    register(
        "stacking",
        "bench_stacking.stacking:build",
        description="per held-out unit, non-negative penalised weights on the candidates (strength by inner CV)",
        defaults=STACKING_DEFAULTS,
    )
    register(
        "per-neuron",
        "bench_stacking.per_neuron:build",
        description="per held-out unit, the mean of the top-k candidates on that unit's val spikes",
        defaults=PER_NEURON_DEFAULTS,
    )
