"""A thin layer that keeps nlb_tools 0.0.4 working on modern pandas, without forking it.

nlb_tools pins pandas<=1.3.4. Two things break on what we run:

* Since pandas 1.4, ``NWBDataset.load`` can return an unsorted time index (the outer join of the
  spike and behaviour frames is no longer sorted). ``make_trial_data`` then slices that index by
  time, the last trial silently disappears, and ``make_*_tensors`` fail with ``KeyError: 199``.
  Fix: sort the index right after loading.
* Under pandas 3 (copy-on-write) ``DataFrame.to_numpy()`` returns read-only views, and
  ``NWBDataset.resample`` sums spike bins in place (``np.nan_to_num(arr, copy=False)``).
  Fix: rebin the spike columns here on a writable copy, with the same rule as nlb_tools (sum of
  each ``factor`` consecutive bins, the last partial group summed too, a NaN row kept NaN), and
  hand only the continuous signals to nlb_tools' own resample (it decimates them with new arrays).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from nlb_tools.nwb_interface import NWBDataset


def rebin_spikes(counts: np.ndarray, factor: int) -> np.ndarray:
    """Sum ``factor`` consecutive rows; rows whose first fine bin is NaN stay NaN."""
    counts = np.array(counts, dtype=np.float64, copy=True)
    nan_rows = np.isnan(counts[::factor])
    filled = np.nan_to_num(counts)
    n_full = counts.shape[0] // factor
    summed = filled[: n_full * factor].reshape(n_full, factor, -1).sum(axis=1)
    if counts.shape[0] % factor:
        summed = np.vstack([summed, filled[n_full * factor :].sum(axis=0, keepdims=True)])
    summed[nan_rows] = np.nan
    return summed


class CompatNWBDataset(NWBDataset):
    """nlb_tools' NWBDataset with the two pandas fixes above; otherwise unchanged."""

    def load(self, fpath, split_heldout=True, skip_fields=[]):  # noqa: B006 - nlb_tools' signature
        data, trial_info, descriptions, bin_width = super().load(fpath, split_heldout=split_heldout, skip_fields=skip_fields)
        if not data.index.is_monotonic_increasing:
            data = data.sort_index()
        return data, trial_info, descriptions, bin_width

    def resample(self, target_bin):
        if target_bin == self.bin_width:
            return
        if target_bin % self.bin_width:
            raise ValueError(f"target bin {target_bin} ms is not a multiple of {self.bin_width} ms")
        factor = int(round(target_bin / self.bin_width))
        signal_types = list(self.data.columns.get_level_values(0).unique())
        spike_types = [name for name in signal_types if "spikes" in name]
        continuous_types = [name for name in signal_types if name not in spike_types]
        coarse_index = self.data.index[::factor]

        frames = {}
        for name in spike_types:
            part = self.data[name]
            rebinned = rebin_spikes(part.to_numpy(), factor).astype(part.dtypes.iloc[0])
            frames[name] = pd.DataFrame(rebinned, index=coarse_index, columns=pd.MultiIndex.from_product([[name], part.columns], names=("signal_type", "channel")))
        if continuous_types:
            spikes_kept = self.data
            self.data = self.data[continuous_types].copy()
            super().resample(target_bin)  # decimates continuous signals into fresh arrays
            for name in continuous_types:
                frames[name] = self.data[[name]]
            self.data = spikes_kept  # replaced below
        self.data = pd.concat([frames[name] for name in signal_types], axis=1)
        self.data.index.name = "clock_time"
        self.bin_width = target_bin
