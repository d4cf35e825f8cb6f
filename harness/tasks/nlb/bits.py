"""nlb_tools' bits per spike, the one figure both the scorer (harness.tasks.nlb.metrics) and
few-shot co-smoothing (harness.tasks.nlb.fewshot) compute: its own module, so that metrics imports
fewshot and neither imports the other back."""

from __future__ import annotations

import warnings

import numpy as np


def nlb_bits_per_spike(rates: np.ndarray, spikes: np.ndarray) -> float:
    """nlb's bits per spike; NaN spikes are not scored. Copies, because nlb edits rates in place."""
    from nlb_tools.evaluation import bits_per_spike

    rates = np.array(rates, dtype=np.float64)
    spikes = np.array(spikes, dtype=np.float64)
    with warnings.catch_warnings():
        # A unit whose entries are all unscored has a NaN null rate; nlb drops those entries anyway.
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        return float(bits_per_spike(rates, spikes))
