"""A short Python API for notebooks: run a model, list results, read a board, compare two runs.

    from harness import notebook

    record = notebook.run(model="ndt", objective="mtm", dataset="mc_maze_small", epochs=50)
    notebook.results()                  # every run record, newest last, as a DataFrame
    notebook.board("mc_maze_small")     # the leaderboard, one line per row (as its CSV)
    notebook.compare("ndt/mtm", "ndt/random")

The same code paths as the CLI: ``run`` is ``bench run`` (K folds when ``folds`` is given),
``board`` the board view ``bench leaderboard`` writes its CSV from, ``compare`` ``bench compare``.
Importing this module is light; torch loads when ``run`` trains. Each function takes the store
to read (default: BENCH_HOME's) and, where plugins are asked, a ``host`` (default: the plugins
``bench`` loads; ``harness.testing.kit_host()`` for the conformance kit's tiny components).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["board", "compare", "results", "run"]

#: The fixed columns of :func:`results`, before one column per metric value.
RESULT_COLUMNS = ("run_id", "created", "dataset", "model", "objective", "ensembler", "label", "seed", "folds", "wall_seconds", "n_parameters")


def _host(host: Any) -> Any:
    if host is not None:
        return host
    from harness.plugin.host import Host

    return Host()


def run(
    model: str | None = None,
    objective: str | None = None,
    dataset: str | None = None,
    *,
    seed: int | None = None,
    folds: int | None = None,
    dataset_config: Mapping[str, Any] | None = None,
    model_config: Mapping[str, Any] | None = None,
    objective_config: Mapping[str, Any] | None = None,
    rerun: bool = False,
    host: Any = None,
    init_from: str | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Train and score a run as ``bench run`` does; returns its record (a dict).

    Starts from the model's tuned defaults; ``settings`` are trainer settings (``epochs=50``,
    ``lr=1e-3``, ``max_minutes=5``: the keys of a spec's ``train:``). A run with the same settings
    that already completed is returned without training again unless ``rerun``. With ``folds=K``
    it runs the K folds and returns the pooled record. ``init_from`` (a run id) fine-tunes from
    that run's shared core, as ``bench run --init-from``.
    """
    from harness.run.execute import execute, resolve_objective

    host = _host(host)
    spec = host.default_spec(model)
    if "epochs" in settings and "steps" not in settings:
        settings["steps"] = 0  # an explicit epoch budget replaces a step budget, as on the command line
    spec = spec.with_overrides(
        dataset=dataset, model=model, objective=objective, seed=seed, folds=folds, init_from=init_from,
        dataset_config={**spec.dataset_config, **(dataset_config or {})},
        model_config={**spec.model_config, **(model_config or {})},
        objective_config={**spec.objective_config, **(objective_config or {})},
        train=settings,
    )
    from harness.cli.commands.run import check_settings

    check_settings(host, spec)  # an unknown config key fails before any data loads
    if not spec.folds:
        return execute(host, spec, rerun=rerun)[0]
    from harness.run.crossval import cross_validate

    return cross_validate(host, resolve_objective(host, spec), rerun=rerun)


def results(store: str | Path | None = None, *, dataframe: bool = True) -> Any:
    """Every run record in ``store`` (oldest first): a pandas DataFrame, one line per record with
    each metric's value in a column of its own; ``dataframe=False`` gives the records themselves."""
    from harness.store.records import read_records

    records = read_records(store)
    if not dataframe:
        return records
    import pandas as pd

    from harness.leaderboard.columns import ordered_metrics

    metrics = ordered_metrics({name for record in records for name in record["metrics"]})
    lines = []
    for record in records:
        spec = record.get("spec", {})
        line = {
            "run_id": record["run_id"], "created": record["created"], "dataset": record["dataset"]["name"], "model": record["model"],
            "objective": record["objective"], "ensembler": record["ensembler"], "label": spec.get("label"), "seed": record["seed"],
            "folds": record.get("folds", {}).get("k"), "wall_seconds": record["wall_seconds"], "n_parameters": record["n_parameters"],
        }
        for metric in metrics:
            entry = record["metrics"].get(metric)
            line[metric] = None if entry is None else entry["value"]
        lines.append(line)
    return pd.DataFrame(lines, columns=[*RESULT_COLUMNS, *metrics])


def board(dataset: str, store: str | Path | None = None, *, host: Any = None) -> Any:
    """The leaderboard of ``dataset`` (its name, or its board key where one name has several
    checksums) as a pandas DataFrame: the lines and columns of the board's CSV, from the same view."""
    import pandas as pd

    from harness.errors import BenchError
    from harness.leaderboard.export import csv_header, csv_rows
    from harness.leaderboard.write import views_from_records
    from harness.store.records import read_records

    views = views_from_records(read_records(store), _host(host))
    chosen = [view for view in views if view.board.key == dataset] or [view for view in views if view.board.name == dataset]
    if not chosen:
        known = ", ".join(sorted(view.board.key for view in views)) or "none"
        raise BenchError(f"no board for dataset {dataset!r} in the store (boards: {known})")
    if len(chosen) > 1:
        raise BenchError(f"dataset {dataset!r} has boards for several data checksums: name one of {', '.join(v.board.key for v in chosen)}")
    (view,) = chosen
    return pd.DataFrame(csv_rows(view), columns=csv_header(view))


def compare(a: str, b: str, store: str | Path | None = None, *, dataset: str | None = None, host: Any = None) -> Any:
    """``bench compare`` as a DataFrame: per metric, each side's mean, sd and count, B - A and the
    verdict. A side is a run id (or unique prefix, or "latest") or a group "MODEL[/OBJECTIVE[/ENSEMBLER]]"."""
    import statistics

    import pandas as pd

    from harness.leaderboard.columns import ordered_metrics
    from harness.leaderboard.compare import _direction, resolve, verdict

    side_a, side_b = resolve(a, store, dataset), resolve(b, store, dataset)
    records = side_a.records + side_b.records
    lines = []
    for metric in ordered_metrics({name for record in records for name in record["metrics"]}):
        higher = _direction(metric, records, host)
        line: dict[str, Any] = {"metric": metric, "higher_is_better": higher}
        for name, side in (("a", side_a), ("b", side_b)):
            values = side.values(metric)
            line[f"{name}_mean"] = statistics.fmean(values) if values else None
            line[f"{name}_sd"] = statistics.stdev(values) if len(values) > 1 else None
            line[f"{name}_n"] = len(values)
        both = line["a_mean"] is not None and line["b_mean"] is not None
        line["difference"] = line["b_mean"] - line["a_mean"] if both else None
        line["verdict"] = verdict(side_a.values(metric), side_b.values(metric), higher)
        lines.append(line)
    frame = pd.DataFrame(lines)
    frame.attrs.update(a=side_a.label, b=side_b.label)
    return frame
