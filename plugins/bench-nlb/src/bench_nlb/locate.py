"""Where a dataset's files are: an explicit path, else BENCH_DATA_PATH, BENCH_HOME/data, or the
``shared/data`` folder beside the project checkout. Standard library only (no numpy, no h5py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.api import BenchError, data_dir

from bench_nlb.catalog import DATA_SUFFIXES, bin_size_from_filename, dataset_from_filename

DATA_PATH_VARIABLE = "BENCH_DATA_PATH"


@dataclass(frozen=True)
class Source:
    """The files one load reads: a tensor h5 or a raw NWB, plus NWB files that may name regions."""

    kind: str  # "h5" or "nwb"
    path: Path
    region_files: tuple[Path, ...] = ()


def data_files(folder: Path) -> list[Path]:
    """NLB data files under ``folder`` (DANDI puts them in ``sub-*/``), skipping partial downloads."""
    found = [
        path
        for path in folder.rglob("*")
        if path.suffix in DATA_SUFFIXES and path.is_file() and not path.name.startswith(".")
    ]
    return sorted(found)


def belongs_to(path: Path, name: str | None) -> bool:
    """Whether ``path`` is one of dataset ``name``'s files (any NLB file when name is None)."""
    recognised = dataset_from_filename(path.name)
    return recognised == name if name is not None else True


def search_folders(name: str) -> list[Path]:
    """Every folder that may hold dataset ``name``, in the order they are tried."""
    folders: list[Path] = []
    for entry in os.environ.get(DATA_PATH_VARIABLE, "").split(os.pathsep):
        if entry.strip():
            base = Path(entry).expanduser()
            folders += [base / name, base]
    folders.append(data_dir() / name)
    # Development convenience: the project's shared data sits beside the checkout (../shared/data).
    here = Path.cwd().resolve()
    for ancestor in (here, *here.parents):
        folders.append((ancestor.parent / "shared" / "data" / name))
    return list(dict.fromkeys(folders))


def source_in_folder(folder: Path, name: str | None, bin_size_ms: int) -> Source | None:
    """The best source for ``name`` at ``bin_size_ms`` inside ``folder``, or None."""
    files = [path for path in data_files(folder) if belongs_to(path, name)]
    nwb_files = tuple(path for path in files if path.suffix == ".nwb")
    for path in files:
        if path.suffix == ".h5" and bin_size_from_filename(path.name) in (bin_size_ms, None):
            return Source("h5", path, nwb_files)
    train_files = [path for path in nwb_files if "desc-train" in path.name] or list(nwb_files)
    if train_files:
        return Source("nwb", train_files[0], nwb_files)
    return None


def source_for_path(path: Path, name: str | None, bin_size_ms: int) -> Source:
    """The source an explicit ``path`` (file or folder) gives."""
    path = Path(path).expanduser()
    if not path.exists():
        raise BenchError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix not in DATA_SUFFIXES:
            raise BenchError(f"{path}: expected an NLB tensor .h5 or an .nwb file")
        siblings = tuple(p for p in data_files(path.parent) if p.suffix == ".nwb" and belongs_to(p, name) and p != path)
        kind = path.suffix.lstrip(".")
        return Source(kind, path, (path,) + siblings if kind == "nwb" else siblings)
    source = source_in_folder(path, name, bin_size_ms)
    if source is None:
        what = f"'{name}' files" if name else "NLB .h5 or .nwb files"
        raise BenchError(f"{path}: no {what} at {bin_size_ms} ms in this folder")
    return source


def find_source(name: str, config: Mapping[str, Any]) -> Source:
    """The source for dataset ``name`` under ``config`` (its ``path``, else the search folders)."""
    bin_size_ms = int(config.get("bin_size_ms", 5))
    if config.get("path"):
        return source_for_path(Path(config["path"]), name, bin_size_ms)
    looked = search_folders(name)
    for folder in looked:
        if folder.is_dir():
            source = source_in_folder(folder, name, bin_size_ms)
            if source is not None:
                return source
    places = "\n  ".join(str(folder) for folder in looked)
    raise BenchError(
        f"dataset '{name}' ({bin_size_ms} ms) not found. Looked in:\n  {places}\n"
        f"Run `bench data download {name}`, put the files in a folder listed in ${DATA_PATH_VARIABLE}, "
        "or pass --dataset PATH (an NLB .h5/.nwb file or a folder holding them)."
    )


def locate(name: str, config: Mapping[str, Any] | None = None) -> str:
    """Where dataset ``name``'s files are now, or "" when none is found (never raises)."""
    try:
        return str(find_source(name, dict(config or {})).path)
    except BenchError:
        return ""


def _locator(name: str):
    """The registry's locator for one dataset: ``locate(config)`` (the core passes only a config)."""

    def locate_dataset(config: Mapping[str, Any] | None = None) -> str:
        return locate(name, config)

    locate_dataset.__name__ = f"locate_{name}"
    return locate_dataset


locate_mc_maze = _locator("mc_maze")
locate_mc_rtt = _locator("mc_rtt")
locate_area2_bump = _locator("area2_bump")
locate_dmfc_rsg = _locator("dmfc_rsg")
locate_mc_maze_large = _locator("mc_maze_large")
locate_mc_maze_medium = _locator("mc_maze_medium")
locate_mc_maze_small = _locator("mc_maze_small")
