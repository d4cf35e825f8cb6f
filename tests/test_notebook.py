"""harness.notebook: the short Python API for notebooks, on the conformance kit's tiny components."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness import notebook
from harness.testing import TINY_DATASET, KitComponentsPlugin, kit_host

TINY = {"model": "kit-linear", "objective": "kit-cosmoothing", "dataset": TINY_DATASET, "epochs": 2}


@pytest.fixture
def two_runs(bench_home):
    host = kit_host(KitComponentsPlugin())
    return host, [notebook.run(**TINY, seed=seed, host=host) for seed in (0, 1)]


def test_run_returns_the_record_and_results_list_it(two_runs):
    host, (first, second) = two_runs
    assert first["model"] == "kit-linear" and first["seed"] == 0 and first["metrics"]["co-bps"]["value"] is not None
    again = notebook.run(**TINY, seed=0, host=host)  # done already: the same record, not trained again
    assert again["run_id"] == first["run_id"]
    frame = notebook.results()
    assert list(frame["run_id"]) == [first["run_id"], second["run_id"]]
    assert frame.loc[0, "co-bps"] == pytest.approx(first["metrics"]["co-bps"]["value"])
    assert [record["run_id"] for record in notebook.results(dataframe=False)] == list(frame["run_id"])


def test_board_is_the_csv_the_leaderboard_writes(two_runs, tmp_path):
    import pandas as pd

    from harness.leaderboard.write import generate

    host, _ = two_runs
    frame = notebook.board(TINY_DATASET, host=host)
    generate(output=tmp_path / "boards", host=host)
    written = pd.read_csv(tmp_path / "boards" / f"{TINY_DATASET}.csv", keep_default_na=True)
    assert list(frame.columns) == list(written.columns)
    assert frame.loc[0, "label"] == "kit-linear × kit-cosmoothing" and frame.loc[0, "seeds"] == 2
    assert frame.loc[0, "co-bps"] == pytest.approx(written.loc[0, "co-bps"])
    with pytest.raises(Exception, match="no board for dataset 'nope'"):
        notebook.board("nope", host=host)


def test_compare_two_runs(two_runs):
    host, (first, second) = two_runs
    frame = notebook.compare(first["run_id"], second["run_id"], host=host)
    co_bps = frame.set_index("metric").loc["co-bps"]
    assert co_bps["a_mean"] == pytest.approx(first["metrics"]["co-bps"]["value"])
    assert co_bps["difference"] == pytest.approx(second["metrics"]["co-bps"]["value"] - first["metrics"]["co-bps"]["value"])
    assert co_bps["verdict"] == "no seed spread (1 seed each)"
    assert frame.attrs["a"] == f"run {first['run_id']}"


def test_importing_it_loads_neither_torch_nor_pandas():
    code = "import sys, harness.notebook; print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
