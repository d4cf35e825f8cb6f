"""Dataset loaders the registry names: simulate -> write NWB -> read NWB back -> DatasetTensors.

Going through a real NWB file keeps the synthetic datasets honest about the data path real
recordings take. Both stages are cached under BENCH_HOME, keyed by the checked config:
the NWB file at ``cache/synthetic/<name>-<hash>.nwb`` and the binned tensors through
``harness.tasks.nlb.cache.cached``, so a second load reads one small npz file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.api import DatasetTensors, atomic_path, cache_dir, cache_key, cached

from bench_synthetic.nwb_read import read_tensors
from bench_synthetic.nwb_write import write_nwb
from bench_synthetic.simulate import checked_config, simulate

#: Bump when the simulation changes what a config produces (old NWB files are then not reused).
GENERATOR_VERSION = 1
#: Bump when the reader changes what it makes of a file (old tensor caches are then not reused).
READER_VERSION = 1


def nwb_path(name: str, config: Mapping[str, Any] | None = None) -> Path:
    """Where the NWB file of ``name`` under ``config`` (over the defaults) lives, generated or not."""
    checked = checked_config(name, config or {})
    return cache_dir() / "synthetic" / f"{name}-{_config_hash(name, checked)}.nwb"


def generate_nwb(name: str, config: Mapping[str, Any] | None = None) -> Path:
    """The NWB file for ``name`` and ``config``, simulated and written now if it is not there yet."""
    checked = checked_config(name, config or {})
    path = nwb_path(name, checked)
    if not path.exists():
        simulation = simulate(name, checked)
        with atomic_path(path) as temporary:
            write_nwb(simulation, temporary, identifier=f"bench-synthetic-{path.stem}")
    return path


def load(name: str, config: Mapping[str, Any] | None = None) -> DatasetTensors:
    checked = checked_config(name, config or {})
    key = cache_key("bench-synthetic", READER_VERSION, _config_hash(name, checked))
    return cached(name, key, lambda: read_tensors(generate_nwb(name, checked), name, checked["bin_size_ms"]))


def _config_hash(name: str, checked: Mapping[str, Any]) -> str:
    return cache_key("bench-synthetic", GENERATOR_VERSION, name, dict(checked))[:16]


# -- what the registry names: per dataset a loader and a locator ------------------------------
# The locator answers where the NWB file of a config is (None until it has been generated). There
# is no downloader: a synthetic dataset is generated on first use.


def _entry_points(name: str):
    def load_dataset(config: Mapping[str, Any]) -> DatasetTensors:
        return load(name, config)

    def locate(config: Mapping[str, Any] | None = None) -> Path | None:
        path = nwb_path(name, config)
        return path if path.exists() else None

    return load_dataset, locate


load_lorenz, locate_lorenz = _entry_points("lorenz")
load_chaotic_rnn, locate_chaotic_rnn = _entry_points("chaotic_rnn")
load_multi_region, locate_multi_region = _entry_points("multi_region")
