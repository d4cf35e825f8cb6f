"""``generate``: every board computed once from the records, then written in every rendering.

Reads the run records of a store, groups them into boards (grouping.py), asks each board's task
through a plugin host and builds its view (board.py), then writes the Markdown tables and
``index.md`` (markdown.py), each board as CSV and JSON (export.py), the plots (plot.py), the
static site (site.py) and copies of the
records used, with their report figures, in ``records/``, so anyone can regenerate the same files
from them; beside each ranked K-fold row's record its kept submission
(``<run_id>.submission.h5``: the fold ensemble's eval rates, which ``bench score`` rescores
against a target file) where its run folder (or the store) has one. The output depends on the records alone: running it twice gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.leaderboard import export, markdown, plot, site
from harness.leaderboard.board import GENERATED_MARKER, SITE_FOLDER, BoardView, board_task, boards_from_records, build_view, default_host
from harness.store.atomic import write_bytes, write_text
from harness.store.home import results_dir
from harness.store.records import canonical_json, read_records

__all__ = ["SITE_FOLDER", "generate", "report_figure", "views_from_records"]


def _is_generated(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as file:
            return file.readline().rstrip("\n") == GENERATED_MARKER
    except (OSError, UnicodeDecodeError):
        return False


def report_figure(record: dict[str, Any], store: Path, figure_name: str | None) -> bytes | None:
    """The run's report figure (``figure_name``, its task's): the copy beside its record in
    ``store`` first (so the record copies regenerate the same site), else the one in its run dir;
    None when neither exists or the task draws none."""
    if figure_name is None:
        return None
    for path in (store / f"{record['run_id']}.{figure_name}", Path(record["paths"]["run_dir"]) / figure_name):
        if path.is_file():
            return path.read_bytes()
    return None


#: The infix of a kept submission's copy beside its record: ``<run_id>.submission.h5``.
SUBMISSION_COPY = "submission"


def kept_submission(record: dict[str, Any], store: Path) -> Path | None:
    """A pooled K-fold record's kept submission (``paths.submission``): the copy beside it in
    ``store`` first (so the record copies regenerate the same folder), else the file in its run
    folder; None when neither exists."""
    recorded = record["paths"].get("submission")
    if not recorded:
        return None
    suffix = Path(recorded).suffix
    for path in (store / f"{record['run_id']}.{SUBMISSION_COPY}{suffix}", Path(recorded)):
        if path.is_file():
            return path
    return None


def ranked_kfold_records(views: list[BoardView]) -> list[dict[str, Any]]:
    """The records of every ranked K-fold row (not those the wall-clock cap cut short)."""
    return [record for view in views for shown in view.rows if shown.rank is not None and shown.row.folds for record in shown.row.records]


def views_from_records(records: list[dict[str, Any]], host: Any = None) -> list[BoardView]:
    """Every board of ``records``, computed once; ``host`` resolves their tasks (default: the
    plugins ``bench`` loads)."""
    from harness.leaderboard.components import registered_components

    host = host if host is not None else default_host()
    components = registered_components(host)
    return [build_view(board, board_task(board.task, host), components) for board in boards_from_records(records)]


def generate(store: str | Path | None = None, output: str | Path = "leaderboards", host: Any = None) -> list[Path]:
    """Regenerate every leaderboard in ``output`` from the records in ``store``.

    Writes the Markdown tables, their CSV and JSON, the plots, ``index.md``, copies of the records used (with their
    report figures) in ``records/``, and the static site in ``site/``. Tables and plots of
    datasets no longer in the store, and record copies and site files no longer used, are
    removed (only files this command wrote). Returns the paths written.
    """
    output = Path(output)
    store_dir = Path(store) if store is not None else results_dir()
    views = views_from_records(read_records(store), host)
    written: list[Path] = []

    records_dir = output / "records"
    used = {record["run_id"]: (record, view.task.report_figure) for view in views for record in view.board.all_records}
    figures = {
        run_id: (name, figure) for run_id, (record, name) in used.items() if (figure := report_figure(record, store_dir, name)) is not None
    }
    figure_names = sorted({name for _, name in used.values() if name is not None})
    same_folder = records_dir.resolve() == store_dir.resolve()
    if not same_folder:
        for run_id, (record, _) in sorted(used.items()):
            path = records_dir / f"{run_id}.json"
            write_text(path, canonical_json(record))
            written.append(path)
            if run_id in figures:
                name, figure = figures[run_id]
                write_bytes(records_dir / f"{run_id}.{name}", figure)
                written.append(records_dir / f"{run_id}.{name}")
        submissions = {}
        for record in ranked_kfold_records(views):
            kept = kept_submission(record, store_dir)
            if kept is not None:
                path = records_dir / f"{record['run_id']}.{SUBMISSION_COPY}{kept.suffix}"
                write_bytes(path, kept.read_bytes())
                written.append(path)
                submissions[path.name] = path
        if records_dir.is_dir():
            for stale in records_dir.glob(f"*.{SUBMISSION_COPY}.*"):
                if stale.name not in submissions:
                    stale.unlink()
            for stale in records_dir.glob("*.json"):
                if stale.stem not in used:
                    stale.unlink()
            for name in figure_names:
                for stale in records_dir.glob(f"*.{name}"):
                    if stale.name[: -len(name) - 1] not in figures:
                        stale.unlink()

    plots = {}
    for view in views:
        key = view.board.key
        path = output / f"{key}.md"
        write_text(path, markdown.render_board(view))
        written.append(path)
        for suffix, render in ((".csv", export.render_csv), (".json", export.render_json)):
            write_text(output / f"{key}{suffix}", render(view))
            written.append(output / f"{key}{suffix}")
        png = plot.render_plot(view)
        if png is not None:
            plots[key] = png
            write_bytes(output / f"{key}.png", png)
            written.append(output / f"{key}.png")
    index = output / "index.md"
    write_text(index, markdown.render_index(views))
    written.append(index)

    site_dir = output / SITE_FOLDER
    site_files = site.render_site(views, plots, figures)
    for relative, content in sorted(site_files.items()):
        write_bytes(site_dir / relative, content)
        written.append(site_dir / relative)
    if site_dir.is_dir():  # the site folder is generated as a whole: drop pages no longer rendered
        for stale in sorted(site_dir.rglob("*")):
            if stale.is_file() and stale.suffix in (".html", ".png") and stale.relative_to(site_dir).as_posix() not in site_files:
                stale.unlink()

    current = {path.name for path in written if path.parent == output}
    for stale in sorted(output.glob("*.md")):
        if stale.name not in current and _is_generated(stale):
            stale.unlink()
            for suffix in (".png", ".csv", ".json"):
                stale.with_suffix(suffix).unlink(missing_ok=True)
    for stale_plot in output.glob("*.png"):
        if stale_plot.name not in current and stale_plot.with_suffix(".md").name in current:
            stale_plot.unlink()  # a dataset that no longer has a plot
    return written
