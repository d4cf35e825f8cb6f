"""How a board names and explains the co-smoothing task's less obvious record metrics.

Record metric names stay what old records use (``val_co_bps``); a board shows them by a label a
reader can take in (:data:`METRIC_LABELS`), with a one-line explanation as the header's tooltip
and in the board's list of terms (:func:`glossary`), and reads a few recorded notes anew where
their first wording misled (:func:`display_note`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: record metric -> the label a board shows
METRIC_LABELS = {"val_co_bps": "val co-bps", "val_co_bps (in-sample)": "val co-bps (in-sample)"}

_GLOSSARY = {
    "co-bps": "bits per spike of the held-out units' predicted rates (nlb_tools), above a null of each unit's mean rate",
    "fp-bps": "bits per spike of the forward-predicted bins after each trial, all units. An ensemble's fp-bps (and k-shot "
    "co-bps) reads its held-in and forward rates, which ensemblers that fit only the held-out units take as the members' mean",
    "vel R2": "R² of hand velocity decoded from the predicted rates by nlb_tools' ridge regression",
    "psth R2": "R² of the predicted rates' condition-averaged PSTHs against the smoothed spikes'",
    "val_co_bps": "co-bps on the val split as the trainer scored it during training",
    "val_co_bps (in-sample)": "an ensemble's val co-bps with the ensembler fitted and scored on the same val trials: optimistic; "
    "its co-bps column is the honest, cross-fitted figure",
    "co-bps (eval-size null)": "co-bps with null rates fitted on eval-sized groups of trials — the level to compare with a withheld "
    "eval score (a null fitted on all the pooled trials is a weaker baseline, so the plain pooled co-bps reads higher)",
}
_FEWSHOT = re.compile(r"^\d+-shot co-bps$")
_KFOLD_SPLIT = re.compile(r"^\d+-fold val$")


def glossary(metrics: Sequence[str]) -> dict[str, str]:
    """metric -> its one-line explanation, for the ``metrics`` that have one."""
    found = {metric: _GLOSSARY[metric] for metric in metrics if metric in _GLOSSARY}
    for metric in metrics:
        if _FEWSHOT.match(metric):
            found[metric] = (
                f"held-out units read out by a Poisson GLM fitted on {metric.split('-')[0]} train trials of the predicted "
                "held-in rates (see k-shot co-bps below)"
            )
    return found


KFOLD_FEWSHOT_NOTE = (
    "not computed for a K-fold row: a k-shot GLM is fitted on train trials and scored on others, and the pooled K-fold "
    "result scores every labelled trial, leaving no train trials apart (the single-split rows have it)"
)


def display_note(metric: str, entry: Mapping[str, Any]) -> str:
    """A recorded metric's note as a board shows it: a K-fold record's missing k-shot co-bps
    said "the train split has 0", which reads as if the dataset had no train trials."""
    note = entry.get("note") or ""
    if entry.get("value") is None and _FEWSHOT.match(metric) and _KFOLD_SPLIT.match(str(entry.get("split", ""))):
        return KFOLD_FEWSHOT_NOTE
    return note
