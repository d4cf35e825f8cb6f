"""Multi-task masking (MtM; Zhang et al. 2024, "Towards a universal translator for neural
dynamics at single-cell, single-spike resolution") as a bench objective, for any rate model.

Each training batch draws one masking scheme uniformly from the active ones and tells the model
which through its prompt id (the scheme's position in ``masks``). As in MtM's masker, a unit or
bin is hidden with probability ``mask_ratio`` and hidden entries are zeroed (or randomised, see
``zero_ratio`` / ``random_ratio``):

- ``neuron``: a random subset of held-in units is hidden in every bin (co-smoothing);
- ``causal``: the future is hidden: every bin from a per-trial cut to the end (forward prediction).
  MtM hides random bins of a causally-attending model; a model here knows nothing of masking,
  so the objective hides the future itself;
- ``intra-region``: one region is drawn; every other region is hidden, and so is a random subset
  of the drawn region, which is scored (predict a region from itself);
- ``inter-region``: one region is drawn and hidden entirely, and scored (predict a region from
  the others).

The held-out units are never input and, with the forward bins, are scored under every scheme, as
NDT does for co-smoothing, so their readout learns from every batch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from harness.api import Batch, DatasetTensors, MaskedBatch, cosmoothing_view, hide_forward, masked_poisson_nll

log = logging.getLogger(__name__)

SCHEMES = ("neuron", "causal", "intra-region", "inter-region")
REGION_SCHEMES = ("intra-region", "inter-region")


def replace_hidden(spikes: torch.Tensor, hidden: torch.Tensor, zero_ratio: float, random_ratio: float, generator: torch.Generator) -> torch.Tensor:
    """MtM's corruption: of the hidden entries a share is zeroed, a share of the rest gets random
    counts (0 .. the batch's largest count), the remainder keeps its true value."""
    draw = torch.rand((2, *spikes.shape), generator=generator).to(spikes.device)
    zeroed = hidden & (draw[0] < zero_ratio)
    randomised = hidden & ~zeroed & (draw[1] < random_ratio)
    top = int(spikes.max().item()) if spikes.numel() else 0
    noise = torch.randint(0, top + 1, spikes.shape, generator=generator).to(spikes.device, spikes.dtype)
    return torch.where(randomised, noise, spikes.masked_fill(zeroed, 0.0))


def active_schemes(masks: Sequence[str], regions: Sequence[str]) -> tuple[str, ...]:
    """The configured schemes this dataset supports: region schemes need two regions or more."""
    unknown = [m for m in masks if m not in SCHEMES]
    if unknown or not masks or len(set(masks)) != len(masks):
        raise ValueError(f"mtm: masks must be distinct names from {', '.join(SCHEMES)}, got {list(masks)}")
    if len(regions) < 2:
        skipped = [m for m in masks if m in REGION_SCHEMES]
        if skipped:
            log.info("mtm: the dataset has %d region label(s) (%s); skipping %s", len(regions), ", ".join(regions) or "none", ", ".join(skipped))
        masks = [m for m in masks if m not in REGION_SCHEMES]
    if not masks:
        raise ValueError("mtm: no masking scheme left: region masks need held-in units from two regions or more")
    return tuple(masks)


class MultiTaskMasking:
    """The ``mtm`` objective; ``n_prompts`` is the number of active schemes."""

    def __init__(self, data: DatasetTensors, config: Mapping[str, Any]):
        for key in ("mask_ratio", "zero_ratio", "random_ratio"):
            if not 0.0 <= float(config[key]) <= 1.0:
                raise ValueError(f"mtm: {key} must be in [0, 1], got {config[key]!r}")
        if len(data.heldin_regions) != data.n_heldin:
            raise ValueError(f"mtm: {len(data.heldin_regions)} region labels for {data.n_heldin} held-in units")
        self.mask_ratio = float(config["mask_ratio"])
        self.zero_ratio = float(config["zero_ratio"])
        self.random_ratio = float(config["random_ratio"])
        self.regions = data.regions
        self.n_forward = data.n_forward
        self.masks = active_schemes(list(config["masks"]), self.regions)
        self.n_prompts = len(self.masks)
        labels = list(data.heldin_regions)
        # (R, I) bool: which held-in units each region owns.
        self.region_units = torch.tensor([[label == region for label in labels] for region in self.regions], dtype=torch.bool)
        self.eval_subsets = self._eval_subsets(int(config["eval_seed"]))
        self.eval_masks = self._eval_mask_names()

    # -- prompts and evaluation names ----------------------------------------------------------
    def prompt_id(self, scheme: str) -> int:
        return self.masks.index(scheme)

    def _eval_mask_names(self) -> tuple[str, ...]:
        names = []
        for scheme in self.masks:
            if scheme in REGION_SCHEMES:
                names.extend(f"{scheme}:{region}" for region in self.regions)
            elif scheme == "causal" and not self.n_forward:
                log.info("mtm: the dataset has no forward bins; causal masking is trained but not scored")
            else:
                names.append(scheme)
        return tuple(names)

    def _eval_subsets(self, seed: int) -> torch.Tensor:
        """(R, I) bool: the fixed units of each region that intra-region evaluation hides."""
        generator = torch.Generator().manual_seed(seed)
        draw = torch.rand(self.region_units.shape[1], generator=generator)
        subsets = torch.zeros_like(self.region_units)
        for r, members in enumerate(self.region_units):
            index = members.nonzero().flatten()
            n_hidden = max(1, round(self.mask_ratio * len(index)))
            subsets[r, index[draw[index].argsort()[:n_hidden]]] = True
        return subsets

    # -- masks -------------------------------------------------------------------------------
    def hidden_and_scored(self, scheme: str, n_trials: int, n_bins: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Bool (B, T, I) held-in entries hidden from the model, and those scored, on the CPU."""
        n_units = self.region_units.shape[1]
        if scheme == "neuron":
            units = torch.rand(n_trials, n_units, generator=generator) < self.mask_ratio
            hidden = units[:, None, :].expand(n_trials, n_bins, n_units)
            return hidden, hidden
        if scheme == "causal":
            # A cut in the last 2 * mask_ratio of bins, so on average mask_ratio of them are hidden.
            longest = max(1, round(2 * self.mask_ratio * n_bins))
            cut = n_bins - torch.randint(1, longest + 1, (n_trials,), generator=generator)
            hidden = (torch.arange(n_bins)[None, :] >= cut[:, None])[:, :, None].expand(n_trials, n_bins, n_units)
            return hidden, hidden
        region = self.region_units[int(torch.randint(len(self.regions), (1,), generator=generator))]
        if scheme == "inter-region":
            hidden = region[None, None, :].expand(n_trials, n_bins, n_units)
            return hidden, hidden
        # intra-region: everything outside the region is hidden, a random part of it is scored.
        within = (torch.rand(n_trials, n_units, generator=generator) < self.mask_ratio) & region
        scored = within[:, None, :].expand(n_trials, n_bins, n_units)
        return scored | ~region[None, None, :], scored

    def eval_hidden_and_scored(self, mask: str, n_trials: int, n_bins: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The deterministic version of each scheme; forward bins are handled by the caller."""
        n_units = self.region_units.shape[1]
        nothing = torch.zeros(n_trials, n_bins, n_units, dtype=torch.bool)
        if mask in ("neuron", "causal"):  # NLB's co-smoothing and forward-prediction settings
            return nothing, nothing
        scheme, _, region_name = mask.partition(":")
        region = self.region_units[self.regions.index(region_name)]
        if scheme == "inter-region":
            hidden = region[None, None, :].expand_as(nothing)
            return hidden, hidden
        subset = self.eval_subsets[self.regions.index(region_name)]
        scored = subset[None, None, :].expand_as(nothing)
        return scored | ~region[None, None, :], scored

    # -- the Objective contract --------------------------------------------------------------
    def _masked(self, batch: Batch, scheme: str, hidden: torch.Tensor, scored: torch.Tensor, visible: torch.Tensor, always: bool) -> MaskedBatch:
        n_trials, n_bins, n_heldin = batch.heldin.shape
        device = batch.heldin.device
        loss_mask = cosmoothing_view(batch).loss_mask if always else torch.zeros_like(batch.targets(), dtype=torch.bool)
        loss_mask[:, :n_bins, :n_heldin] = scored.to(device)
        return MaskedBatch(
            inputs=hide_forward(visible, batch.heldin_forward.shape[1]),
            prompt=torch.full((n_trials,), self.prompt_id(scheme), dtype=torch.long, device=device),
            targets=batch.targets(),
            loss_mask=loss_mask,
        )

    def training_batch(self, batch: Batch, generator: torch.Generator) -> MaskedBatch:
        scheme = self.masks[int(torch.randint(len(self.masks), (1,), generator=generator))]
        n_trials, n_bins, _ = batch.heldin.shape
        hidden, scored = self.hidden_and_scored(scheme, n_trials, n_bins, generator)
        visible = replace_hidden(batch.heldin, hidden.to(batch.heldin.device), self.zero_ratio, self.random_ratio, generator)
        return self._masked(batch, scheme, hidden, scored, visible, always=True)

    def loss(self, log_rates: torch.Tensor, masked: MaskedBatch) -> torch.Tensor:
        return masked_poisson_nll(log_rates, masked.targets, masked.loss_mask)

    def inference_batch(self, batch: Batch) -> MaskedBatch:
        """NLB's co-smoothing view under the neuron prompt: predicting held-out units from all
        held-in ones is neuron masking with the held-out units as the hidden neurons."""
        prompt = self.prompt_id("neuron") if "neuron" in self.masks else 0
        return cosmoothing_view(batch, prompt_id=prompt)

    def eval_batch(self, batch: Batch, mask: str) -> MaskedBatch:
        """Scores one scheme on fixed masks: ``neuron``: held-out units over observed bins
        (co-bps); ``causal``: every unit over the forward bins (fp-bps); ``inter-region:R`` /
        ``intra-region:R``: region R's hidden held-in units over observed bins."""
        if mask not in self.eval_masks:
            raise KeyError(f"mtm has no eval mask {mask!r}; it has {', '.join(self.eval_masks)}")
        scheme = mask.partition(":")[0]
        n_trials, n_bins, n_heldin = batch.heldin.shape
        hidden, scored = self.eval_hidden_and_scored(mask, n_trials, n_bins)
        visible = batch.heldin.masked_fill(hidden.to(batch.heldin.device), 0.0)
        masked = self._masked(batch, scheme, hidden, scored, visible, always=False)
        if scheme == "neuron":
            masked.loss_mask[:, :n_bins, n_heldin:] = True
        elif scheme == "causal":
            masked.loss_mask[:, n_bins:, :] = True
        return masked


def build(data: DatasetTensors, config: Mapping[str, Any]) -> MultiTaskMasking:
    """The registered factory."""
    return MultiTaskMasking(data, config)
