"""``bench data download NAME``: fetch an NLB dandiset with the DANDI client, resumably.

Each asset is written to a hidden ``.NAME.part`` beside its target, resumed from its size on the
next run (an HTTP Range request), checked against the sha256 (or DANDI etag) in the asset's
metadata, and only then renamed into place; a complete file is skipped. The API base URL is
``$BENCH_DANDI_API_URL`` (default: the DANDI archive), which also lets tests serve a fake
archive from 127.0.0.1.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path

import requests
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from harness.api import BenchError, data_dir

from bench_nlb.catalog import DATASETS
from bench_nlb.load import file_sha256
from bench_nlb.locate import DATA_PATH_VARIABLE

API_URL_VARIABLE = "BENCH_DANDI_API_URL"
DEFAULT_API_URL = "https://api.dandiarchive.org/api"
#: Seconds to wait for the archive to answer before calling it unreachable.
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 30
CHUNK_BYTES = 1 << 20


def api_url() -> str:
    return os.environ.get(API_URL_VARIABLE, DEFAULT_API_URL).rstrip("/")


def offline_message(name: str, url: str, error: Exception) -> str:
    dandiset = DATASETS[name].dandiset
    return (
        f"cannot reach the DANDI archive at {url} ({type(error).__name__}). Downloading '{name}' "
        f"(DANDI:{dandiset}) needs network access. Without it, fetch the dandiset's NWB files "
        f"elsewhere (https://dandiarchive.org/dandiset/{dandiset}) or an NLB tensor file "
        f"{name}_5ms.h5, and put them in {data_dir() / name}, or in FOLDER/{name}/ for a FOLDER "
        f"listed in ${DATA_PATH_VARIABLE}; or pass --dataset PATH."
    )


def _check_reachable(name: str, url: str) -> None:
    """Fail within seconds when offline, before the DANDI client's long retry loop starts."""
    dandiset = DATASETS[name].dandiset
    try:
        response = requests.get(f"{url}/dandisets/{dandiset}/", timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
    except requests.RequestException as error:
        raise BenchError(offline_message(name, url, error)) from None
    if response.status_code == 404:
        raise BenchError(f"the DANDI archive at {url} has no dandiset {dandiset} (for '{name}')")
    if not response.ok:
        raise BenchError(f"the DANDI archive at {url} answered {response.status_code} for dandiset {dandiset}; try again later")


def _client(url: str):
    # A benchmark run must not phone home for version checks (dandi's etelemetry).
    os.environ.setdefault("DANDI_NO_ET", "1")
    from dandi.consts import DandiInstance
    from dandi.dandiapi import DandiAPIClient

    return DandiAPIClient(dandi_instance=DandiInstance(name="bench-nlb", gui=None, api=url))


def expected_digest(asset) -> tuple[str, str] | None:
    """(algorithm, value) from the asset's metadata: sha256 when DANDI computed it, else its etag."""
    digests = asset.get_raw_metadata().get("digest", {})
    if "dandi:sha2-256" in digests:
        return "sha256", digests["dandi:sha2-256"]
    if "dandi:dandi-etag" in digests:
        return "dandi-etag", digests["dandi:dandi-etag"]
    return None


def file_digest(path: Path, algorithm: str) -> str:
    if algorithm == "sha256":
        return file_sha256(path)
    from dandischema.digests.dandietag import DandiETag  # the multipart S3 etag DANDI records

    return DandiETag.from_file(path).as_str()


def is_complete(path: Path, size: int, digest: tuple[str, str] | None) -> bool:
    if not path.is_file() or path.stat().st_size != size:
        return False
    return digest is None or file_digest(path, digest[0]) == digest[1]


def partial_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


def fetch_asset(asset, target: Path, progress: Progress | None = None) -> str:
    """Download one asset to ``target``; returns what happened: skipped, downloaded or resumed."""
    digest = expected_digest(asset)
    if is_complete(target, asset.size, digest):
        return "skipped (complete)"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(target)
    download = asset.get_download_file_iter(chunk_size=CHUNK_BYTES)
    task = progress.add_task(target.name, total=asset.size) if progress else None
    start = partial.stat().st_size if partial.exists() else 0
    if start > asset.size:
        start = 0
    for attempt_start in dict.fromkeys((start, 0)):  # resume first; on a bad result, start over once
        if progress:
            progress.update(task, completed=attempt_start)
        with open(partial, "ab" if attempt_start else "wb") as handle:
            handle.truncate(attempt_start)
            for chunk in download(attempt_start):
                handle.write(chunk)
                if progress:
                    progress.advance(task, len(chunk))
        if is_complete(partial, asset.size, digest):
            os.replace(partial, target)
            return "resumed" if attempt_start else "downloaded"
    got = partial.stat().st_size
    partial.unlink(missing_ok=True)
    raise BenchError(
        f"{asset.path}: the download does not match the archive's record "
        f"({digest[0] if digest else 'size'}; expected {asset.size} bytes, got {got}); run the command again"
    )


def download_dataset(name: str, destination: Path | None = None, *, show_progress: bool = True, console: Console | None = None) -> Path:
    """Download dandiset ``name`` into ``destination`` (default ``BENCH_HOME/data/NAME``)."""
    if name not in DATASETS:
        raise BenchError(f"'{name}' is not an NLB dataset with a DANDI source; known: {', '.join(DATASETS)}")
    url = api_url()
    destination = Path(destination) if destination else data_dir() / name
    console = console or Console(stderr=True)
    _check_reachable(name, url)
    try:
        with _client(url) as client:
            dandiset = client.get_dandiset(DATASETS[name].dandiset, lazy=False)
            assets = list(dandiset.get_assets(order="path"))
            progress = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                console=console, disable=not show_progress,
            )
            with progress if show_progress else nullcontext():
                for asset in assets:
                    outcome = fetch_asset(asset, destination / asset.path, progress if show_progress else None)
                    console.print(f"{asset.path}: {outcome}")
    except requests.RequestException as error:
        raise BenchError(
            f"download of '{name}' interrupted ({type(error).__name__}: {error}); "
            f"run `bench data download {name}` again to resume"
        ) from None
    console.print(f"'{name}' (DANDI:{DATASETS[name].dandiset}, version {dandiset.version_id}) is in {destination}")
    return destination
