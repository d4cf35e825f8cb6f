"""The static leaderboard site: every page generated, linked, offline and byte-identical."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures.run_records import make_record
import harness.leaderboard as leaderboard
from harness.store import records as results
from harness.tasks.nlb.metrics import MetricValue

PNG = b"\x89PNG\r\n\x1a\n" + b"report figure bytes"


def record(run_id: str, model: str, objective: str | None, seed: int, co_bps: float, seconds: float, run_dir: Path, **extra: float) -> dict:
    metrics = {
        "co-bps": MetricValue(co_bps, "val", 2, [3, 7], "nlb_tools bits_per_spike; eval held-out spikes are withheld", True),
        "val_co_bps": MetricValue(co_bps, "val", 2, [3, 7], "nlb_tools bits_per_spike", True),
        "vel R2": MetricValue(0.5 + co_bps, "train+val", 4, [0, 3, 5, 7], "5-fold cross-validation", True),
        "16-shot co-bps": MetricValue(co_bps / 2, "val", 2, [3, 7], "Poisson GLM", True),
        "psth R2": MetricValue(None, "val", 2, [3, 7], "the val split has no condition labels", True),
        **{name: MetricValue(value, "val", 2, [3, 7], f"objective's eval mask '{name[4:-1]}'", True) for name, value in extra.items()},
    }
    made = make_record(
        run_id,
        created=f"2025-01-01T00:00:{seed:02d}+00:00",
        model=model,
        objective=objective,
        seed=seed,
        wall_seconds=seconds,
        metrics=results.record_metrics(metrics),
    )
    made["paths"] = dict(made["paths"], run_dir=str(run_dir / run_id))
    return made


@pytest.fixture
def store(tmp_path) -> Path:
    folder, runs = tmp_path / "store", tmp_path / "runs"
    for made in [
        record("ndt-mtm-s0", "ndt", "mtm", 0, 0.30, 300, runs, **{"bps[neuron]": 0.30, "bps[causal]": -0.01}),
        record("ndt-mtm-s1", "ndt", "mtm", 1, 0.32, 320, runs, **{"bps[neuron]": 0.32, "bps[causal]": -0.02}),
        record("ndt-random-s0", "ndt", "random", 0, 0.20, 100, runs),
        record("smooth-s0", "smoothing", None, 0, 0.10, 5, runs),
    ]:
        results.write_record(made, store=folder)
    (runs / "ndt-mtm-s0").mkdir(parents=True)
    (runs / "ndt-mtm-s0" / "report.png").write_bytes(PNG)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_site_pages_are_written_and_regenerate_byte_identically(store, tmp_path):
    output = tmp_path / "boards"
    leaderboard.generate(store, output)
    files = _files(output)
    site = {name[len("site/") :] for name in files if name.startswith("site/")}
    assert site == {
        "index.html", "mc_maze_small.html", "mc_maze_small.png", "runs/ndt-mtm-s0.png",
        *(f"runs/{run_id}.html" for run_id in ("ndt-mtm-s0", "ndt-mtm-s1", "ndt-random-s0", "smooth-s0")),
    }
    assert files["site/runs/ndt-mtm-s0.png"] == PNG == files["records/ndt-mtm-s0.report.png"]
    assert files["site/mc_maze_small.png"] == files["mc_maze_small.png"]
    leaderboard.generate(store, output)
    assert _files(output) == files
    # from the record copies alone (the run dirs gone), the same site
    (tmp_path / "runs" / "ndt-mtm-s0" / "report.png").unlink()
    again = tmp_path / "again"
    leaderboard.generate(output / "records", again)
    assert _files(again) == files


def test_pages_load_nothing_from_the_network_and_links_resolve(store, tmp_path):
    leaderboard.generate(store, tmp_path / "out")
    site = tmp_path / "out" / "site"
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"""(src|href)=["'](https?:)?//""", text), page
        for target in re.findall(r"""(?:src|href)="([^"#]+)\"""", text):
            assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"


def test_board_page_content(store, tmp_path):
    leaderboard.generate(store, tmp_path / "out")
    text = (tmp_path / "out" / "site" / "mc_maze_small.html").read_text()
    assert '<table class="sortable board" id="leaderboard">' in text and "<script>" in text
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", text).group(1)
    labels = [re.sub(r"<br>.*", "", cell) for cell in re.findall(r"<th[^>]*>(.*?)</th>", header)]
    # NLB metrics lead; val_co_bps repeats co-bps and bps[...] sit in their own table
    assert labels[:8] == ["Rank", "Model", "Objective", "co-bps ↑", "vel R2 ↑", "16-shot co-bps ↑", "Validation", "Seeds"]
    assert '<td class="num" data-value="0.31"><span>0.3100</span> <span>± 0.0141</span></td>' in text  # may wrap before ±
    assert 'id="objective-masks"' in text and "bps[causal] ↑" in text and "bps[neuron] ↑" not in text
    assert "<b>val co-bps</b> equals <b>co-bps</b>" in text and "<b>bps[neuron]</b> equals <b>co-bps</b>" in text
    assert "Dabholkar &amp; Barak 2024" in text
    assert '<img id="plot" src="mc_maze_small.png"' in text
    assert "<li><b>psth R2</b>: the val split has no condition labels (all 4 runs)</li>" in text  # one reason, once
    assert "<li><b>vel R2</b> on train+val (4 trials): 5-fold cross-validation</li>" in text


def test_run_page_content(store, tmp_path):
    leaderboard.generate(store, tmp_path / "out")
    text = (tmp_path / "out" / "site" / "runs" / "ndt-mtm-s0.html").read_text()
    assert "<h1>ndt × mtm, seed 0</h1>" in text and "<code>ndt-mtm-s0</code>" in text
    assert "abc123" in text  # data checksum
    assert "bench-ndt" in text and "2.13.0" in text  # versions
    assert "<td>16-shot co-bps ↑</td>" in text and "5-fold cross-validation" in text and 'title="0, 3, 5, 7"' in text
    assert '<img id="report" src="ndt-mtm-s0.png"' in text
    assert '<img id="report"' not in (tmp_path / "out" / "site" / "runs" / "ndt-mtm-s1.html").read_text()


def test_markdown_leads_with_nlb_metrics_and_shows_a_repeat_once(store, tmp_path):
    leaderboard.generate(store, tmp_path / "out")
    text = (tmp_path / "out" / "mc_maze_small.md").read_text()
    tables = [line for line in text.splitlines() if line.startswith("| ")]
    assert tables[0].split(" | ")[3:6] == ["co-bps (val, 2 trials) ↑", "vel R2 (train+val, 4 trials) ↑", "16-shot co-bps (val, 2 trials) ↑"]
    assert "val_co_bps" not in text and "val co-bps ↑" not in text and "bps[neuron] ↑" not in text
    assert "## Bits per spike under each objective's own eval masks" in text
    assert "| ndt | mtm | -0.0150 ± 0.0071 |" in text
    assert "Not repeated: **val co-bps** equals **co-bps** in every record that has it." in text
    assert "**k-shot co-bps** (few-shot co-smoothing)" in text
    # a column no record could fill is left out; why is listed
    assert "psth R2 ↑" not in text and "Not shown as columns, no record has a value: **psth R2**." in text
    assert "- **psth R2**: the val split has no condition labels (all 4 runs)" in text  # once, not once per run
    assert text.count("the val split has no condition labels") == 1
    assert "[`site/index.html`](site/index.html)" in (tmp_path / "out" / "index.md").read_text()


def test_stale_site_pages_are_removed(store, tmp_path):
    output = tmp_path / "out"
    leaderboard.generate(store, output)
    (store / "ndt-random-s0.json").unlink()
    leaderboard.generate(store, output)
    assert not (output / "site" / "runs" / "ndt-random-s0.html").exists()
    assert (output / "site" / "runs" / "ndt-mtm-s0.html").exists()
