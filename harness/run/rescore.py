"""Score a finished run again from its saved predictions, adding metrics its record lacks.

Metrics read predictions and targets only, so a metric added to the uniform scorer after a run
finished (few-shot co-bps, say) can be computed for it without the model. The record keeps its
provenance and every value it had; only the missing metrics are added, and it is rewritten
atomically through the one record writer. An ensemble's val figures are cross-fitted over its
members' predictions (harness.run.ensembles), so it is rescored that way too, never in-sample.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import BenchError
from harness.plugin.host import Host
from harness.store.records import predictions_path, record_metrics, write_record


def rescore(host: Host, record: dict[str, Any], store: str | Path | None = None) -> list[str]:
    """Add the metrics ``record`` lacks, scored from its saved predictions; returns their names."""
    if record.get("folds") and record["ensembler"] is not None and not record["folds"].get("members"):
        raise BenchError(f"ensemble {record['run_id']} combines K-fold results: rescore them, then combine them again with bench ensemble")
    if record.get("folds"):  # scored on the pooled view of its fold runs, not on the dataset's splits
        raise BenchError(
            f"run {record['run_id']} pools {record['folds'].get('k')} fold runs: rescore those, then pool them again with "
            "bench run --folds (it reuses the finished folds)"
        )
    data = host.recorded_dataset(record["dataset"], f"run {record['run_id']} was")
    task = host.task_of(data)
    if record["ensembler"] is not None:
        from harness.run.ensembles import rescored_metrics

        metrics = record_metrics(rescored_metrics(host, record, data))
    else:
        metrics = record_metrics(task.score(data, task.load_predictions(predictions_path(record))))
    added = [name for name in metrics if name not in record["metrics"]]
    if added:
        write_record({**record, "metrics": {**record["metrics"], **{name: metrics[name] for name in added}}}, store)
    return added
