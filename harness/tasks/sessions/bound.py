"""A session's view of a multi-session model: ``forward(spikes, prompt)`` of one session, so the
co-smoothing plan, predictions and scoring of one session run on it unchanged. Imports torch."""

from __future__ import annotations

import torch


class BoundSession(torch.nn.Module):
    """``model`` (a MultiSessionModel) answering for session ``index`` only."""

    def __init__(self, model: torch.nn.Module, index: int):
        super().__init__()
        self.model = model
        self.index = index

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        return self.model(spikes, prompt, session=self.index)
