"""``bench data download sensorium`` against zips served from 127.0.0.1, never the internet."""

from __future__ import annotations

import threading
import time
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.api import BenchError

from bench_sensorium import download
from bench_sensorium.datasets import load_sensorium
from bench_sensorium.defaults import SENSORIUM_DEFAULTS
from bench_sensorium.layout import MICE

MOUSE = MICE["F"]


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves a folder, honouring ``Range: bytes=N-`` as GIN does, and records each request."""

    requests: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        RangeHandler.requests.append(self.headers.get("Range", "full"))
        path = self.translate_path(self.path)
        try:
            content = open(path, "rb").read()
        except OSError:
            self.send_error(404)
            return
        start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(content) - start))
        self.end_headers()
        self.wfile.write(content[start:])


@pytest.fixture
def archive(tmp_path, write_mouse, monkeypatch):
    """A local 'GIN' serving ``<mouse>.zip`` as published: the mouse folder plus __MACOSX litter."""
    served = tmp_path / "served"
    served.mkdir()
    written = write_mouse(tmp_path / "source" / MOUSE)
    with zipfile.ZipFile(served / f"{MOUSE}.zip", "w") as handle:
        for path in sorted(written.folder.rglob("*")):
            handle.write(path, path.relative_to(written.folder.parent))
        handle.writestr(f"__MACOSX/{MOUSE}/._tiers.npy", b"resource fork")
    RangeHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(download.BASE_URL_VARIABLE, f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv(download.MICE_VARIABLE, "F")
    yield served / f"{MOUSE}.zip"
    server.shutdown()
    server.server_close()


def test_download_unzips_the_mouse_and_it_loads(archive, bench_home):
    destination = download.download_dataset("sensorium")
    assert destination == bench_home / "data" / "sensorium"
    assert sorted(p.name for p in destination.iterdir()) == [MOUSE]  # no zip, no __MACOSX, no staging left
    data = load_sensorium(dict(SENSORIUM_DEFAULTS))  # found in BENCH_HOME/data/sensorium
    assert [m.name for m in data.mice] == [MOUSE]
    download.download_dataset("sensorium")  # already there: nothing fetched again
    assert RangeHandler.requests == ["full"]


def test_a_partial_zip_is_resumed(archive, bench_home):
    destination = bench_home / "data" / "sensorium"
    destination.mkdir(parents=True)
    content = archive.read_bytes()
    (destination / f".{MOUSE}.zip.part").write_bytes(content[:1000])
    download.download_dataset("sensorium")
    assert RangeHandler.requests == ["bytes=1000-"]
    assert (destination / MOUSE / "meta" / "trials" / "tiers.npy").is_file()


def test_the_cli_downloads_into_a_chosen_folder(archive, host, tmp_path):
    from harness.api import main

    assert main(["data", "download", "sensorium", "--output", str(tmp_path / "here")], host=host) == 0
    assert (tmp_path / "here" / MOUSE / "data" / "videos" / "0.npy").is_file()


def test_unknown_mouse_and_missing_zip(archive, monkeypatch):
    monkeypatch.setenv(download.MICE_VARIABLE, "Z")
    with pytest.raises(BenchError, match="unknown mice"):
        download.download_dataset("sensorium")
    monkeypatch.setenv(download.MICE_VARIABLE, "G")
    with pytest.raises(BenchError, match="not found \\(404\\)"):
        download.download_dataset("sensorium")


def test_offline_fails_fast_on_one_line(monkeypatch, bench_home):
    monkeypatch.setenv(download.BASE_URL_VARIABLE, "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setenv(download.MICE_VARIABLE, "F")
    started = time.monotonic()
    with pytest.raises(BenchError) as caught:
        download.download_dataset("sensorium")
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "\n" not in message and "cannot reach" in message and "needs network access" in message
    assert str(bench_home / "data" / "sensorium") in message and "--dataset PATH" in message


def test_real_urls_point_at_the_gin_repositories(monkeypatch):
    monkeypatch.delenv(download.BASE_URL_VARIABLE, raising=False)
    assert download.mouse_url(MICE["A"]) == f"https://gin.g-node.org/pollytur/Sensorium2023Data/raw/master/{MICE['A']}.zip"
    assert download.mouse_url(MICE["J"]) == f"https://gin.g-node.org/pollytur/sensorium_2023_dataset/raw/master/{MICE['J']}.zip"
