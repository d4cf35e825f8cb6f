"""Sample validation (Keshtkaran & Pandarinath 2019): a fixed, seeded share of the held-in entries
of the training trials is withheld from both the model's input and the loss, and the model's
reconstruction of exactly those entries (bits per spike) is a validation metric that a model
cannot win by passing its input through to its output.

It works with any objective and any model: after the objective builds a training batch the
trainer zeroes the withheld entries in the inputs (rescaling the kept held-in entries by
1 / (1 - share), so the input's expected sum is unchanged, as lfads-torch does) and removes them
from the loss mask. Imported by the trainer only (it imports torch).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from harness.contracts import Batch, DatasetTensors, MaskedBatch, Split
from harness.tasks.nlb.predict import make_batch
from harness.tasks.nlb.views import bits_per_spike


class SampleValidation:
    """The withheld entries (R, T, I) of a training pool, drawn once from ``seed``."""

    def __init__(self, share: float, n_trials: int, n_bins: int, n_heldin: int, seed: int):
        if not 0 < share < 1:
            raise ValueError(f"sample validation share must be in (0, 1), got {share}")
        # A stream of its own, so the withheld entries do not depend on (or shift) the trainer's draws.
        stream = int(np.random.SeedSequence([seed, 0x5A]).generate_state(1)[0])
        generator = torch.Generator().manual_seed(stream)
        self.share = share
        self.n_bins = n_bins
        self.withheld = torch.rand((n_trials, n_bins, n_heldin), generator=generator) < share

    def withhold(self, masked: MaskedBatch, index: np.ndarray) -> MaskedBatch:
        """Zero the withheld entries of the pool trials at ``index`` in the inputs, rescale the
        kept observed held-in entries, and take the withheld ones out of the loss (in place)."""
        T = self.n_bins
        withheld = self.withheld[torch.as_tensor(index)].to(masked.inputs.device)
        observed = masked.inputs[:, :T]
        kept = torch.where(withheld, torch.zeros_like(observed), observed / (1 - self.share))
        masked.inputs = torch.cat([kept, masked.inputs[:, T:]], dim=1)
        n_heldin = withheld.shape[2]
        masked.loss_mask[:, :T, :n_heldin] &= ~withheld
        return masked

    @torch.no_grad()
    def bps(
        self,
        model: torch.nn.Module,
        view: Callable[[Batch], MaskedBatch],
        pool: Split,
        data: DatasetTensors,
        device: str,
        size: int = 64,
    ) -> float:
        """Bits per spike on the withheld entries, the model seeing everything else ``view`` shows."""
        model.eval()
        T = self.n_bins
        pieces: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        for start in range(0, pool.n_trials, size):
            index = np.arange(start, min(start + size, pool.n_trials))
            batch = make_batch(pool, index, data, device)
            masked = self.withhold(view(batch), index)
            log_rates = model(masked.inputs, masked.prompt)
            n_heldin = batch.heldin.shape[2]
            withheld = self.withheld[torch.as_tensor(index)].to(device)
            pieces.append((log_rates[:, :T, :n_heldin], batch.heldin, withheld))
        log_rates, targets, withheld = (torch.cat(parts, dim=0) for parts in zip(*pieces))
        return bits_per_spike(log_rates, targets, withheld)
