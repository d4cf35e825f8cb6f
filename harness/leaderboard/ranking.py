"""One ranking per board: which rows are ranked and which are preliminary, which were cut short
by the wall-clock cap (listed, never ranked), their ranks by the primary metric, the rows within
noise of the one above, and ensembles that are a K-fold row's own fold models."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.leaderboard.grouping import Row, fold_run_ids
from harness.leaderboard.task import higher_is_better
from harness.store.schema import cut_short

#: The rank text of a row the wall-clock cap cut short: listed, not ranked.
CUT_SHORT_MARK = "cut short"


def cut_short_rows(rows: Sequence[Row], fold_runs: Mapping[str, Mapping[str, Any]]) -> dict[int, str]:
    """Rows (by id) with a record the wall-clock cap stopped before its update budget was spent
    (a K-fold record: one of its folds, ``fold_runs`` by run id), and why. Such a row stands
    for less training than its spec asks, by an amount that depends on the machine's load: it
    is listed with its scores but not ranked."""
    marked = {}
    for row in rows:
        reasons = [reason for record in row.records if (reason := cut_short(record, fold_runs))]
        if reasons:
            marked[id(row)] = "; ".join(dict.fromkeys(reasons)) if len(row.records) == 1 else f"{len(reasons)} of {len(row.records)} seeds " + "; ".join(dict.fromkeys(reasons))
    return marked


def ranked_folds(rows: Sequence[Row]) -> int | None:
    """The K a board ranks: the fold count of most of its K-fold rows (the larger on a tie), so
    that every ranked row is scored on the same seeded folds; None without K-fold rows."""
    counts = Counter(row.folds for row in rows if row.folds)
    return max(counts, key=lambda k: (counts[k], k)) if counts else None


#: Which rows a board ranks, said the same way on every board.
RANKED_ROWS_EXPLAINED = (
    "Where a dataset has K-fold rows only those on its folds (the K most of them pool) are ranked; its single-split "
    "rows, and K-fold rows on other folds, are listed below as preliminary, never ranked against them."
)


def ranked_and_preliminary(rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """The rows a board ranks, and its preliminary rows. Where a board has K-fold rows (scored on
    every labelled trial) only those on its :func:`ranked_folds` are ranked, so every ranked row
    holds out the same trials; its single-split rows (scored on one val split) and K-fold rows on
    other folds (a search's 3-fold trials beside 5-fold rows) are preliminary, never ranked
    against them: a score on 15 trials and a pooled score on 75 are not one scale, and pooled
    scores over folds of other sizes train on different numbers of trials. A board without K-fold
    rows ranks all its rows."""
    k = ranked_folds(rows)
    if k is not None:
        return [row for row in rows if row.folds == k], [row for row in rows if row.folds != k]
    return list(rows), []


def preliminary_heading(rows: Sequence[Row]) -> tuple[str, str]:
    """The preliminary table's heading and the sentence under it, after what its rows are."""
    if any(row.folds for row in rows):
        return (
            "Preliminary (one split, or other folds)",
            "Validated on the dataset's one val split, or cross-validated on other folds than the ranked rows "
            "(such as a search's trials): not ranked against them.",
        )
    return (
        "Preliminary (one split)",
        "Validated on the dataset's one val split, not cross-validated over every labelled trial like the K-fold "
        "rows above: not ranked against them.",
    )


def preliminary_order(rows: Sequence[Row], task: Any) -> list[Row]:
    """Preliminary rows in the order they are listed (never ranked): the task's baseline model
    first, then by the primary metric, best first; rows without a value last."""
    primary = rows[0].primary if rows else task.primary_metric
    higher = higher_is_better(primary, (r for row in rows for r in row.records), task)

    def order(row: Row) -> tuple:
        mean = row.mean(primary)
        return (row.model != task.baseline_model, mean is None, 0.0 if mean is None else (-mean if higher else mean), row.label)

    return sorted(rows, key=order)


def rank_rows(rows: Sequence[Row], task: Any) -> list[tuple[Row, int | None]]:
    """Rows in board order with their rank by the primary metric (one ranking: every row given is
    ranked against every other; None where a row has no value); the task's baseline model first."""
    primary = rows[0].primary if rows else task.primary_metric
    higher = higher_is_better(primary, (r for row in rows for r in row.records), task)

    def better(a: float, b: float) -> bool:
        return a > b if higher else a < b

    means = {id(row): row.mean(primary) for row in rows}
    known = [mean for mean in means.values() if mean is not None]
    ranks = {id(row): None if means[id(row)] is None else 1 + sum(better(other, means[id(row)]) for other in known) for row in rows}

    def order(row: Row) -> tuple:
        rank = ranks[id(row)]
        return (row.model != task.baseline_model, rank is None, rank or 0, row.label)

    return [(row, ranks[id(row)]) for row in sorted(rows, key=order)]


def same_fold_models(row: Row, kfold_rows: Sequence[Row]) -> Row | None:
    """The K-fold row whose fold models ``row`` (an ensemble) combines exactly, seed for seed:
    the same system scored on one split, not another one to rank. None for any other row."""
    if not row.ensembler or row.folds:
        return None
    for other in kfold_rows:
        folds_by_seed = {record["seed"]: set(fold_run_ids(record)) for record in other.records}
        if all(set(record["spec"].get("members", ())) == folds_by_seed.get(record["seed"]) != set() for record in row.records):
            return other
    return None


#: A paired difference below this many standard errors is noise.
NOISE_STANDARD_ERRORS = 2.0

#: What the mark "2 ≈ 1" means, said the same way on every board (each rendering writes the mark its way).
NOISE_MARK_EXPLAINED = (
    "the row ranked 2 is within noise of the row ranked 1. K-fold rows are paired fold by fold (the "
    f"same trials): within noise when their mean per-fold difference is under {NOISE_STANDARD_ERRORS:g} standard "
    "errors; rows that do not pair, when their difference is under the larger of their sds over seeds."
)


@dataclass(frozen=True)
class PairedDifference:
    """The per-fold differences of two K-fold rows scored on the same folds (``b - a``)."""

    mean: float
    #: The standard error of the mean difference over the paired folds.
    standard_error: float
    #: The number of paired folds (folds x shared seeds).
    n: int

    @property
    def within_noise(self) -> bool:
        return abs(self.mean) < NOISE_STANDARD_ERRORS * self.standard_error or self.mean == 0

    @property
    def standard_errors(self) -> float | None:
        return abs(self.mean) / self.standard_error if self.standard_error else None


def paired_difference(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]], metric: str) -> PairedDifference | None:
    """``metric``'s per-fold differences between two K-fold results (their records, one per
    seed), paired fold by fold: the same K, fold seed and dataset, so fold i holds the same
    trials on both sides and the trial-to-trial noise both share cancels. Seeds both sides have
    are paired; None when the records are not K-fold records of the same folds, or fewer than
    two folds pair."""
    by_seed = {record["seed"]: record for record in b}
    differences = []
    for record in a:
        other = by_seed.get(record["seed"])
        if other is None or "folds" not in record or "folds" not in other:
            continue
        folds, other_folds = record["folds"], other["folds"]
        if (folds["k"], folds["seed"], record["dataset"]["checksum"]) != (other_folds["k"], other_folds["seed"], other["dataset"]["checksum"]):
            return None
        values, other_values = folds["per_fold"].get(metric), other_folds["per_fold"].get(metric)
        if not values or not other_values or len(values) != len(other_values) or None in values or None in other_values:
            continue
        differences += [y - x for x, y in zip(values, other_values)]
    if len(differences) < 2:
        return None
    return PairedDifference(statistics.fmean(differences), statistics.stdev(differences) / math.sqrt(len(differences)), len(differences))


def within_noise(ranked: Sequence[tuple[Row, int | None]]) -> dict[int, Row]:
    """Rows (by id) whose primary score is within noise of the next better-ranked row's: that
    order is noise, not a ranking. Two K-fold rows share their seeded folds, so their noise is
    that of the paired per-fold differences: within noise when the mean difference is under
    :data:`NOISE_STANDARD_ERRORS` standard errors. Rows that do not pair (single-split seeds)
    fall back to a difference smaller than the larger of their two spreads. Rows without a
    spread (one seed on one split) are never marked: their noise is unknown, and their label
    says so."""
    scored = sorted((rank, index, row) for index, (row, rank) in enumerate(ranked) if rank is not None)
    marked = {}
    for (_, _, above), (_, _, row) in zip(scored, scored[1:]):
        primary = row.primary
        paired = paired_difference(above.records, row.records, primary) if above.folds and row.folds else None
        if paired is not None:
            if paired.within_noise:
                marked[id(row)] = above
            continue
        spreads = [s for s in (above.spread(primary), row.spread(primary)) if s is not None]
        if len(spreads) == 2 and abs(above.mean(primary) - row.mean(primary)) < max(spreads):
            marked[id(row)] = above
    return marked


def rank_label(row: Row, rank: int | None, ranked: Sequence[tuple[Row, int | None]], noisy: dict[int, Row], short: Mapping[int, str] | None = None) -> str:
    """The rank, with "≈ R" when the row is within noise of the row ranked R above it; "— cut
    short" for a row the wall-clock cap cut short (``short``: :func:`cut_short_rows`)."""
    if short and id(row) in short:
        return f"— {CUT_SHORT_MARK}"
    text = "—" if rank is None else str(rank)
    if id(row) in noisy:
        text += f" ≈ {dict((id(r), k) for r, k in ranked)[id(noisy[id(row)])]}"
    return text
