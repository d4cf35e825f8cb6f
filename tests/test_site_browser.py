"""The generated site in a real browser: headless Chromium, served from 127.0.0.1.

A small check page loads the dataset page in an iframe, sorts a column by clicking its header,
reads the first row, checks the plot decoded, and follows a link to a run page; Chromium's
--dump-dom hands back what it found. A --screenshot of the page must not be blank. Skips only
where no Chromium is installed (.ci/run installs Debian's `chromium`).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import harness.leaderboard as leaderboard
from test_site import store  # noqa: F401 - the same fixture store

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]

CHECK_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body>
<pre id="result">pending</pre>
<script>
var result = {};
var out = document.getElementById("result");
var frame = document.createElement("iframe");
frame.width = 1200; frame.height = 900;
var step = 0;
function firstModel(doc) {
  var row = doc.querySelector("#leaderboard tbody tr");
  return row.cells[1].textContent + "/" + row.cells[2].textContent;
}
function header(doc, label) {
  return Array.prototype.filter.call(doc.querySelectorAll("#leaderboard th"), function (th) {
    return th.textContent.indexOf(label) === 0;
  })[0];
}
frame.addEventListener("load", function () {
  var doc = frame.contentDocument;
  try {
    if (step === 0) {
      step = 1;
      result.before = firstModel(doc);
      header(doc, "Train time").click();
      result.fastest = firstModel(doc);
      header(doc, "co-bps").click();
      result.best = firstModel(doc);
      result.sorted = header(doc, "co-bps").getAttribute("aria-sort");
      var plot = doc.getElementById("plot");
      result.plot = plot.complete ? plot.naturalWidth + "x" + plot.naturalHeight : "not loaded";
      var link = doc.querySelector("#leaderboard a[href^='runs/']");
      result.link = link.getAttribute("href");
      frame.src = link.href;
    } else {
      result.title = doc.querySelector("h1").textContent;
      result.metrics = doc.querySelectorAll("#metrics tbody tr").length;
      out.textContent = JSON.stringify(result);
    }
  } catch (error) {
    out.textContent = "error: " + error;
  }
});
frame.src = "site/mc_maze_small.html";
document.body.appendChild(frame);
</script>
</body></html>
"""


@pytest.fixture
def served(store, tmp_path):  # noqa: F811 - the fixture imported above
    root = tmp_path / "served"
    leaderboard.generate(store, root)
    (root / "check.html").write_text(CHECK_PAGE)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _chromium(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *arguments], capture_output=True, text=True, timeout=90, check=False
    )


def test_sorting_the_plot_and_a_run_link_in_chromium(served, tmp_path):
    done = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", f"{served}/check.html")
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert found, f"chromium gave no result page: {done.stderr[-2000:]}"
    text = found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    assert not text.startswith(("pending", "error")), text
    result = json.loads(text)
    assert result["before"] == "smoothing/—"  # the baseline first, as generated
    assert result["fastest"] == "smoothing/—"  # 5 s
    assert result["best"] == "ndt/mtm" and result["sorted"] == "descending"  # 0.31 on top
    width, height = (int(v) for v in result["plot"].split("x"))
    assert width > 300 and height > 200
    # the first run link of the sorted table: the best row's first seed
    assert result["link"] == "runs/ndt-mtm-s0.html" and result["title"] == "ndt × mtm, seed 0" and result["metrics"] >= 4


def test_screenshot_of_the_dataset_page_is_not_blank(served, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "page.png"
    done = _chromium(tmp_path, "--window-size=1200,1400", f"--screenshot={shot}", f"{served}/site/mc_maze_small.html")
    assert shot.is_file(), done.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (1400, 1200)
    not_white = np.mean(pixels.min(axis=-1) < 0.9)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    # matplotlib's second colour (orange, the second row's marker): only the plot has it
    orange = np.sum((red > 0.85) & (green > 0.35) & (green < 0.65) & (blue < 0.25))
    assert not_white > 0.02 and orange > 20, (not_white, orange)


WIDTH_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
<pre id="result">pending</pre>
<script>
// each page at 1280 px: its main tables' widths against the room they have, and whether the page scrolls sideways
var pages = [["site/wide.html", ["leaderboard", "preliminary"]], ["site/index.html", ["datasets"]], ["site/runs/wide-3.html", ["metrics"]]];
var found = {}, step = 0;
var frame = document.createElement("iframe");
frame.width = 1280; frame.height = 900; frame.style.border = "0";
frame.addEventListener("load", function () {
  var doc = frame.contentDocument, page = pages[step], widths = {};
  page[1].forEach(function (id) {
    var table = doc.getElementById(id);
    widths[id] = table ? [Math.ceil(table.getBoundingClientRect().width), Math.floor(table.parentNode.clientWidth)] : null;
  });
  widths.page = [doc.documentElement.scrollWidth, doc.documentElement.clientWidth];
  found[page[0]] = widths;
  step += 1;
  if (step < pages.length) { frame.src = pages[step][0]; }
  else { document.getElementById("result").textContent = JSON.stringify(found); }
});
frame.src = pages[0][0];
document.body.appendChild(frame);
</script>
</body></html>
"""


@pytest.fixture
def wide_served(tmp_path):
    """A board as wide as mc_maze_small's was: 15 columns (7 metrics, each mean ± sd), K-fold rows
    and single splits, long model and ensembler names."""
    from fixtures.run_records import make_record
    from harness.store import records as results
    from harness.tasks.nlb.metrics import MetricValue

    names = ["co-bps", "vel R2", "fp-bps", "16-shot co-bps", "32-shot co-bps", "co-bps (eval-size null)", "val_co_bps (in-sample)"]
    store = tmp_path / "wide-store"
    for index, (model, objective, ensembler, folds) in enumerate([
        ("smoothing", None, None, 5), ("ndt", "random", "mean", 5), ("ndt", "mtm", "mean", 5),
        ("lfads+ndt+rnnf", "cd+mtm+random", "stacking fit=least-squares penalty=lasso space=rates", None),
        ("ndt+neural-roberta+rnnf", "mtm+random", "mean top=4", None), ("rnnf", "random", None, None),
    ]):
        metrics = {name: MetricValue(0.1234 + index / 100 + offset / 1000, "val", 15, list(range(15)), "", True) for offset, name in enumerate(names)}
        record = make_record(f"wide-{index}", model=model, objective=objective, ensembler=ensembler, metrics=results.record_metrics(metrics),
                             wall_seconds=1000.0 + index, n_parameters=601_806)
        record["dataset"] = dict(record["dataset"], name="wide", checksum="wide-sum")
        if ensembler:
            record["spec"] = {"ensembler": ensembler, "label": ensembler, "members": []}
        if folds:
            record["spec"] = dict(record["spec"], folds=folds)
            record["folds"] = {"k": folds, "seed": 0, "members": [], "per_fold": {}, "spread": {name: 0.0123 for name in names}}
        results.write_record(record, store=store)
    root = tmp_path / "served-wide"
    leaderboard.generate(store, root)
    (root / "check.html").write_text(WIDTH_PAGE)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_wide_board_the_index_and_a_run_page_fit_1280_pixels(wide_served, tmp_path):
    done = _chromium(tmp_path, "--window-size=1280,900", "--virtual-time-budget=10000", "--dump-dom", f"{wide_served}/check.html")
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert found and found.group(1) != "pending", f"chromium gave no result page: {done.stderr[-2000:]}"
    pages = json.loads(found.group(1))
    assert set(pages) == {"site/wide.html", "site/index.html", "site/runs/wide-3.html"}
    for page, widths in pages.items():
        scroll, room = widths.pop("page")
        assert scroll <= room, f"{page} is {scroll} px wide in {room} px: it scrolls sideways"
        for table, measured in widths.items():
            assert measured is not None, f"{page} has no #{table}"
            width, room = measured
            assert width <= room, f"#{table} of {page} is {width} px wide in {room} px: it scrolls sideways"
