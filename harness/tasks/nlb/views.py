"""Torch helpers every objective shares: the co-smoothing view and the masked Poisson loss.

Imported by objectives and the trainer only (it imports torch).
"""

from __future__ import annotations

import torch

from harness.contracts import Batch, MaskedBatch


def hide_forward(heldin: torch.Tensor, n_forward: int) -> torch.Tensor:
    """Held-in counts over observed bins, padded with zeros for the ``n_forward`` hidden bins."""
    batch, _, units = heldin.shape
    return torch.cat([heldin, heldin.new_zeros(batch, n_forward, units)], dim=1)


def cosmoothing_view(batch: Batch, prompt_id: int = 0) -> MaskedBatch:
    """All observed held-in spikes visible, held-out units and forward bins hidden and scored.

    This is the NLB setting every submission is scored in.
    """
    targets = batch.targets()
    n_bins, n_heldin = batch.heldin.shape[1], batch.heldin.shape[2]
    loss_mask = torch.ones_like(targets, dtype=torch.bool)
    loss_mask[:, :n_bins, :n_heldin] = False
    prompt = torch.full((targets.shape[0],), prompt_id, dtype=torch.long, device=targets.device)
    return MaskedBatch(
        inputs=hide_forward(batch.heldin, batch.heldin_forward.shape[1]),
        prompt=prompt,
        targets=targets,
        loss_mask=loss_mask,
    )


def masked_heldin_view(batch: Batch, visible_heldin: torch.Tensor, scored_heldin: torch.Tensor) -> MaskedBatch:
    """The training batch of a masked-modelling objective: ``visible_heldin`` (B, T, I) as the
    model's observed input (forward bins hidden), and the held-in entries where ``scored_heldin``
    is True scored beside what the co-smoothing view always scores (held-out units, forward bins)."""
    view = cosmoothing_view(batch)
    n_bins, n_heldin = batch.heldin.shape[1], batch.heldin.shape[2]
    view.loss_mask[:, :n_bins, :n_heldin] = scored_heldin
    view.inputs = hide_forward(visible_heldin, batch.heldin_forward.shape[1])
    return view


def masked_poisson_nll(log_rates: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean Poisson negative log-likelihood (without the log k! constant) over masked entries."""
    nll = torch.exp(log_rates) - targets * log_rates
    weight = mask.to(nll.dtype)
    return (nll * weight).sum() / weight.sum().clamp_min(1.0)


def bits_per_spike(log_rates: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> float:
    """Bits per spike over masked entries, against a per-unit mean-rate null (as nlb_tools).

    Used for the trainer's live validation; final metrics come from nlb_tools itself.
    """
    mask = mask.to(torch.bool)
    log_rates = log_rates.double()
    targets = targets.double()
    weight = mask.double()
    flat_w = weight.reshape(-1, weight.shape[-1])
    flat_t = targets.reshape(-1, targets.shape[-1])
    flat_r = log_rates.reshape(-1, log_rates.shape[-1])
    counts = flat_w.sum(0)
    null_rate = (flat_t * flat_w).sum(0) / counts.clamp_min(1.0)
    null_log = torch.log(null_rate.clamp_min(1e-9))
    nll_model = ((torch.exp(flat_r) - flat_t * flat_r) * flat_w).sum()
    nll_null = ((null_rate - flat_t * null_log) * flat_w).sum()
    spikes = (flat_t * flat_w).sum()
    if spikes <= 0:
        return float("nan")
    return float((nll_null - nll_model) / spikes / torch.log(torch.tensor(2.0, dtype=torch.float64)))


def nlb_eval_masks(n_forward: int) -> tuple[str, ...]:
    """The eval masks of an objective scored the NLB way: co-smoothing, and forward when the data
    has forward bins."""
    return ("co-smoothing", "forward") if n_forward else ("co-smoothing",)


def nlb_eval_view(batch: Batch, mask: str, eval_masks: tuple[str, ...], owner: str) -> MaskedBatch:
    """``co-smoothing``: held-out units over observed bins (NLB co-bps); ``forward``: every unit
    over the forward bins (NLB fp-bps). Both see all observed held-in spikes. ``owner`` names the
    objective in the error for a mask it does not report."""
    if mask not in eval_masks or mask not in ("co-smoothing", "forward"):
        raise KeyError(f"{owner} has no eval mask {mask!r}; it has {', '.join(eval_masks)}")
    view = cosmoothing_view(batch)
    n_bins, n_heldin = batch.heldin.shape[1], batch.heldin.shape[2]
    scored = torch.zeros_like(view.loss_mask)
    if mask == "co-smoothing":
        scored[:, :n_bins, n_heldin:] = True
    else:
        scored[:, n_bins:, :] = True
    view.loss_mask = scored
    return view
