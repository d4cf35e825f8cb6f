"""Where the Sensorium mouse folders are: the config's ``path`` (a mouse folder, a folder of them,
or a list of either), else ``$BENCH_DATA_PATH`` (FOLDER/sensorium or FOLDER), ``BENCH_HOME/data/
sensorium`` (where ``bench data download sensorium`` puts them), or ``shared/data/sensorium``
beside the checkout. ``mice`` (folder names or letters A-J) picks some of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.api import BenchError, data_dir

from bench_sensorium.layout import mouse_name
from bench_sensorium.reader import mouse_folders

DATA_PATH_VARIABLE = "BENCH_DATA_PATH"
DATASET = "sensorium"


def search_folders() -> list[Path]:
    folders: list[Path] = []
    for entry in os.environ.get(DATA_PATH_VARIABLE, "").split(os.pathsep):
        if entry.strip():
            base = Path(entry).expanduser()
            folders += [base / DATASET, base]
    folders.append(data_dir() / DATASET)
    here = Path.cwd().resolve()
    for ancestor in (here, *here.parents):
        folders.append(ancestor.parent / "shared" / "data" / DATASET)
    return list(dict.fromkeys(folders))


def folders_for_path(path: str | os.PathLike) -> list[Path]:
    path = Path(path).expanduser()
    if not path.exists():
        raise BenchError(f"{path}: no such folder")
    found = mouse_folders(path)
    if not found:
        raise BenchError(f"{path}: no Sensorium mouse folder here (a folder with data/ and meta/, or a folder of them)")
    return found


def find_folders(config: Mapping[str, Any]) -> list[Path]:
    """The mouse folders ``config`` names (its ``path`` or the search folders), filtered by ``mice``."""
    path = config.get("path")
    if path:
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        found = [folder for entry in paths for folder in folders_for_path(entry)]
    else:
        looked = search_folders()
        found = next((mouse_folders(folder) for folder in looked if mouse_folders(folder)), [])
        if not found:
            places = "\n  ".join(str(folder) for folder in looked)
            raise BenchError(
                f"dataset '{DATASET}' not found. Looked in:\n  {places}\nRun `bench data download {DATASET}`, "
                f"put the unzipped mouse folders in a folder listed in ${DATA_PATH_VARIABLE}, or pass --dataset PATH."
            )
    return select_mice(found, config.get("mice"))


def select_mice(found: list[Path], mice) -> list[Path]:
    if not mice:
        return found
    by_name = {folder.name: folder for folder in found}
    wanted = [mouse_name(str(mouse)) for mouse in ([mice] if isinstance(mice, str) else mice)]
    missing = [mouse for mouse in wanted if mouse not in by_name]
    if missing:
        raise BenchError(f"dataset option 'mice': {missing} not found; available: {', '.join(sorted(by_name))}")
    return [by_name[mouse] for mouse in wanted]


def locate_sensorium(config: Mapping[str, Any] | None = None) -> str:
    """The folder holding the mouse folders now, or "" (never raises)."""
    try:
        folders = find_folders(dict(config or {}))
    except BenchError:
        return ""
    return str(folders[0].parent) if len(folders) > 1 else str(folders[0])
