"""A board's columns and notes: which metrics it shows in which order (a column that only
repeats another, or that no record could fill, is left out), where each table's values were
computed, how each metric was computed, and why values are missing, grouped by reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.leaderboard.grouping import Board, Row
from harness.leaderboard.task import registered_metric_order

#: Two columns whose values agree this closely in every record are one column shown twice.
REPEAT_TOLERANCE = 1e-6


def ordered_metrics(names: Iterable[str], order: Sequence[str] | None = None) -> list[str]:
    """Metric names in table order: ``order`` first (a task's ``metric_order``; by default every
    registered task's, in registration order), then the rest alphabetically."""
    order = registered_metric_order() if order is None else tuple(order)
    names = set(names)
    known = [name for name in order if name in names]
    return known + sorted(names - set(order))


def is_objective_metric(name: str) -> bool:
    """bps under an objective's own eval mask: comparable only between runs of that objective."""
    return name.startswith("bps[")


@dataclass
class Columns:
    """Which metrics a board shows, in which table, and which columns only repeat another."""

    main: list[str]
    objective: list[str]
    #: A metric left out because every record gives it the same value as the named one.
    repeats: dict[str, str]
    #: Metrics no record could compute: not shown as a column, their reasons are listed.
    empty: list[str] = field(default_factory=list)

    @property
    def shown(self) -> list[str]:
        return self.main + self.objective


def _repeats(metric: str, other: str, records: Sequence[dict[str, Any]]) -> bool:
    seen = False
    for record in records:
        entry = record["metrics"].get(metric)
        if entry is None or entry["value"] is None:
            continue
        twin = record["metrics"].get(other)
        if twin is None or twin["value"] is None or abs(twin["value"] - entry["value"]) > REPEAT_TOLERANCE * max(1.0, abs(entry["value"])):
            return False
        seen = True
    return seen


def board_columns(board: Board, order: Sequence[str] = ()) -> Columns:
    """The board's columns in ``order`` (its task's metric order), then alphabetically."""
    records = board.records
    shown: list[str] = []
    repeats: dict[str, str] = {}
    empty: list[str] = []
    for metric in ordered_metrics((name for record in records for name in record["metrics"]), order):
        if all(record["metrics"].get(metric, {}).get("value") is None for record in records):
            empty.append(metric)
            continue
        twin = next((other for other in shown if _repeats(metric, other, records)), None)
        if twin is None:
            shown.append(metric)
        else:
            repeats[metric] = twin
    return Columns(
        main=[m for m in shown if not is_objective_metric(m)],
        objective=[m for m in shown if is_objective_metric(m)],
        repeats=repeats,
        empty=empty,
    )


#: A reason shared by more rows than this names the first few and counts the rest.
LISTED_ROWS = 6


@dataclass(frozen=True)
class MissingValue:
    """A value a record could not compute, and why."""

    label: str
    metric: str
    seed: int
    reason: str
    #: "ranked" or "preliminary": the table its row is in
    table: str = "ranked"


@dataclass
class MetricNotes:
    """What the records say about each metric: how it was computed, and why a value is missing."""

    #: metric -> the distinct "on SPLIT (N trials): note" descriptions of its values
    computed: dict[str, list[str]]
    #: every value that could not be computed, in board order
    missing: list[MissingValue]
    #: (metric, table) -> how many records of that table report it (with a value or a reason)
    reported: dict[tuple[str, str], int] = field(default_factory=dict)

    def missing_by_reason(self) -> list[tuple[str, str, str]]:
        """(metric, reason, whose values) once per distinct reason, in board order: "all N runs"
        (of one table) where the reason holds for every record reporting the metric, else the rows
        and their seeds (the first few of many, and a count of the rest)."""
        grouped: dict[tuple[str, str], list[MissingValue]] = {}
        for value in self.missing:
            grouped.setdefault((value.metric, value.reason), []).append(value)
        lines = []
        for (metric, reason), values in grouped.items():
            tables = {value.table for value in values}
            everywhere = sum(count for (name, _), count in self.reported.items() if name == metric)
            if len(values) > 1 and len(values) == everywhere:
                whose = "both runs" if len(values) == 2 else f"all {len(values)} runs"
            elif len(values) > 1 and len(tables) == 1 and len(values) == self.reported.get((metric, *tables)):
                table = next(iter(tables))
                whose = f"both {table} runs" if len(values) == 2 else f"all {len(values)} {table} runs"
            else:
                seeds: dict[str, list[int]] = {}
                for value in values:
                    seeds.setdefault(value.label, []).append(value.seed)
                named = [f"{label} (seed{'s' if len(s) > 1 else ''} {', '.join(map(str, s))})" for label, s in seeds.items()]
                if len(named) > LISTED_ROWS:
                    named = named[: LISTED_ROWS - 1] + [f"{len(named) - LISTED_ROWS + 1} more rows"]
                whose = ", ".join(named)
            lines.append((metric, reason, whose))
        return lines


def metric_notes(
    tables: Mapping[str, Sequence[Row]], metrics: Sequence[str], note_of: Callable[[str, Mapping[str, Any]], str] | None = None
) -> MetricNotes:
    """The notes of ``metrics`` over the rows of each table ("ranked", "preliminary"), in board order;
    ``note_of(metric, entry)`` (a task's ``display_note``) reads a recorded note as the board shows it."""
    computed: dict[str, list[str]] = {}
    missing = []
    reported: dict[tuple[str, str], int] = {}
    for metric in metrics:
        seen = computed.setdefault(metric, [])
        for table, rows in tables.items():
            for row in rows:
                for record in row.records:
                    entry = record["metrics"].get(metric)
                    if entry is None:  # e.g. another objective's mask: shown as "—", nothing to explain
                        continue
                    reported[(metric, table)] = reported.get((metric, table), 0) + 1
                    note = entry["note"] if note_of is None else note_of(metric, entry)
                    if entry["value"] is None:
                        missing.append(MissingValue(row.label, metric, record["seed"], note or "no reason given", table))
                        continue
                    description = f"on {entry['split']} ({entry['n_trials']} trials)" + (f": {note}" if note else "")
                    if description not in seen:
                        seen.append(description)
    return MetricNotes(computed, missing, reported)


def metric_scope(rows: Sequence[Row], metric: str) -> str:
    """Where ``rows``' values of ``metric`` were computed: "val, 15 trials", "5-fold val, 75 trials",
    "val, 15 / 20 trials"; "" where none has a value."""
    trials: dict[str, set[int]] = {}
    for row in rows:
        for record in row.records:
            entry = record["metrics"].get(metric)
            if entry is not None and entry["value"] is not None:
                trials.setdefault(entry["split"], set()).add(entry["n_trials"])
    return "; ".join(f"{split}, {' / '.join(str(n) for n in sorted(counts))} trials" for split, counts in sorted(trials.items()))


@dataclass(frozen=True)
class AlikeEnsembles:
    """Metrics on which several ensembles of the same members have exactly the same values."""

    metrics: tuple[str, ...]
    rows: tuple[Row, ...]


def _members(row: Row) -> frozenset:
    return frozenset((record["seed"], tuple(sorted(record["spec"].get("members") or ()))) for record in row.records)


def alike_ensembles(rows: Sequence[Row], metrics: Sequence[str]) -> list[AlikeEnsembles]:
    """Ensemble rows of the same members (seed for seed) that give a metric exactly the same
    values: the ensemblers combine the members alike for what that metric reads (say they fit
    only some units and average the rest), so it does not tell them apart. Grouped by rows."""
    by_members: dict[frozenset, list[Row]] = {}
    for row in rows:
        if row.ensembler and not row.folds and all(record["spec"].get("members") for record in row.records):
            by_members.setdefault(_members(row), []).append(row)
    found: dict[tuple[int, ...], list[str]] = {}
    rows_of: dict[tuple[int, ...], tuple[Row, ...]] = {}
    for group in by_members.values():
        for metric in metrics:
            by_value: dict[tuple, list[Row]] = {}
            for row in group:
                values = tuple(round(value, 12) for value in row.values(metric))
                if values:
                    by_value.setdefault(values, []).append(row)
            alike = max(by_value.values(), key=len, default=[])
            if len(alike) > 1:
                key = tuple(id(row) for row in alike)
                found.setdefault(key, []).append(metric)
                rows_of[key] = tuple(alike)
    return [AlikeEnsembles(tuple(metrics_), rows_of[key]) for key, metrics_ in found.items()]
