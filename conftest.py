"""Test-wide set-up: every test session gets its own BENCH_HOME, so nothing touches the user's."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def _session_bench_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("bench-home")
    patcher = pytest.MonkeyPatch()
    patcher.setenv("BENCH_HOME", str(home))
    patcher.delenv("BENCH_PLUGINS", raising=False)
    patcher.delenv("BENCH_DISABLE_PLUGINS", raising=False)
    yield home
    patcher.undo()


@pytest.fixture
def bench_home(tmp_path, monkeypatch) -> Path:
    """A BENCH_HOME of this test's own (results store, runs, caches)."""
    home = tmp_path / "bench-home"
    monkeypatch.setenv("BENCH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def mc_maze_small_dir() -> Path:
    """The shared real MC_Maze_Small folder; tests needing it skip where ../shared is absent."""
    folder = SHARED_DATA / "mc_maze_small"
    if not (folder / "mc_maze_small_5ms.h5").exists():
        pytest.skip(f"real data not found at {folder} (../shared/data is only beside the project checkout in CI)")
    return folder
