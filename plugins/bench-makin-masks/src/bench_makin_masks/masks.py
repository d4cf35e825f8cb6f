"""The geometry of the Makin lab's mask variants: which held-in entries (bins x units) a trial hides.

The lab's released code hides single entries at random ("dot": its coordinated-dropout mask).
Its search table also names five variants, "dot line", "dot strip line", "strip line", "dot L" and
"strip L", without defining them anywhere public. We read each name as a shape drawn with a
pen style, as line styles are named in drawing tools:

* shape "line": a segment of ``length`` entries along one axis: one unit over consecutive bins
  (``line_axis: time``) or one bin over consecutive units (``line_axis: units``);
* shape "L": two such segments meeting at a corner, one along time and one along units, in one
  of four orientations;
* style "dot": every other entry of the segment (a dotted line); "strip": every entry (a solid
  stroke); "dot strip": a dot, a gap, a strip of ``strip_length`` entries, a gap, repeated
  (dash-dot).

Shapes are placed uniformly inside the trial, as many per trial as hide about ``mask_ratio`` of
its held-in entries (overlaps make the share a little smaller).
"""

from __future__ import annotations

import torch

#: Mode name -> (shape, pen style); "dot" alone is the lab's released single-entry mask.
VARIANTS = {
    "dot": ("dot", "dot"),
    "dot-line": ("line", "dot"),
    "dot-strip-line": ("line", "dot-strip"),
    "strip-line": ("line", "strip"),
    "dot-l": ("L", "dot"),
    "strip-l": ("L", "strip"),
}
MODES = tuple(VARIANTS)
AXES = ("time", "units")


def canonical_mode(mode: object) -> str | None:
    """``"dot strip line"``, ``"Dot_Strip_Line"`` and ``"dot-strip-line"`` are one mode; None if unknown."""
    if not isinstance(mode, str):
        return None
    name = "-".join(mode.strip().lower().replace("_", " ").replace("-", " ").split())
    return name if name in VARIANTS else None


def pen(style: str, length: int, strip_length: int) -> torch.Tensor:
    """Bool (length,): which entries along a segment the pen style hides."""
    position = torch.arange(length)
    if style == "dot":
        return position % 2 == 0
    if style == "strip":
        return torch.ones(length, dtype=torch.bool)
    period = strip_length + 3  # dot, gap, strip, gap
    phase = position % period
    return (phase == 0) | ((phase >= 2) & (phase < 2 + strip_length))


def shape_offsets(shape: str, style: str, length_time: int, length_units: int, axis: str, strip_length: int) -> torch.Tensor:
    """Long (N, 2): the (bin, unit) offsets a shape hides, from its corner at (0, 0)."""
    along_time = pen(style, length_time, strip_length).nonzero().flatten()
    along_units = pen(style, length_units, strip_length).nonzero().flatten()
    time_arm = torch.stack([along_time, torch.zeros_like(along_time)], dim=1)
    units_arm = torch.stack([torch.zeros_like(along_units), along_units], dim=1)
    if shape == "line":
        return time_arm if axis == "time" else units_arm
    return torch.unique(torch.cat([time_arm, units_arm]), dim=0)  # the corner is in both arms


def hidden_entries(
    mode: str,
    n_trials: int,
    n_bins: int,
    n_units: int,
    mask_ratio: float,
    generator: torch.Generator,
    *,
    length: int,
    strip_length: int,
    axis: str,
) -> torch.Tensor:
    """Bool (n_trials, n_bins, n_units) on the CPU: the held-in entries to hide and score."""
    shape, style = VARIANTS[mode]
    cells = n_bins * n_units
    if shape == "dot":  # the lab's mask: exactly round(ratio x entries) single entries over the batch
        hidden = torch.zeros(n_trials * cells, dtype=torch.bool)
        hidden[torch.randperm(n_trials * cells, generator=generator)[: round(mask_ratio * n_trials * cells)]] = True
        return hidden.view(n_trials, n_bins, n_units)
    offsets = shape_offsets(shape, style, min(length, n_bins), min(length, n_units), axis, strip_length)
    extent = offsets.max(dim=0).values + 1  # (bins, units) the shape spans
    per_trial = max(1, round(mask_ratio * cells / len(offsets)))
    draws = (n_trials, per_trial, 1)
    first_bin = torch.randint(0, n_bins - int(extent[0]) + 1, draws, generator=generator)
    first_unit = torch.randint(0, n_units - int(extent[1]) + 1, draws, generator=generator)
    flips = torch.rand((2, *draws), generator=generator) < 0.5  # mirror in time and/or units
    bins = torch.where(flips[0], extent[0] - 1 - offsets[:, 0], offsets[:, 0]) + first_bin
    units = torch.where(flips[1], extent[1] - 1 - offsets[:, 1], offsets[:, 1]) + first_unit
    hidden = torch.zeros(n_trials, cells, dtype=torch.bool)
    hidden.scatter_(1, (bins * n_units + units).view(n_trials, -1), True)
    return hidden.view(n_trials, n_bins, n_units)
