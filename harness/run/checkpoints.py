"""Checkpoints: plain dicts of tensors and numbers, written atomically, read with weights_only=True."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from harness.store.atomic import atomic_path
from harness.errors import BenchError


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` so that ``path`` always holds a complete checkpoint, old or new."""
    with atomic_path(path) as temporary:
        torch.save(state, temporary)


def load_checkpoint(path: Path, device: str = "cpu") -> dict[str, Any]:
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable checkpoint gets the same clear message
        raise BenchError(f"{path}: not a readable bench checkpoint ({type(error).__name__}: {error}); delete it to start over") from None


def rng_state() -> dict[str, Any]:
    """The global torch RNG states (dropout draws from them), so a resumed run continues alike."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
