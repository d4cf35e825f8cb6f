"""The ``sensorium`` bench plugin: registers the encoding datasets and claims mouse folders.

Light on purpose: the standard library, the hook marker and plain-data defaults (no numpy).
"""

from __future__ import annotations

from pathlib import Path

from harness.api import ENCODING_TASK, hookimpl

from bench_sensorium.defaults import READER_DEFAULTS, SENSORIUM_DEFAULTS, SYNTHETIC_DEFAULTS, SYNTHETIC_N_NEURONS, SYNTHETIC_N_TRIALS


@hookimpl
def bench_register_datasets(register) -> None:
    register(
        "sensorium",
        "bench_sensorium.datasets:load_sensorium",
        description="Sensorium 2023: video -> mouse V1 responses, the published per-mouse folders (10 mice, 30 Hz)",
        defaults=SENSORIUM_DEFAULTS,
        source="GIN: pollytur/sensorium_2023_dataset, pollytur/Sensorium2023Data",
        downloader="bench_sensorium.download:download_dataset",
        locator="bench_sensorium.locate:locate_sensorium",
        tasks=(ENCODING_TASK,),
    )
    register(
        "sensorium_synthetic",
        "bench_sensorium.datasets:load_sensorium_synthetic",
        description="Synthetic Sensorium-format mice: 1/f videos, LN neurons with behaviour gain, known oracle",
        defaults={**SYNTHETIC_DEFAULTS, **READER_DEFAULTS},
        source="synthetic (seeded)",
        n_trials=SYNTHETIC_N_TRIALS,
        n_units=SYNTHETIC_N_NEURONS,
        locator="bench_sensorium.datasets:locate_sensorium_synthetic",
        has_ground_truth=True,
        tasks=(ENCODING_TASK,),
    )


@hookimpl
def bench_dataset_for_path(path: Path):
    """Claim a Sensorium mouse folder (data/ and meta/trials/tiers.npy) or a folder of them."""
    path = Path(path)
    if not path.is_dir():
        return None
    candidates = [path] if _is_mouse(path) else [child for child in sorted(path.iterdir()) if child.is_dir() and _is_mouse(child)]
    return ("sensorium", {"path": str(path)}) if candidates else None


def _is_mouse(folder: Path) -> bool:
    return (folder / "data").is_dir() and (folder / "meta" / "trials" / "tiers.npy").is_file()
