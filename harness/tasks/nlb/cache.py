"""On-disk cache of processed DatasetTensors, keyed by the source's checksum and the config."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from harness.store.atomic import atomic_path
from harness.contracts import DatasetTensors, Split
from harness.store.home import cache_dir

_FORMAT = 1


def cache_key(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def tensors_cache_path(dataset: str, key: str) -> Path:
    return cache_dir() / "datasets" / dataset / f"{key}.npz"


def save_tensors(data: DatasetTensors, path: Path) -> None:
    """Write ``data`` to ``path`` atomically (a failed load never leaves a cache file)."""
    arrays: dict[str, np.ndarray] = {}
    for split_name in ("train", "val", "eval"):
        for name, value in getattr(data, split_name).arrays().items():
            arrays[f"{split_name}/{name}"] = value
    meta = {
        "format": _FORMAT,
        **{f.name: getattr(data, f.name) for f in fields(DatasetTensors) if f.name not in ("train", "val", "eval")},
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)


def load_tensors(path: Path) -> DatasetTensors | None:
    """The cached tensors, or None when the file is missing, foreign or of an older format."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(archive["meta"].tobytes().decode())
            if meta.get("format") != _FORMAT:
                return None
            splits: dict[str, dict[str, np.ndarray]] = {"train": {}, "val": {}, "eval": {}}
            for key in archive.files:
                if "/" in key:
                    split_name, name = key.split("/", 1)
                    splits[split_name][name] = archive[key]
    except (OSError, ValueError, KeyError):
        return None
    meta.pop("format")
    for key in ("heldin_regions", "heldout_regions", "metrics", "notes"):
        if meta.get(key) is not None:
            meta[key] = tuple(meta[key])
    return DatasetTensors(**meta, **{name: Split(**arrays) for name, arrays in splits.items()})


def cached(dataset: str, key: str, build: Callable[[], DatasetTensors]) -> DatasetTensors:
    """Load the tensors cached under ``key`` or build and cache them."""
    path = tensors_cache_path(dataset, key)
    if path.exists():
        data = load_tensors(path)
        if data is not None:
            return data
    data = build()
    save_tensors(data, path)
    return data
