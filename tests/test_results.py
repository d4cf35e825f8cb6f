"""harness.store.records: the run-record schema, the atomic writer, and reading a store."""

from __future__ import annotations

import copy
import json

import pytest

import dataclasses
import os
import stat
from pathlib import Path

from harness.store import atomic
from harness.store import records as results
from harness.store.record import RunRecord
from harness.errors import BenchError
from harness.tasks.nlb.metrics import MetricValue

from fixtures.run_records import make_record

STORED = Path(__file__).resolve().parents[1] / "leaderboards" / "records"


def test_write_and_read_back(tmp_path):
    record = make_record()
    path = results.write_record(record, store=tmp_path)
    assert path == tmp_path / "run-a.json"
    assert json.loads(path.read_text()) == record
    assert results.read_records(tmp_path) == [record]
    assert [p.name for p in tmp_path.iterdir()] == ["run-a.json"]  # atomic: no temporary left


def test_store_defaults_to_bench_home(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_HOME", str(tmp_path))
    results.write_record(make_record())
    assert (tmp_path / "results" / "run-a.json").is_file()
    assert results.find_record("latest")["run_id"] == "run-a"


def test_a_record_without_a_bin_size_is_valid_and_one_with_it_still_is(tmp_path):
    """Only binned data has a bin size (video encoding's frames are not bins); NLB records keep theirs."""
    unbinned = make_record("unbinned")
    del unbinned["dataset"]["bin_size_ms"]
    results.write_record(unbinned, store=tmp_path)
    results.write_record(make_record("binned"), store=tmp_path)
    assert {r["run_id"]: r["dataset"].get("bin_size_ms") for r in results.read_records(tmp_path)} == {"unbinned": None, "binned": 5}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("seed"), "'seed': missing"),
        (lambda r: r.update(sed=1), "'sed': unknown key"),
        (lambda r: r["dataset"].update(bin_size_ms="5"), "'dataset.bin_size_ms': expected int, found str"),
        (lambda r: r.update(n_parameters=True), "'n_parameters': expected int, found bool"),
        (lambda r: r.update(status="running"), "only complete runs"),
        (lambda r: r.update(created="2025-01-02T03:04:05"), "not in UTC"),
        (lambda r: r.update(created="yesterday"), "not an ISO-8601 time"),
        (lambda r: r.update(run_id="../escape"), "not a safe file name"),
        (lambda r: r.update(schema_version=4), "reads versions 1 to 3, found 4"),
        (lambda r: r.update(schema_version=1, legacy_run_id="run-0"), "'legacy_run_id': added in schema version 2"),
        (lambda r: r["metrics"]["co-bps"].update(value=float("nan")), "'metrics.co-bps.value': nan is not finite"),
        (lambda r: r["metrics"]["co-bps"].update(n_trials=5), "'metrics.co-bps.n_trials': 5 but 2 trial ids"),
        (lambda r: r["metrics"]["co-bps"].pop("split"), "'metrics.co-bps.split': missing"),
        (lambda r: r["versions"]["plugins"].update({"bench-ndt": 1}), "'versions.plugins.bench-ndt': expected str"),
        (lambda r: r["spec"].update(when=object()), "not JSON-serialisable"),
    ],
)
def test_invalid_records_are_refused_with_the_field_named(tmp_path, change, message):
    record = make_record()
    change(record)
    with pytest.raises(results.RecordError, match=message.replace("(", r"\(").replace(")", r"\)")):
        results.write_record(record, store=tmp_path)
    assert not any(tmp_path.iterdir())


def test_optional_trainer_keys_are_accepted_and_checked(tmp_path):
    record = make_record(history=[{"epoch": 0.0, "val_co_bps": 0.1}], stopped_because="max epochs")
    record["hyperparameters"]["chosen"] = {"kernel_sd_ms": 60}
    results.write_record(record, store=tmp_path)
    assert results.read_records(tmp_path) == [record]
    record["history"] = [{"epoch": "first"}]
    with pytest.raises(results.RecordError, match=r"'history\[0\]': expected an object of numbers"):
        results.write_record(record, store=tmp_path)


def test_corrupt_and_foreign_files_are_skipped_with_a_warning(tmp_path):
    results.write_record(make_record("good"), store=tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "foreign.json").write_text(json.dumps({"hello": "world"}))
    stale = make_record("renamed")
    (tmp_path / "other-name.json").write_text(results.canonical_json(stale))
    invalid = make_record("invalid")
    invalid["seed"] = "zero"
    (tmp_path / "invalid.json").write_text(json.dumps(invalid))
    with pytest.warns(UserWarning) as caught:
        records = results.read_records(tmp_path)
    assert [r["run_id"] for r in records] == ["good"]
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 4
    assert any("broken.json: not readable JSON" in m for m in messages)
    assert any("foreign.json: not a bench-harness run record" in m for m in messages)
    assert any("other-name.json: file name does not match run_id 'renamed'" in m for m in messages)
    assert any("invalid.json: 'seed': expected int, found str" in m for m in messages)


def test_find_record(tmp_path):
    results.write_record(make_record("2025-a1", created="2025-01-01T00:00:00+00:00"), store=tmp_path)
    results.write_record(make_record("2025-b2", created="2025-01-03T00:00:00Z"), store=tmp_path)
    results.write_record(make_record("2025-b3", created="2025-01-02T00:00:00+00:00"), store=tmp_path)
    assert results.find_record("latest", tmp_path)["run_id"] == "2025-b2"
    assert results.find_record("2025-a1", tmp_path)["run_id"] == "2025-a1"
    assert results.find_record("2025-a", tmp_path)["run_id"] == "2025-a1"  # unique prefix
    with pytest.raises(BenchError, match="ambiguous: 2025-b2, 2025-b3"):
        results.find_record("2025-b", tmp_path)
    with pytest.raises(BenchError, match="Did you mean 2025-a1"):
        results.find_record("2025-a7", tmp_path)
    with pytest.raises(BenchError, match="no run records yet"):
        results.find_record("latest", tmp_path / "empty")


def test_rewriting_a_run_replaces_its_record(tmp_path):
    results.write_record(make_record(), store=tmp_path)
    updated = copy.deepcopy(make_record())
    updated["wall_seconds"] = 99.0
    results.write_record(updated, store=tmp_path)
    assert [r["wall_seconds"] for r in results.read_records(tmp_path)] == [99.0]


@pytest.mark.parametrize("path", sorted(STORED.glob("*.json")), ids=lambda path: path.stem)
def test_every_stored_record_loads_through_the_type_and_writes_back_the_same(path):
    raw = json.loads(path.read_text())
    record = RunRecord.from_dict(raw, source=str(path))
    assert record.to_dict() == raw
    assert results.canonical_json(record.to_dict()) == path.read_text()  # leaderboards copy them byte for byte


def test_the_type_and_the_schema_name_the_same_keys():
    stored = {f.name for f in dataclasses.fields(RunRecord)} - {"source", "_checked"}
    from harness.store import schema

    assert stored == set(schema._SCHEMA) | set(schema._OPTIONAL)


def test_a_bad_record_is_refused_naming_its_file_the_field_and_what_was_expected(tmp_path):
    record = make_record()
    record["seed"] = "zero"
    with pytest.raises(results.RecordError, match=r"^/some/run-a.json: 'seed': expected int, found str"):
        RunRecord.from_dict(record, source="/some/run-a.json")
    with pytest.raises(results.RecordError, match=r"run record run-a: 'epochs': expected int, found str"):
        RunRecord(**{**_parts(), "epochs": "3"})


def _parts() -> dict:
    record = make_record()
    for key in ("schema", "schema_version", "created", "versions", "status"):
        record.pop(key)
    return {**record, "created": "2025-01-02T03:04:05+00:00", "versions": make_record()["versions"]}


def test_new_records_are_built_in_one_place_in_the_newest_version(tmp_path):
    from harness.plugin.manager import make_plugin_manager

    class Task:
        name, primary_metric, validation_metric = "nlb_cosmoothing", "co-bps", "val_co_bps"

    parts = _parts()
    for key in ("created", "versions", "dataset", "device", "n_parameters", "wall_seconds"):
        parts.pop(key)
    parts["metrics"] = {"co-bps": MetricValue(0.2, "val", 1, [4], "", True)}
    members = [make_record("m0", device="cuda", n_parameters=10, wall_seconds=1.25), make_record("m1", device="cpu", n_parameters=5, wall_seconds=2.5)]
    record = RunRecord.of_members({}, members, torch_version=None, task=Task(), **parts)
    assert record.schema_version == results.RECORD_SCHEMA_VERSION == 3
    assert (record.device, record.n_parameters, record.wall_seconds) == ("cpu+cuda", 15, 3.75)
    assert record.task == {"name": "nlb_cosmoothing", "primary_metric": "co-bps", "validation_metric": "val_co_bps"}
    assert record.metrics["co-bps"] == MetricValue(0.2, "val", 1, [4], "", True).to_dict()
    path = record.write(tmp_path)
    assert results.read_records(tmp_path) == [record.to_dict()] and path.name == "run-a.json"


def test_an_old_id_finds_the_record_that_now_has_a_new_one(tmp_path):
    results.write_record(make_record("lorenz-ndt-s0-new1", legacy_run_id="lorenz-ndt-s0-old"), store=tmp_path)
    assert results.find_record("lorenz-ndt-s0-old", tmp_path)["run_id"] == "lorenz-ndt-s0-new1"
    results.write_record(make_record("lorenz-ndt-s0-new2", legacy_run_id="lorenz-ndt-s0-old"), store=tmp_path)
    with pytest.raises(BenchError, match="old id of lorenz-ndt-s0-new1, lorenz-ndt-s0-new2"):
        results.find_record("lorenz-ndt-s0-old", tmp_path)


def test_a_version_1_record_is_read_and_rewritten_as_version_1(tmp_path):
    old = make_record(schema_version=1)
    results.write_record(old, store=tmp_path)
    assert results.read_records(tmp_path) == [old]


def test_an_atomic_write_syncs_the_folder_after_the_rename(tmp_path, monkeypatch):
    real_fsync, real_replace = os.fsync, os.replace
    events: list[str] = []

    def fsync(descriptor):
        events.append("fsync-dir" if stat.S_ISDIR(os.fstat(descriptor).st_mode) else "fsync-file")
        return real_fsync(descriptor)

    def replace(source, target):
        events.append("replace")
        return real_replace(source, target)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    atomic.write_text(tmp_path / "a.txt", "hello")
    assert events == ["fsync-file", "replace", "fsync-dir"]
    assert (tmp_path / "a.txt").read_text() == "hello"
