"""The public API for plugin authors: everything a plugin may import, named in one place.

What is listed here is supported and keeps working across releases; the modules behind it may
move (the ``pytest`` namespace over ``_pytest``). The conformance kit is the other public
module, ``harness.testing``. Importing this module is light: each name loads its module (and
torch, for the tensor helpers) only when a plugin first uses it.

    from harness.api import hookimpl, DatasetTensors, ModelShape, cosmoothing_view
"""

from __future__ import annotations

import importlib
from typing import Any

from harness import hookimpl

#: Public name -> the module that defines it.
_SOURCES: dict[str, str] = {}


def _export(module: str, *names: str) -> None:
    for name in names:
        _SOURCES[name] = module


_export("harness.errors", "BenchError", "DataFileError", "SpecError", "UnknownNameError")
# contracts: what datasets, models, objectives, ensemblers and tasks honour
_export(
    "harness.contracts",
    "SPLITS", "COSMOOTHING_TASK", "ENCODING_TASK", "FOLD_SEED", "MetricValue", "content_checksum", "seeded_val_split",
    "Split", "DatasetTensors", "ModelShape", "RateModel", "Batch", "MaskedBatch", "Objective", "SplitRates", "Predictions",
    "Ensembler", "DirectFit", "AuxiliaryLosses", "MutableHyperparameters", "TrainingPlan", "Task", "RunInfo",
    "EncodingSplit", "MouseRecording", "EncodingData", "EncodingShape", "EncodingBatch", "EncodingModel",
    "EncodingObjective", "EncodingPredictions",
)
# sessions: a dataset of many sessions, a model that stitches them
_export(
    "harness.sessions",
    "SESSIONS_TASK", "SESSIONS_OPTION", "Session", "SessionSet", "SessionShapes", "MultiSessionModel", "SessionObjectives",
    "check_session_names",
)
# the co-smoothing task's tensor views and losses, for objectives
_export(
    "harness.tasks.nlb.views",
    "hide_forward", "cosmoothing_view", "masked_heldin_view", "masked_poisson_nll", "bits_per_spike",
    "nlb_eval_masks", "nlb_eval_view",
)
_export("harness.tasks.nlb.objective_kit", "CosmoothingObjective")
_export("harness.tasks.nlb.metrics", "nlb_bits_per_spike")
_export("harness.tasks.nlb.cache", "cache_key", "cached")
_export("harness.tasks.encoding.metrics", "single_trial_correlation", "score_encoding")
_export("harness.run.averaging", "average_predictions")
_export("harness.store.home", "bench_home", "data_dir", "cache_dir")
_export("harness.store.atomic", "atomic_path", "write_bytes", "write_text")
_export("harness.specs", "RunSpec", "TrainConfig", "load_spec", "yaml_value")
# the plugin machinery, for plugins that add commands or drive runs
_export("harness.plugin.host", "Host", "merged_config")
_export("harness.plugin.manager", "make_plugin_manager")
_export("harness.plugin.registry", "Entry", "Register")
_export("harness.cli", "main")
_export("harness.plugin.commands", "CommandRegistry")
_export("harness.cli.state", "cli_state")
_export("harness.run.execute", "execute", "completed_record")
_export("harness.run.context", "RunIdentity", "run_identity")

__all__ = ["hookimpl", *_SOURCES]


def __getattr__(name: str) -> Any:
    try:
        module = _SOURCES[name]
    except KeyError:
        raise AttributeError(f"harness.api has no {name!r}; the public names are listed in harness.api.__all__") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
