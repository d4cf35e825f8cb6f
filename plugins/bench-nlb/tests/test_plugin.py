"""Registration, path claims, the search for files, and the plugin's import weight."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from harness.api import BenchError, DataFileError, UnknownNameError

NLB_DANDISETS = {
    "mc_maze": "000128",
    "mc_rtt": "000129",
    "area2_bump": "000127",
    "dmfc_rsg": "000130",
    "mc_maze_large": "000138",
    "mc_maze_medium": "000139",
    "mc_maze_small": "000140",
}


def test_registers_the_seven_nlb_datasets_and_nlb_file(host):
    datasets = host.registries.datasets
    for name, dandiset in NLB_DANDISETS.items():
        entry = datasets.get(name)
        assert entry.plugin == "nlb"
        assert entry.source == f"DANDI:{dandiset}"
        assert entry.bin_sizes_ms == (5, 20)
        assert entry.downloader and entry.locator
        assert {"bin_size_ms": 5, "path": None, "val_fraction": 0.2, "val_seed": 0}.items() <= dict(entry.defaults).items()
        assert callable(entry.load())
    assert datasets.get("mc_maze_small").n_units == 142
    assert "nlb_file" in datasets


def test_plugin_module_imports_nothing_heavy():
    heavy = ("torch", "numpy", "h5py", "pynwb", "dandi", "pandas", "nlb_tools", "requests")
    code = f"import sys, bench_nlb.plugin; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_name_suggests_close_matches(host):
    with pytest.raises(UnknownNameError, match="Did you mean 'mc_maze_small'"):
        host.dataset("mc_maze_smal")


def test_claims_nlb_files_and_folders(host, make_tensor_file, tmp_path):
    claim = host.manager.hook.bench_dataset_for_path
    named = make_tensor_file("mc_maze_small_20ms.h5")
    assert claim(path=named) == ("mc_maze_small", {"path": str(named), "bin_size_ms": 20})
    unnamed = make_tensor_file("my_export.h5")
    assert claim(path=unnamed)[0] == "nlb_file"
    (tmp_path / "notes.txt").write_text("not data")
    assert claim(path=tmp_path / "notes.txt") is None
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle["weights"] = np.zeros(3)
    assert claim(path=tmp_path / "other.h5") is None  # another plugin's .h5 is left alone


def test_missing_dataset_says_where_it_looked_and_what_to_do(host, tmp_path, monkeypatch, bench_home):
    monkeypatch.chdir(tmp_path)  # away from the checkout, so ../shared/data is not found
    with pytest.raises(BenchError) as caught:
        host.dataset("mc_rtt")
    message = str(caught.value)
    assert "bench data download mc_rtt" in message and "--dataset PATH" in message
    assert str(bench_home / "data" / "mc_rtt") in message and "BENCH_DATA_PATH" in message


def test_bench_data_path_is_searched(host, make_tensor_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    file = make_tensor_file("mc_maze_medium_5ms.h5")
    store = tmp_path / "store"
    (store / "mc_maze_medium").mkdir(parents=True)
    file.rename(store / "mc_maze_medium" / file.name)
    monkeypatch.setenv("BENCH_DATA_PATH", f"{tmp_path / 'nowhere'}:{store}")
    data = host.dataset("mc_maze_medium")
    assert data.source == str(store / "mc_maze_medium" / file.name)
    assert data.heldin_regions == ("all",) * 4
    assert any("no brain-region information" in note for note in data.notes)
    from harness.api import Entry

    entry = host.registries.datasets.get("mc_maze_medium")
    locate = Entry(kind="dataset", name="x", loader=entry.locator).load()
    assert locate(dict(entry.defaults)) == data.source


def test_generic_file_loads_with_seeded_validation(host, make_tensor_file):
    from harness.api import seeded_val_split

    path = make_tensor_file("export.h5")
    data = host.dataset(str(path), {"val_fraction": 0.3, "val_seed": 7})
    _, val_index = seeded_val_split(10, 0.3, 7)
    np.testing.assert_array_equal(data.val.trial_ids, val_index)
    assert data.eval.heldout is None and data.name == "export"


def test_bin_size_must_match_the_file(host, make_tensor_file):
    path = make_tensor_file("mc_maze_small_5ms.h5")
    with pytest.raises(DataFileError, match="bin_size_ms.*expected 20 ms"):
        host.dataset("mc_maze_small", {"path": str(path), "bin_size_ms": 20})
