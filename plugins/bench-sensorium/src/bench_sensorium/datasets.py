"""The loaders and locators the registry names (imported only when a dataset is loaded)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.api import EncodingData

from bench_sensorium import synthetic
from bench_sensorium.locate import find_folders, locate_sensorium  # noqa: F401  (the registry names it)
from bench_sensorium.reader import mouse_folders, read_dataset

#: What the winner did with frames (the core's task samples the windows; the data gives whole trials).
WINDOWS_NOTE = (
    "DwiseNeuro trained on windows of 16 frames taken every second frame (31 frames, ~1 s, the newest last) "
    "and predicted every frame by sliding that window and averaging overlapping predictions"
)


def load_sensorium(config: Mapping[str, Any]) -> EncodingData:
    """Sensorium 2023 mouse folders (``path``, ``mice``; tiers, ``max_frames``, ``skip_frames``)."""
    folders = find_folders(config)
    where = str(folders[0].parent) if len(folders) > 1 else str(folders[0])
    return read_dataset(folders, config, name="sensorium", source=f"Sensorium 2023 folders in {where}", notes=(WINDOWS_NOTE,))


def load_sensorium_synthetic(config: Mapping[str, Any]) -> EncodingData:
    """Generate (once) the synthetic mouse folders of ``config``, then read them like real ones."""
    checked = synthetic.checked_config(config)
    folder = synthetic.ensure_generated(checked)
    return read_dataset(
        mouse_folders(folder),
        checked,
        name="sensorium_synthetic",
        source=f"synthetic (seed {checked['seed']}, generator v{synthetic.GENERATOR_VERSION}) in {folder}",
        notes=("expected responses are the generator's noise-free rates: the oracle", WINDOWS_NOTE),
    )


def locate_sensorium_synthetic(config: Mapping[str, Any] | None = None) -> str:
    """The generated folder of ``config``, or "" before its first load."""
    folder = synthetic.dataset_folder(config)
    return str(folder) if folder.is_dir() else ""
