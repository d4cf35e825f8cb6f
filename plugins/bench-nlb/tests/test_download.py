"""``bench data download`` against a fake DANDI archive on 127.0.0.1, never the internet."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from harness.api import BenchError

from bench_nlb import dandi_download

DANDISET = "000140"
VERSION = "0.220113.0408"
ASSET_ID = "0a1b2c3d-asset"
ASSET_PATH = "sub-Jenkins/sub-Jenkins_ses-small_desc-train_behavior+ecephys.nwb"
STAMP = "2022-01-13T04:08:00.000000Z"


class FakeArchive:
    """The few DANDI API endpoints the client uses, serving one asset with Range support."""

    def __init__(self, content: bytes, recorded_sha256: str | None = None):
        self.content = content
        self.sha256 = recorded_sha256 or hashlib.sha256(content).hexdigest()
        self.downloads: list[int] = []  # the start offset of each content request
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                archive.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def routes(self) -> dict[str, object]:
        version = {"version": VERSION, "name": "MC_Maze_Small", "asset_count": 1, "size": len(self.content),
                   "created": STAMP, "modified": STAMP, "status": "Published"}
        asset = {"asset_id": ASSET_ID, "path": ASSET_PATH, "size": len(self.content), "created": STAMP,
                 "modified": STAMP, "blob": "blob-1", "zarr": None}
        base = f"/api/dandisets/{DANDISET}"
        return {
            f"{base}/": {"identifier": DANDISET, "created": STAMP, "modified": STAMP, "contact_person": "Pei, Felix",
                         "embargo_status": "OPEN", "draft_version": {**version, "version": "draft", "status": "Valid"},
                         "most_recent_published_version": version},
            f"{base}/versions/{VERSION}/assets/": {"count": 1, "next": None, "previous": None, "results": [asset]},
            f"{base}/versions/{VERSION}/assets/{ASSET_ID}/": {"digest": {"dandi:sha2-256": self.sha256}, "contentSize": len(self.content)},
        }

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?")[0]
        if path == f"/api/assets/{ASSET_ID}/download/":
            start = 0
            if request.headers.get("Range"):
                start = int(request.headers["Range"].split("=")[1].split("-")[0])
            self.downloads.append(start)
            body = self.content[start:]
            request.send_response(206 if start else 200)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
            return
        payload = self.routes().get(path)
        if payload is None:
            request.send_response(404)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        body = json.dumps(payload).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


CONTENT = np.random.default_rng(0).bytes(3 * 1024 * 1024 + 123)  # spans several 1 MiB chunks


@pytest.fixture
def archive(monkeypatch):
    with FakeArchive(CONTENT) as fake:
        monkeypatch.setenv("BENCH_DANDI_API_URL", fake.url)
        yield fake


def test_download_fetches_verifies_and_skips_complete_files(archive, bench_home):
    destination = dandi_download.download_dataset("mc_maze_small")
    target = bench_home / "data" / "mc_maze_small" / ASSET_PATH
    assert destination == bench_home / "data" / "mc_maze_small"
    assert target.read_bytes() == CONTENT
    assert archive.downloads == [0]
    dandi_download.download_dataset("mc_maze_small")  # complete: nothing fetched again
    assert archive.downloads == [0]


def test_partial_download_is_resumed(archive, bench_home):
    target = bench_home / "data" / "mc_maze_small" / ASSET_PATH
    partial = dandi_download.partial_path(target)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(CONTENT[:1_000_000])
    dandi_download.download_dataset("mc_maze_small")
    assert archive.downloads == [1_000_000]
    assert target.read_bytes() == CONTENT and not partial.exists()


def test_corrupt_partial_is_fetched_again(archive, bench_home):
    target = bench_home / "data" / "mc_maze_small" / ASSET_PATH
    partial = dandi_download.partial_path(target)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\0" * 1000)  # not the asset's first bytes: resuming gives a bad sha256
    dandi_download.download_dataset("mc_maze_small")
    assert archive.downloads == [1000, 0]
    assert target.read_bytes() == CONTENT


def test_checksum_mismatch_is_an_error(monkeypatch, bench_home):
    with FakeArchive(CONTENT, recorded_sha256="0" * 64) as fake:
        monkeypatch.setenv("BENCH_DANDI_API_URL", fake.url)
        with pytest.raises(BenchError, match="does not match the archive's record"):
            dandi_download.download_dataset("mc_maze_small")
    assert not (bench_home / "data" / "mc_maze_small" / ASSET_PATH).exists()


def test_download_command_through_the_cli(archive, host, bench_home):
    from harness.api import main

    assert main(["data", "download", "mc_maze_small"], host=host) == 0
    assert (bench_home / "data" / "mc_maze_small" / ASSET_PATH).read_bytes() == CONTENT
    assert main(["data", "download", "mc_maze_smal"], host=host) == 1  # unknown: suggestions, no download


def test_unreachable_archive_fails_fast_with_what_to_do(monkeypatch, bench_home):
    monkeypatch.setenv("BENCH_DANDI_API_URL", "http://127.0.0.1:9/api")  # discard port: nothing listens
    started = time.monotonic()
    with pytest.raises(BenchError) as caught:
        dandi_download.download_dataset("mc_maze_small")
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "cannot reach the DANDI archive" in message and "DANDI:000140" in message
    assert str(bench_home / "data" / "mc_maze_small") in message and "BENCH_DATA_PATH" in message
