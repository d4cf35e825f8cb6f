"""Run records grouped into boards and rows, before anything is ranked or formatted.

A board is one dataset (one name and data checksum); a row one model x objective [x ensembler]
[x K folds] [x configuration variant] on it, holding the newest record of each seed. The fold
runs a K-fold record pools are kept beside the rows (named, copied, never rows of their own).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.store.records import LEGACY_TASK, record_task


@dataclass
class Row:
    """One model x objective x ensembler on one dataset: its newest record for each seed."""

    model: str
    objective: str | None
    ensembler: str | None
    #: K of a cross-validated row (its records pool K fold runs); None for single-split runs.
    folds: int | None = None
    #: The runs' spec label (e.g. "tuned") or their search trial ("trial 7"): another configuration
    #: of the same model x objective, so a row of its own. None for the plain runs.
    variant: str | None = None
    by_seed: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: Older records of a seed that a newer one replaced: named in the table, not counted.
    superseded: list[dict[str, Any]] = field(default_factory=list)
    #: The record metric the row is ranked by, and the one scored on val (its task's).
    primary: str = LEGACY_TASK["primary_metric"]
    validation: str = LEGACY_TASK["validation_metric"]

    @property
    def label(self) -> str:
        label = " × ".join(part for part in (self.model_name, self.objective, self.ensembler) if part)
        return f"{label} ({self.folds}-fold)" if self.folds else label

    @property
    def model_name(self) -> str:
        """The model column: the model, and the configuration's variant when it has one."""
        return f"{self.model} [{self.variant}]" if self.variant else self.model

    def spread(self, metric: str) -> float | None:
        """A K-fold row's sd over folds (mean over seeds); else the sd over seeds (None for one)."""
        if self.folds:
            spreads = [record["folds"]["spread"].get(metric) for record in self.records]
            known = [value for value in spreads if value is not None]
            return statistics.fmean(known) if known else None
        values = self.values(metric)
        return statistics.stdev(values) if len(values) > 1 else None

    @property
    def records(self) -> list[dict[str, Any]]:
        return [self.by_seed[seed] for seed in sorted(self.by_seed)]

    def values(self, metric: str) -> list[float]:
        found = (record["metrics"].get(metric) for record in self.records)
        return [entry["value"] for entry in found if entry is not None and entry["value"] is not None]

    def mean(self, metric: str) -> float | None:
        values = self.values(metric)
        return statistics.fmean(values) if values else None


@dataclass
class Board:
    """Everything on one dataset's leaderboard (one dataset name and data checksum)."""

    key: str
    name: str
    checksum: str
    bin_size_ms: int | None  # None: the records name no bin size (a task whose data is not binned)
    rows: list[Row]
    #: The fold runs pooled by the K-fold rows, by run id: named and copied, not rows of their own.
    fold_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The task its records posed (harness.store.records.record_task): what it ranks by.
    task: dict[str, str] = field(default_factory=lambda: dict(LEGACY_TASK))

    @property
    def primary(self) -> str:
        """The metric the board ranks and plots by (its task's primary metric)."""
        return self.task["primary_metric"]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records counted in the table."""
        return [record for row in self.rows for record in row.records]

    @property
    def all_records(self) -> list[dict[str, Any]]:
        """Every record the table names, superseded ones and fold runs included."""
        superseded = [record for row in self.rows for record in row.superseded]
        return self.records + superseded + [self.fold_runs[run_id] for run_id in sorted(self.fold_runs)]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "dataset"


def fold_run_ids(record: dict[str, Any]) -> list[str]:
    """The run ids of the fold runs a K-fold record pools, in fold order (empty for other records)."""
    return list(record.get("folds", {}).get("members", []))


def boards_from_records(records: Sequence[dict[str, Any]]) -> list[Board]:
    """Group records (oldest first) by dataset and data checksum, then by row and seed."""
    by_dataset: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        dataset = record["dataset"]
        by_dataset.setdefault((dataset["name"], dataset["checksum"]), []).append(record)
    checksums_per_name: dict[str, int] = {}
    for name, _ in by_dataset:
        checksums_per_name[name] = checksums_per_name.get(name, 0) + 1

    boards = []
    for (name, checksum), dataset_records in sorted(by_dataset.items()):
        rows: dict[tuple, Row] = {}
        fold_runs = {}
        for record in dataset_records:
            if record["spec"].get("fold") is not None:  # one fold of a K-fold result: shown through it
                fold_runs[record["run_id"]] = record
                continue
            # ensembles of the same runs combined differently ("mean", "mean top=3") are rows of their own
            ensembler = (record["spec"].get("label") or record["ensembler"]) if combines_runs(record) else None
            key = (record["model"], record["objective"], ensembler, record.get("folds", {}).get("k"), row_variant(record))
            task = record_task(record)
            row = rows.setdefault(key, Row(*key, primary=task["primary_metric"], validation=task["validation_metric"]))
            previous = row.by_seed.get(record["seed"])
            if previous is not None:
                row.superseded.append(previous)
            row.by_seed[record["seed"]] = record  # records come oldest first: the newest wins
        key = _slug(name) if checksums_per_name[name] == 1 else f"{_slug(name)}-{checksum[:8]}"
        bin_size = dataset_records[-1]["dataset"].get("bin_size_ms")
        boards.append(Board(key, name, checksum, bin_size, list(rows.values()), fold_runs, record_task(dataset_records[-1])))
    return boards


def combines_runs(record: dict[str, Any]) -> bool:
    """Whether a record is an ensemble of runs (its spec lists its members). A K-fold result of
    one spec names its fold ensembler as its ``ensembler`` too, but that makes only its eval
    predictions, not the pooled scores a board ranks: it is that spec's system, not an ensemble."""
    return bool(record["ensembler"]) and not (record.get("folds") and "members" not in record["spec"])


def row_variant(record: dict[str, Any]) -> str | None:
    """What sets a run's configuration apart on the board: its spec label, or the search trial
    that made it (each trial samples its own configuration), then its few-shot trial count
    (``train.max_train_trials``) and the run it was fine-tuned from (``--init-from``). None for an
    ensemble, whose label names its ensembler column instead."""
    spec = record["spec"]
    if combines_runs(record):
        return None
    parts = []
    if spec.get("label"):
        parts.append(str(spec["label"]))
    elif spec.get("search_trial") is not None:
        parts.append(f"trial {spec['search_trial']}")
    # a few-shot or fine-tuning run is another system than the plain one (and than each other)
    few = (spec.get("train") or {}).get("max_train_trials")
    if few:
        parts.append(f"{few} trials")
    if record.get("pretrained"):
        parts.append(f"from {record['pretrained']['run_id']}")
    return ", ".join(parts) or None
