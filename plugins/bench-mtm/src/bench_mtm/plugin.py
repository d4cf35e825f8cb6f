"""Registers the ``mtm`` objective. Light on purpose: no torch import until it is built."""

from __future__ import annotations

from harness import hookimpl

#: Every setting of the objective; a run's ``objective_config`` may override any of them.
DEFAULTS = {
    # The schemes drawn per batch; a scheme's position is its prompt id. Region schemes are
    # skipped (with a logged note) on datasets whose held-in units come from one region.
    "masks": ["neuron", "causal", "intra-region", "inter-region"],
    "mask_ratio": 0.5,  # share of units (or bins) hidden and scored; MtM used 0.3, 0.5 did a bit better here
    "zero_ratio": 1.0,  # of hidden entries, the share set to zero (MtM zeroes them all) ...
    "random_ratio": 0.0,  # ... of the rest, the share set to random counts
    "eval_seed": 0,  # picks the fixed units intra-region evaluation hides
}


@hookimpl
def bench_register_objectives(register) -> None:
    register(
        "mtm",
        "bench_mtm.objective:build",
        description="Multi-task masking (MtM): neuron, causal, intra- and inter-region masks behind a prompt",
        defaults=DEFAULTS,
    )
