"""``bench compare``: two runs, or two model x objective groups, side by side per metric.

Each side is a run (id, unique prefix or ``latest``) or a group ``MODEL[/OBJECTIVE[/ENSEMBLER]]``
(the newest record of each seed, as the leaderboards count them). Per metric: mean ± sd over
seeds on each side, the difference, and whether it stands out from the seed spread: the
difference is called noise when it is smaller than twice its standard error,
sqrt(sd_a²/n_a + sd_b²/n_b) (a single-seed side borrows the other side's sd). With one seed on
both sides there is no spread to judge by, and the verdict says so.

Two K-fold results of one dataset share their seeded folds, so they are compared fold by fold
instead: the mean of the paired per-fold differences ± its standard error over the folds, and
the same verdict on it (the board's "within noise" mark, :func:`harness.leaderboard.ranking.paired_difference`).
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.leaderboard.board import board_task, boards_from_records, default_host, ordered_metrics
from harness.leaderboard.ranking import NOISE_STANDARD_ERRORS, PairedDifference, paired_difference
from harness.store.records import find_record, read_records, record_task

__all__ = ["NOISE_STANDARD_ERRORS", "Side", "comparison_rows", "paired_verdict", "resolve", "verdict"]


@dataclass
class Side:
    label: str
    records: list[dict[str, Any]]

    def values(self, metric: str) -> list[float]:
        entries = (record["metrics"].get(metric) for record in self.records)
        return [entry["value"] for entry in entries if entry is not None and entry["value"] is not None]


def resolve(what: str, store: str | Path | None = None, dataset: str | None = None) -> Side:
    """A run id (or unique prefix, or 'latest'), else a MODEL[/OBJECTIVE[/ENSEMBLER]] group."""
    try:
        record = find_record(what, store)
    except BenchError:
        record = None
    if record is not None and (dataset is None or record["dataset"]["name"] == dataset):
        return Side(f"run {record['run_id']}", [record])
    parts = what.split("/")
    if len(parts) > 3:
        raise BenchError(f"'{what}' is neither a run id nor MODEL[/OBJECTIVE[/ENSEMBLER]]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = read_records(store)

    def matches(row) -> bool:
        named = (row.model, row.objective or "-", row.ensembler or "-")
        return named[: len(parts)] == tuple(parts)

    rows = [(board, row) for board in boards_from_records(records) if dataset is None or board.name == dataset for row in board.rows if matches(row)]
    if len(parts) < 3 and len(rows) > 1:  # ndt/mtm means the runs themselves, not their ensembles
        rows = [(board, row) for board, row in rows if row.ensembler is None] or rows
        rows = [(board, row) for board, row in rows if row.variant is None] or rows  # and the plain configuration
    if not rows:
        raise BenchError(f"no run or group '{what}'" + (f" on dataset {dataset}" if dataset else "") + " (bench results lists them)")
    if len({(board.name, board.checksum) for board, _ in rows}) > 1:
        names = sorted({board.name for board, _ in rows})
        raise BenchError(f"group '{what}' has runs on several datasets ({', '.join(names)}): choose one with --dataset")
    if len(rows) > 1:
        labels = ", ".join(sorted(row.label.replace(" × ", "/") for _, row in rows))
        raise BenchError(f"group '{what}' matches several groups ({labels}): name the objective or ensembler too")
    _, row = rows[0]
    n = len(row.records)
    return Side(f"{row.label} ({n} seed{'' if n == 1 else 's'})", row.records)


def _stat(values: Sequence[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def verdict(a: Sequence[float], b: Sequence[float], higher_is_better: bool) -> str:
    if not a or not b:
        return "—"
    (mean_a, sd_a), (mean_b, sd_b) = _stat(a), _stat(b)
    if sd_a is None and sd_b is None:
        return "no seed spread (1 seed each)"
    sd_a = sd_b if sd_a is None else sd_a
    sd_b = sd_a if sd_b is None else sd_b
    error = math.sqrt(sd_a**2 / len(a) + sd_b**2 / len(b))
    difference = mean_b - mean_a
    if abs(difference) < NOISE_STANDARD_ERRORS * error or error == 0 and difference == 0:
        return f"within noise ({abs(difference) / error:.1f} SE)" if error else "equal"
    better = "B" if (difference > 0) == higher_is_better else "A"
    return f"{better} better ({abs(difference) / error:.1f} SE)" if error else f"{better} better"


def paired_verdict(paired: PairedDifference, higher_is_better: bool) -> str:
    """The verdict on two K-fold results' paired per-fold difference (B - A)."""
    folds = f"paired over {paired.n} folds"
    if paired.within_noise:
        return f"within noise ({paired.standard_errors:.1f} SE, {folds})" if paired.standard_errors is not None else f"equal ({folds})"
    better = "B" if (paired.mean > 0) == higher_is_better else "A"
    return f"{better} better ({paired.standard_errors:.1f} SE, {folds})" if paired.standard_errors is not None else f"{better} better ({folds})"


def _direction(metric: str, records: Sequence[dict[str, Any]], host: Any) -> bool:
    """A record metric's own ``higher_is_better`` wins; else the first record's task answers."""
    for record in records:
        if metric in record["metrics"]:
            return bool(record["metrics"][metric]["higher_is_better"])
    host = host if host is not None else default_host()
    return bool(board_task(record_task(records[0]), host).higher_is_better(metric)) if records else True


def comparison_rows(a: Side, b: Side, host: Any = None) -> list[tuple[str, str, str, str, str]]:
    """(metric, A, B, B - A, verdict) for every metric either side has (in every registered
    task's metric order); ``host`` resolves a task where no record gives a metric's direction."""
    records = a.records + b.records
    names = {name for record in records for name in record["metrics"]}

    def cell(values: Sequence[float]) -> str:
        if not values:
            return "—"
        mean, sd = _stat(values)
        return f"{mean:.4f}" + (f" ± {sd:.4f}" if sd is not None else "") + f" (n={len(values)})"

    kfold = all("folds" in record for record in records)
    rows = []
    for metric in ordered_metrics(names):
        higher = _direction(metric, records, host)
        va, vb = a.values(metric), b.values(metric)
        arrow = "↑" if higher else "↓"
        paired = paired_difference(a.records, b.records, metric) if kfold else None
        if paired is not None and va and vb:  # the same folds on both sides: judged fold by fold
            difference = f"{statistics.fmean(vb) - statistics.fmean(va):+.4f} (paired {paired.mean:+.4f} ± {paired.standard_error:.4f} SE)"
            rows.append((f"{metric} {arrow}", cell(va), cell(vb), difference, paired_verdict(paired, higher)))
            continue
        difference = f"{statistics.fmean(vb) - statistics.fmean(va):+.4f}" if va and vb else "—"
        rows.append((f"{metric} {arrow}", cell(va), cell(vb), difference, verdict(va, vb, higher)))
    return rows
