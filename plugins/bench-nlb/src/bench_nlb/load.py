"""The dataset loaders the registry names: ``load(config) -> DatasetTensors``.

A load finds the source (tensor h5 or raw NWB), then returns the processed tensors from the
on-disk cache, keyed by the source files' sha256 and the config, or builds and caches them. A
load that fails raises before anything is written to the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.api import BenchError, DataFileError, DatasetTensors, Split, cache_key, cached, content_checksum, seeded_val_split

from bench_nlb import __version__
from bench_nlb.catalog import DATASETS, GENERIC, MAZE_METRICS, bin_size_from_filename, dataset_from_filename, submission_name
from bench_nlb.locate import Source, find_source
from bench_nlb.regions import UNKNOWN_REGION, UnitRegions, read_unit_regions

#: Bump when the tensors built from the same files change, so old cache entries are not reused.
TENSORS_FORMAT = 1


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_nlb(name: str | None, config: Mapping[str, Any]) -> DatasetTensors:
    """Load NLB dataset ``name`` (None: whatever NLB file ``config['path']`` names)."""
    config = dict(config)
    if name is None and not config.get("path"):
        raise BenchError(f"dataset '{GENERIC}' needs a path: --dataset FILE.h5|FILE.nwb or a dataset config with path")
    source = find_source(name, config)
    checksums = [file_sha256(path) for path in (source.path, *source.region_files)]
    settings = {key: value for key, value in config.items() if key != "path"}
    key = cache_key("bench-nlb", TENSORS_FORMAT, name, source.kind, checksums, settings)
    return cached(name or GENERIC, key, lambda: build_tensors(name, source, config))


def build_tensors(name: str | None, source: Source, config: Mapping[str, Any]) -> DatasetTensors:
    if source.kind == "h5":
        return tensors_from_h5(name, source, config)
    return tensors_from_nwb(name, source, config)


# -- tensor h5 ------------------------------------------------------------------------------------
def tensors_from_h5(name: str | None, source: Source, config: Mapping[str, Any]) -> DatasetTensors:
    from bench_nlb.tensor_file import read_tensor_file

    path = source.path
    tensors = read_tensor_file(path)
    file_name = tensors.dataset or dataset_from_filename(path.name)
    if name is not None and file_name is not None and file_name != name:
        raise DataFileError(path, "attrs['dataset']", f"'{name}'", f"'{file_name}'")
    bin_size_ms = int(config.get("bin_size_ms", 5))
    file_bin = tensors.bin_size_ms or bin_size_from_filename(path.name)
    if file_bin is not None and file_bin != bin_size_ms:
        raise DataFileError(path, "attrs['bin_size_ms']", f"{bin_size_ms} ms (the config's bin_size_ms)", f"{file_bin} ms")
    splits = tensors.splits
    notes = list(tensors.notes)
    n_heldin = splits["train"]["heldin"].shape[2]
    n_heldout = splits["train"]["heldout"].shape[2]
    regions = _regions_from_files(source.region_files, n_heldin, n_heldout, tensors.heldin_ids, notes)
    if "heldout" not in splits["eval"]:
        notes.append("eval held-out spikes are withheld by this file: eval rates are exported, not scored here")
    return _assemble(
        name=name or file_name or path.stem,
        bin_size_ms=bin_size_ms,
        splits=splits,
        regions=regions,
        config=config,
        source=str(path),
        notes=notes,
    )


def _regions_from_files(files, n_heldin: int, n_heldout: int, heldin_ids, notes: list[str]) -> UnitRegions | None:
    """The first NWB file whose held-in units match the tensors' held-in axis, if any."""
    for path in files:
        regions = read_unit_regions(path)
        if len(regions.heldin_ids) != n_heldin:
            continue
        if heldin_ids is not None and not np.array_equal(np.asarray(heldin_ids), regions.heldin_ids):
            continue
        if regions.heldin_regions is None:
            continue
        notes.append(f"held-in regions from {path.name} (its held-in units in file order = the tensors' held-in axis)")
        notes.extend(regions.notes)
        if len(regions.heldout_ids) != n_heldout:
            regions = UnitRegions(regions.path, regions.heldin_ids, regions.heldout_ids, regions.heldin_regions, None, regions.notes)
        return regions
    return None


# -- raw NWB --------------------------------------------------------------------------------------
def tensors_from_nwb(name: str | None, source: Source, config: Mapping[str, Any]) -> DatasetTensors:
    from bench_nlb import nwb_tensors
    from bench_nlb.checks import check_disjoint_units

    path = source.path
    name = name or dataset_from_filename(path.name)
    if name is None:
        raise BenchError(f"{path}: cannot tell which NLB dataset this NWB file is; load it by name with a path, e.g. a dataset config {{path: ...}} for mc_maze_small")
    bin_size_ms = int(config.get("bin_size_ms", 5))
    dataset = nwb_tensors.open_nwb(path, bin_size_ms)
    present = nwb_tensors.trial_splits(dataset)
    if "train" not in present:
        raise DataFileError(path, "trials.split", "'train' trials to learn from (an NLB test file has none; use the train file)", f"splits {sorted(present)}")
    eval_split = "val" if "val" in present else "test" if "test" in present else None
    if eval_split is None:
        raise DataFileError(path, "trials.split", "'val' or 'test' trials to evaluate on", f"splits {sorted(present)}")
    notes = [f"binned from {path.name} through nlb_tools with PARAMS['{name}']; eval = the NLB '{eval_split}' trials"]
    splits = {"train": nwb_tensors.train_arrays(dataset, name), "eval": nwb_tensors.eval_arrays(dataset, name, eval_split)}
    for split in splits.values():
        if np.ndim(split.get("behavior")) == 2:
            split.pop("behavior")
            notes.append("behaviour is per trial here (not per bin) and is not carried in the tensors")
    _check_nwb_arrays(path, splits)
    heldin_ids, heldout_ids = nwb_tensors.nwb_unit_ids(dataset)
    if heldout_ids is not None:
        check_disjoint_units(path, "units.heldout", heldin_ids, heldout_ids)
    regions = read_unit_regions(path)
    notes.extend(regions.notes)
    if regions.heldin_regions is None:
        regions = None
    return _assemble(name=name, bin_size_ms=bin_size_ms, splits=splits, regions=regions, config=config, source=str(path), notes=notes)


def _check_nwb_arrays(path: Path, splits: dict[str, dict[str, np.ndarray]]) -> None:
    from bench_nlb.checks import check_counts

    for prefix, arrays in splits.items():
        for field in ("heldin", "heldout", "heldin_forward", "heldout_forward"):
            if field in arrays:
                arrays[field] = np.asarray(arrays[field], dtype=np.float32)
                check_counts(path, f"{prefix} {field} (binned)", arrays[field])
        if "behavior" in arrays:
            arrays["behavior"] = np.asarray(arrays["behavior"], dtype=np.float32)


# -- common -------------------------------------------------------------------------------------
def _assemble(*, name, bin_size_ms, splits, regions: UnitRegions | None, config, source, notes) -> DatasetTensors:
    n_heldin = splits["train"]["heldin"].shape[2]
    train_all = Split(**splits["train"])
    if "val" in splits:
        train, val = train_all, Split(**splits["val"])
        notes.append("val = the file's labelled val trials")
    else:
        fraction, seed = float(config.get("val_fraction", 0.2)), int(config.get("val_seed", 0))
        train_index, val_index = seeded_val_split(train_all.n_trials, fraction, seed)
        train, val = train_all.take(train_index), train_all.take(val_index)
        notes.append(f"val = a seeded split of the train trials (fraction {fraction}, seed {seed}); trial_ids index the file's train trials")
    eval_split = Split(**splits["eval"])
    if eval_split.trial_ids is None:
        eval_split = eval_split.take(np.arange(eval_split.n_trials))
    if regions is None:
        heldin_regions: tuple[str, ...] = (UNKNOWN_REGION,) * n_heldin
        heldout_regions = None
        notes.append(f"no brain-region information: every held-in unit has region '{UNKNOWN_REGION}'")
    else:
        heldin_regions, heldout_regions = tuple(regions.heldin_regions), regions.heldout_regions
        heldout_regions = None if heldout_regions is None else tuple(heldout_regions)
    catalog = DATASETS.get(name)
    arrays = {f"{split}/{field}": value for split, part in (("train", train), ("val", val), ("eval", eval_split)) for field, value in part.arrays().items()}
    return DatasetTensors(
        name=name,
        bin_size_ms=bin_size_ms,
        train=train,
        val=val,
        eval=eval_split,
        heldin_regions=heldin_regions,
        heldout_regions=heldout_regions,
        checksum=content_checksum(arrays, extra=(name, str(bin_size_ms))),
        source=source,
        metrics=catalog.metrics if catalog else MAZE_METRICS,
        submission_name=submission_name(name, bin_size_ms),
        notes=tuple(notes) + (f"loaded by bench-nlb {__version__}",),
    )


# -- the loaders the registry names ----------------------------------------------------------------
def load_file(config: Mapping[str, Any]) -> DatasetTensors:
    """``nlb_file``: the NLB tensor .h5 or .nwb (or a folder of them) at ``config['path']``."""
    return load_nlb(None, config)


def load_mc_maze(config: Mapping[str, Any]) -> DatasetTensors:
    return load_nlb("mc_maze", config)


def load_mc_rtt(config: Mapping[str, Any]) -> DatasetTensors:
    return load_nlb("mc_rtt", config)


def load_area2_bump(config: Mapping[str, Any]) -> DatasetTensors:
    return load_nlb("area2_bump", config)


def load_dmfc_rsg(config: Mapping[str, Any]) -> DatasetTensors:
    return load_nlb("dmfc_rsg", config)


def load_mc_maze_large(config: Mapping[str, Any]) -> DatasetTensors:
    return load_nlb("mc_maze_large", config)


def load_mc_maze_medium(config: Mapping[str, Any]) -> DatasetTensors:
    return load_nlb("mc_maze_medium", config)


def load_mc_maze_small(config: Mapping[str, Any]) -> DatasetTensors:
    return load_nlb("mc_maze_small", config)
