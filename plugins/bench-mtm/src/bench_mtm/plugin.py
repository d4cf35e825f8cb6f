"""Registers the ``mtm`` objective. Light on purpose: no torch import until it is built."""

from __future__ import annotations

from harness.api import hookimpl

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


#: What ``bench tune`` samples: which tasks are drawn (lists, stored by Optuna as JSON text;
#: region schemes are skipped on one-region data, so the first two choices coincide there), how
#: much is hidden, and how hidden entries are corrupted (random counts only for entries not zeroed).
SEARCH_SPACE = {
    "masks": {
        "type": "categorical",
        "choices": [["neuron", "causal", "intra-region", "inter-region"], ["neuron", "causal"], ["neuron"]],
    },
    "mask_ratio": {"type": "float", "low": 0.1, "high": 0.7},
    "zero_ratio": {"type": "float", "low": 0.5, "high": 1.0},
    "random_ratio": {"type": "float", "low": 0.0, "high": 0.5},
}


@hookimpl
def bench_register_objectives(register) -> None:
    register(
        "mtm",
        "bench_mtm.objective:build",
        description="Multi-task masking (MtM): neuron, causal, intra- and inter-region masks behind a prompt",
        defaults=DEFAULTS,
        search_space=SEARCH_SPACE,
    )
