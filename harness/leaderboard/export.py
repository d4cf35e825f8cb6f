"""A board as data for pandas users: CSV (one line per row, every metric's mean, ±, split and
trial count in columns of their own) and JSON (the same, with each seed's values, the run ids
and the board's facts). Full precision, not the rounded text of the tables; laid out from the
board view, like the Markdown and the site."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from harness.leaderboard.board import BoardRow, BoardView

#: The fixed columns of every CSV, before the metric columns.
ROW_COLUMNS = (
    "table", "rank", "label", "model", "variant", "objective", "ensembler", "folds", "validation", "seeds",
    "parameters", "updates", "updates_planned", "train_seconds", "same_as", "cut_short",
)
#: The columns of each metric, after its mean (named by the metric itself).
METRIC_SUFFIXES = ("sd", "split", "n_trials", "n_values")


def _tables(view: BoardView) -> list[tuple[str, BoardRow]]:
    return [("ranked", shown) for shown in view.rows] + [("preliminary", shown) for shown in view.preliminary]


def _facts(table: str, shown: BoardRow) -> dict[str, Any]:
    row = shown.row
    return {
        "table": table,
        "rank": shown.rank,
        "label": row.label,
        "model": row.model,
        "variant": row.variant,
        "objective": row.objective,
        "ensembler": row.ensembler,
        "folds": row.folds,
        "validation": shown.validation,
        "seeds": shown.seeds,
        "parameters": shown.parameters[0] if len(shown.parameters) == 1 else " / ".join(map(str, shown.parameters)),
        "updates": None if shown.updates is None else shown.updates[0],
        "updates_planned": None if shown.updates is None else shown.updates[1],
        "train_seconds": shown.seconds,
        "same_as": None if shown.same_as is None else shown.same_as.label,
        "cut_short": shown.cut_short,
    }


def _joined(items: tuple) -> Any:
    return items[0] if len(items) == 1 else " / ".join(map(str, items)) or None


def csv_header(view: BoardView) -> list[str]:
    """The CSV's columns: the row facts, then each metric's mean and its sd, split, n_trials, n_values."""
    return [*ROW_COLUMNS, *(name for metric in view.columns.shown for name in (metric, *(f"{metric} {s}" for s in METRIC_SUFFIXES)))]


def csv_rows(view: BoardView) -> list[list[Any]]:
    """The CSV's lines as values (None where empty): what ``harness.notebook.board`` puts in a DataFrame."""
    lines = []
    for table, shown in _tables(view):
        facts = _facts(table, shown)
        cells = [facts[column] for column in ROW_COLUMNS]
        for metric in view.columns.shown:
            cell = shown.cells[metric]
            cells += [cell.mean, cell.spread, _joined(cell.splits), _joined(cell.trials), len(cell.values)]
        lines.append(cells)
    return lines


def render_csv(view: BoardView) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_header(view))
    for cells in csv_rows(view):
        writer.writerow(["" if value is None else repr(value) if isinstance(value, float) else value for value in cells])
    return buffer.getvalue()


def render_json(view: BoardView) -> str:
    board = view.board
    rows = []
    for table, shown in _tables(view):
        metrics = {}
        for metric in view.columns.shown:
            cell = shown.cells[metric]
            if cell.values:
                metrics[metric] = {
                    "mean": cell.mean, "sd": cell.spread, "values": cell.values, "split": list(cell.splits), "n_trials": list(cell.trials),
                }
        runs = {str(seed): record["run_id"] for seed, record in sorted(shown.row.by_seed.items())}
        rows.append({**_facts(table, shown), "parameters": shown.parameters, "run_ids": runs, "metrics": metrics})
    data = {
        "dataset": {"name": board.name, "checksum": board.checksum, "bin_size_ms": board.bin_size_ms},
        "task": dict(board.task),
        "primary_metric": board.primary,
        "higher_is_better": {metric: view.arrows[metric] == "↑" for metric in view.columns.shown},
        "spread": "sd over folds for K-fold rows (mean over seeds), else sd over seeds; null for one seed on one split",
        "rows": rows,
        "repeats": view.columns.repeats,
        "empty": view.columns.empty,
    }
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
