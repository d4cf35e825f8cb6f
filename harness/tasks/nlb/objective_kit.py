"""What NLB co-smoothing objectives that hide held-in entries share, in one place for plugins.

An objective of this kind differs only in which held-in entries a training batch hides and how
it corrupts them (``training_batch``). The rest is the same for all of them: one prompt id, the
masked Poisson loss on what the batch scores, the co-smoothing view for inference (every observed
held-in spike visible) and NLB's eval masks (co-smoothing, and forward where the data has forward
bins). Plugins import it as ``harness.api.CosmoothingObjective``; it imports torch.
"""

from __future__ import annotations

import torch

from harness.contracts import Batch, DatasetTensors, MaskedBatch
from harness.tasks.nlb.views import cosmoothing_view, masked_poisson_nll, nlb_eval_masks, nlb_eval_view


class CosmoothingObjective:
    """Base of an NLB objective: subclasses add ``training_batch(batch, generator)``.

    ``owner`` names the objective in the error for an eval mask it does not report (default:
    the class name).
    """

    n_prompts = 1
    owner = ""

    def __init__(self, data: DatasetTensors):
        self.eval_masks = nlb_eval_masks(data.n_forward)

    def loss(self, log_rates: torch.Tensor, masked: MaskedBatch) -> torch.Tensor:
        return masked_poisson_nll(log_rates, masked.targets, masked.loss_mask)

    def inference_batch(self, batch: Batch) -> MaskedBatch:
        return cosmoothing_view(batch)

    def eval_batch(self, batch: Batch, mask: str) -> MaskedBatch:
        return nlb_eval_view(batch, mask, self.eval_masks, self.owner or type(self).__name__)
