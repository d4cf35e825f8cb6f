"""``bench data download sensorium``: one zip per mouse from the GIN archive, resumable, unzipped.

Each ``<mouse>.zip`` is fetched into a hidden ``.<mouse>.zip.part`` (resumed with an HTTP Range
request on the next run), unzipped into a hidden folder, and only then renamed to
``DESTINATION/<mouse>/``; a mouse already there is skipped. The ten mice are about 148 GB:
``$BENCH_SENSORIUM_MICE`` (comma-separated folder names or letters A-J) fetches some of them.
``$BENCH_SENSORIUM_GIN_URL`` replaces the archive's base URL (tests serve zips from 127.0.0.1).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import requests
from rich.console import Console

from harness.api import BenchError, data_dir

from bench_sensorium.layout import GIN_REPOSITORIES, MICE, gin_repository, mouse_name
from bench_sensorium.reader import is_mouse_folder

BASE_URL_VARIABLE = "BENCH_SENSORIUM_GIN_URL"
MICE_VARIABLE = "BENCH_SENSORIUM_MICE"
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 60
CHUNK_BYTES = 1 << 20


def mouse_url(mouse: str) -> str:
    base = os.environ.get(BASE_URL_VARIABLE) or GIN_REPOSITORIES[gin_repository(mouse)]
    return f"{base.rstrip('/')}/{mouse}.zip"


def chosen_mice() -> list[str]:
    listed = [entry.strip() for entry in os.environ.get(MICE_VARIABLE, "").split(",") if entry.strip()]
    mice = [mouse_name(entry) for entry in listed] or list(MICE.values())
    unknown = [mouse for mouse in mice if mouse not in MICE.values()]
    if unknown:
        raise BenchError(f"${MICE_VARIABLE}: unknown mice {unknown}; expected letters A-J or folder names such as {MICE['A']}")
    return mice


def offline_message(url: str, error: Exception, destination: Path) -> str:
    return (
        f"cannot reach {url} ({type(error).__name__}): downloading 'sensorium' needs network access; "
        f"without it, fetch the mouse zips from {GIN_REPOSITORIES['new']} and {GIN_REPOSITORIES['old']} elsewhere, "
        f"unzip them into {destination}, or pass --dataset PATH (a mouse folder or a folder of them)"
    )


def fetch_zip(url: str, target: Path, destination: Path) -> str:
    """Download ``url`` to ``target``, resuming a partial ``.part`` file; what happened."""
    partial = target.with_name(f".{target.name}.part")
    start = partial.stat().st_size if partial.exists() else 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    try:
        with requests.get(url, stream=True, headers=headers, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)) as response:
            if response.status_code == 404:
                raise BenchError(f"{url}: not found (404) in the archive")
            if response.status_code == 416:  # the partial file is already whole
                os.replace(partial, target)
                return "resumed"
            if not response.ok:
                raise BenchError(f"{url}: the archive answered {response.status_code}; try again later")
            resumed = start and response.status_code == 206
            expected = response.headers.get("Content-Length")
            total = (start if resumed else 0) + int(expected) if expected else None
            with open(partial, "ab" if resumed else "wb") as handle:
                for chunk in response.iter_content(CHUNK_BYTES):
                    handle.write(chunk)
    except requests.RequestException as error:
        if start or partial.exists() and partial.stat().st_size:
            raise BenchError(f"download of {url} interrupted ({type(error).__name__}); run `bench data download sensorium` again to resume") from None
        raise BenchError(offline_message(url, error, destination)) from None
    if total is not None and partial.stat().st_size != total:
        raise BenchError(f"{url}: got {partial.stat().st_size} of {total} bytes; run `bench data download sensorium` again to resume")
    os.replace(partial, target)
    return "resumed" if resumed else "downloaded"


def unzip_mouse(archive: Path, mouse: str, destination: Path) -> Path:
    """Unzip ``archive`` and move its mouse folder to ``destination/mouse`` in one rename."""
    staging = destination / f".{mouse}.unzip"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(staging)
    except zipfile.BadZipFile as error:
        archive.unlink(missing_ok=True)
        raise BenchError(f"{archive}: not a zip archive ({error}); run the command again to fetch it anew") from None
    shutil.rmtree(staging / "__MACOSX", ignore_errors=True)
    candidates = [staging / mouse, staging]
    found = next((folder for folder in candidates if is_mouse_folder(folder)), None)
    if found is None:
        shutil.rmtree(staging, ignore_errors=True)
        raise BenchError(f"{archive}: expected {mouse}/data and {mouse}/meta inside the zip")
    target = destination / mouse
    os.replace(found, target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def download_dataset(name: str, destination: Path | None = None, *, console: Console | None = None) -> Path:
    """Download the Sensorium 2023 mouse zips into ``destination`` (default BENCH_HOME/data/sensorium)."""
    if name != "sensorium":
        raise BenchError(f"'{name}' has no GIN source; only 'sensorium' downloads")
    destination = Path(destination) if destination else data_dir() / "sensorium"
    console = console or Console(stderr=True)
    destination.mkdir(parents=True, exist_ok=True)
    for mouse in chosen_mice():
        if is_mouse_folder(destination / mouse):
            console.print(f"{mouse}: skipped (already unzipped)")
            continue
        archive = destination / f"{mouse}.zip"
        outcome = "zip present" if archive.is_file() else fetch_zip(mouse_url(mouse), archive, destination)
        unzip_mouse(archive, mouse, destination)
        archive.unlink()
        console.print(f"{mouse}: {outcome}, unzipped")
    console.print(f"'sensorium' mice are in {destination}")
    return destination
