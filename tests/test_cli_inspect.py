"""CLI: --version, the compact record table, report, rescore and compare."""

from __future__ import annotations

import json
import re

import pytest

from fixtures.run_records import make_record
from harness.store import records as results
from harness.cli import main
from harness.tasks.nlb.metrics import MetricValue
from harness.testing import KitComponentsPlugin, kit_host

TINY_RUN = ["run", "--dataset", "bench-tiny", "--model", "kit-linear", "--objective", "kit-cosmoothing", "--epochs", "2", "--no-progress"]


def test_version_needs_no_command(capsys):
    from harness import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"bench-harness {__version__}"


@pytest.fixture
def finished_run(bench_home, capsys):
    assert main(TINY_RUN, host=kit_host(KitComponentsPlugin())) == 0
    output = capsys.readouterr().out
    return results.find_record("latest"), output


def test_run_prints_a_compact_table_with_each_note_once(finished_run):
    record, output = finished_run
    from harness.leaderboard.board import ordered_metrics

    in_table_order = [record["metrics"][name] for name in ordered_metrics(record["metrics"])]
    notes = list(dict.fromkeys(" ".join(m["note"].split()) for m in in_table_order if m["note"]))
    flat = " ".join(output.split())  # rich wraps long footnotes at the terminal width
    for number, note in enumerate(notes, start=1):
        assert flat.count(note) == 1, note  # once, as footnote [number]
        assert f"[{number}] {note}" in flat
    table = output[: output.index("\n[1] ")]
    co_bps = next(line for line in table.splitlines() if re.search(r"\bco-bps\b", line) and "shot" not in line and "[" in line)
    assert re.search(r"│ co-bps\s+│\s+-?\d\.\d{4} \[1\] │ eval\s+│\s+8 │", co_bps), co_bps
    assert max(len(line) for line in table.splitlines()) < 80  # no note column to wrap rows
    # NLB metrics lead
    names = [line.split("│")[1].strip() for line in table.splitlines() if line.count("│") >= 4]
    assert names[:4] == ["co-bps", "vel R2", "psth R2", "fp-bps"] and names[4] == "16-shot co-bps"


def test_report_draws_a_png_in_the_run_dir_and_the_site_shows_it(finished_run, capsys, tmp_path):
    record, _ = finished_run
    assert main(["report", "latest"], host=kit_host(KitComponentsPlugin())) == 0
    path = results.Path(record["paths"]["run_dir"]) / "report.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"Software" not in path.read_bytes()
    from harness.leaderboard import generate

    generate(None, tmp_path / "boards")
    assert (tmp_path / "boards" / "site" / "runs" / f"{record['run_id']}.png").read_bytes() == path.read_bytes()


@pytest.mark.slow
def test_report_is_the_same_bytes_from_the_same_inputs(finished_run, tmp_path):
    record, _ = finished_run
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    for figure in (first, second):
        assert main(["report", record["run_id"], "--output", str(figure)], host=kit_host(KitComponentsPlugin())) == 0
    assert first.read_bytes() == second.read_bytes()


def test_rescore_adds_missing_metrics_and_keeps_the_rest(finished_run, capsys):
    record, _ = finished_run
    old = {name: entry for name, entry in record["metrics"].items() if "shot" not in name}
    results.write_record({**record, "metrics": old})  # as a record made before few-shot co-bps
    assert main(["rescore", record["run_id"][:12]], host=kit_host(KitComponentsPlugin())) == 0
    assert "added 16-shot co-bps, 32-shot co-bps, 64-shot co-bps" in capsys.readouterr().out
    rescored = results.find_record(record["run_id"])
    assert rescored["metrics"] == record["metrics"]
    assert {k: v for k, v in rescored.items() if k != "metrics"} == {k: v for k, v in record.items() if k != "metrics"}
    assert main(["rescore", "--all"], host=kit_host(KitComponentsPlugin())) == 0
    assert "nothing to add" in capsys.readouterr().out


def test_rescore_names_runs_without_predictions(finished_run, capsys):
    record, _ = finished_run
    results.predictions_path(record).unlink()
    assert main(["rescore", "--all"], host=kit_host(KitComponentsPlugin())) == 1
    captured = capsys.readouterr()
    assert "no such predictions file" in " ".join(captured.out.split()) and "1 of 1 runs could not be rescored" in captured.err
    assert main(["rescore"], host=kit_host(KitComponentsPlugin())) == 1
    assert "give one run id, or --all" in capsys.readouterr().err


def _grouped(store, name: str, model: str, objective: str, values: list[float]) -> None:
    for seed, value in enumerate(values):
        metrics = {"co-bps": MetricValue(value, "val", 2, [1, 2], "", True), "fp-bps": MetricValue(-0.1, "val", 2, [1, 2], "", True)}
        made = make_record(f"{name}-s{seed}", created=f"2025-01-01T00:00:0{seed}+00:00", model=model, objective=objective, seed=seed)
        results.write_record({**made, "metrics": results.record_metrics(metrics)}, store=store)


def test_compare_groups_and_runs_with_their_seed_spread(tmp_path, capsys):
    store = tmp_path / "store"
    _grouped(store, "mtm", "ndt", "mtm", [0.30, 0.32, 0.31])
    _grouped(store, "random", "ndt", "random", [0.29, 0.33, 0.30])
    _grouped(store, "big", "ndt", "big", [0.40, 0.41, 0.42])
    assert main(["compare", "ndt/mtm", "ndt/random", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "A: ndt × mtm (3 seeds)" in out and "B: ndt × random (3 seeds)" in out
    row = next(line for line in out.splitlines() if line.startswith("│ co-bps"))
    assert "0.3100 ± 0.0100 (n=3)" in row and "0.3067 ± 0.0208 (n=3)" in row and "-0.0033" in row and "within noise" in row
    assert main(["compare", "ndt/mtm", "ndt/big", "--store", str(store)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("│ co-bps"))
    assert "B better" in row
    assert main(["compare", "mtm-s0", "random-s1", "--store", str(store)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("│ co-bps"))
    assert "no seed spread (1 seed each)" in row
    assert main(["compare", "ndt/nothing", "ndt/mtm", "--store", str(store)]) == 1
    assert "no run or group 'ndt/nothing'" in capsys.readouterr().err
    assert main(["compare", "ndt", "ndt/mtm", "--store", str(store)]) == 1
    assert "matches several groups" in capsys.readouterr().err


def _width(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_results_fit_100_columns_with_whole_run_ids_and_each_tasks_metric(tmp_path, capsys, monkeypatch):
    store = tmp_path / "store"
    long_id = "mc_maze_small-neural-roberta-random-s0-cv5f3-9a284c87cf"
    plain = make_record(long_id)
    tuned = make_record("mc_maze_small-ndt-mtm-s0-67d7328421", spec={"model": "ndt", "objective": "mtm", "label": "tuned"})
    ensemble = make_record("mc_maze_small-ensemble-mean-45807509e5", ensembler="mean", spec={"label": "mean top=4", "members": [long_id]})
    encoding = make_record("sensorium_synthetic-dwiseneuro-cutmix-s0-ce69586ea8", model="dwiseneuro", objective="cutmix")
    encoding["task"] = {"name": "video_encoding", "primary_metric": "single-trial correlation", "validation_metric": "val_correlation"}
    encoding["metrics"] = results.record_metrics({"single-trial correlation": MetricValue(0.4476, "eval", 1, [1], "", True)})
    for record in (plain, tuned, ensemble, encoding):
        results.write_record(record, store=store)
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["results", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert _width(out) <= 100, out
    for record in (plain, tuned, ensemble, encoding):
        assert any(line.startswith(record["run_id"] + " ") for line in out.splitlines()), record["run_id"]
    nlb, video = out.split("bench results: video_encoding")
    assert "co-bps (val)" in nlb and "single-trial correlation" not in nlb
    assert "single-trial" in video and "co-bps" not in video  # the encoding run's metric names its column
    assert "0.4476" in video and "tuned" in nlb and "mean top=4" in nlb
    assert main(["results", "--store", str(store), "--wide"]) == 0
    wide = capsys.readouterr().out
    assert "2025-01-02T03:04:05+00:00" in wide and "val_co_bps" in wide and "dwiseneuro" in wide


def test_results_of_an_empty_store_is_one_line(tmp_path, capsys):
    assert main(["results", "--store", str(tmp_path / "empty")]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines() == [f"no run records in {tmp_path / 'empty'} yet: bench run adds them"]


def locate_kit_folder(config):
    """The locator of the test datasets below: the folder the test names."""
    import os

    return os.environ.get("BENCH_TEST_DATA_FOLDER", "")


def test_data_list_shows_sizes_on_disk_and_whole_paths_in_100_columns(tmp_path, capsys, monkeypatch):
    from harness import hookimpl

    folder = tmp_path / "a folder whose path is long enough to be cut in a table cell" / "kit-data"
    folder.mkdir(parents=True)
    (folder / "part-1.bin").write_bytes(b"0" * 1024)
    (folder / "part-2.bin").write_bytes(b"0" * 1024)

    class Located:
        @hookimpl
        def bench_register_datasets(self, register):
            register("kit-on-disk", "harness.testing:load_tiny_dataset", locator="test_cli_inspect:locate_kit_folder")
            register(
                "kit-remote", "harness.testing:load_tiny_dataset", locator="test_cli_inspect:no_such_place",
                downloader="test_cli_inspect:no_download", size_bytes=3 * 1024**3,
            )

    monkeypatch.setenv("BENCH_TEST_DATA_FOLDER", str(folder))
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["data", "list"], host=kit_host(Located())) == 0
    out = capsys.readouterr().out
    table, places = out.split("where the files are:")
    assert _width(table) <= 100, table
    on_disk = next(line for line in table.splitlines() if line.startswith("kit-on-disk "))
    assert "2.0 KB" in on_disk and " yes " in on_disk
    remote = next(line for line in table.splitlines() if line.startswith("kit-remote "))
    assert "3.0 GB" in remote and "not downloaded" in " ".join(table.split())
    assert re.search(rf"^  kit-on-disk +{re.escape(str(folder))}$", places, re.M), places  # whole, on a line of its own


def no_such_place(config):
    return ""


def test_data_info_names_the_axes_of_its_shapes(capsys, monkeypatch):
    from harness.testing import TINY_DATASET

    assert main(["data", "info", TINY_DATASET], host=kit_host()) == 0
    out = capsys.readouterr().out
    assert "shapes are trials x bins x units" in out
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["data", "info", TINY_DATASET], host=kit_host()) == 0
    assert re.search(r"\btrain\s+32\s+32 x 20 x 12\s", capsys.readouterr().out)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_honour_the_umask(tmp_path, umask, mode):
    """A web server running as another user must be able to read leaderboards and the site."""
    import os
    import stat

    from harness.store.atomic import write_bytes, write_text

    previous = os.umask(umask)
    try:
        write_text(tmp_path / "board.md", "| a |\n")
        write_bytes(tmp_path / "site" / "plot.png", b"png")
    finally:
        os.umask(previous)
    for path in (tmp_path / "board.md", tmp_path / "site" / "plot.png"):
        assert stat.S_IMODE(path.stat().st_mode) == mode, (path, oct(path.stat().st_mode))
