"""The bench plugin: registers the NLB'21 datasets, claims NLB files, adds ``bench data download``.

Kept light on purpose: it imports only the hook marker, the catalog and the standard library.
Loaders and the downloader are ``"module:function"`` strings, imported when used.
"""

from __future__ import annotations

from pathlib import Path

from harness.api import hookimpl

from bench_nlb.catalog import BIN_SIZES_MS, DATA_SUFFIXES, DATASETS, GENERIC, bin_size_from_filename, dataset_from_filename

DEFAULTS = {
    "bin_size_ms": 5,
    "path": None,  # an explicit NLB .h5 / .nwb file or a folder of them; None searches (see locate.py)
    "val_fraction": 0.2,
    "val_seed": 0,
}


@hookimpl
def bench_register_datasets(register) -> None:
    for dataset in DATASETS.values():
        register(
            dataset.name,
            f"bench_nlb.load:load_{dataset.name}",
            description=dataset.title,
            defaults=DEFAULTS,
            source=f"DANDI:{dataset.dandiset}",
            bin_sizes_ms=BIN_SIZES_MS,
            n_trials=dataset.n_trials,
            n_units=dataset.n_units,
            downloader="bench_nlb.dandi_download:download_dataset",
            locator=f"bench_nlb.locate:locate_{dataset.name}",
        )
    register(
        "mc_maze_small_pseudo",
        "bench_nlb.pseudo_sessions:load",
        description="PSEUDO-sessions pseudo_a / pseudo_b: MC_Maze_Small's units and trials dealt into two disjoint halves (one real session)",
        defaults={**DEFAULTS, "sessions": [], "pseudo_seed": 0},
        source=f"DANDI:{DATASETS['mc_maze_small'].dandiset}",
        bin_sizes_ms=BIN_SIZES_MS,
        locator="bench_nlb.locate:locate_mc_maze_small",
        sessions=("pseudo_a", "pseudo_b"),
    )
    register(
        GENERIC,
        "bench_nlb.load:load_file",
        description="Any NLB tensor .h5 (nlb_tools layout) or NLB .nwb file given by path",
        defaults=DEFAULTS,
        source="local file",
        bin_sizes_ms=BIN_SIZES_MS,
    )


@hookimpl
def bench_dataset_for_path(path: Path):
    """Claim an NLB .h5 / .nwb file, or a folder holding some, naming the dataset when known."""
    path = Path(path)
    if path.is_file():
        files = [path] if _looks_like_nlb(path) else []
    elif path.is_dir():
        files = [p for suffix in DATA_SUFFIXES for p in sorted(path.rglob(f"*{suffix}")) if _looks_like_nlb(p)]
    else:
        files = []
    if not files:
        return None
    config: dict = {"path": str(path)}
    names = {dataset_from_filename(file.name) for file in files}
    name = names.pop() if len(names) == 1 and None not in names else None
    if path.is_file():
        bin_size = bin_size_from_filename(path.name)
        if bin_size is not None:
            config["bin_size_ms"] = bin_size
    return (name or GENERIC, config)


def _looks_like_nlb(path: Path) -> bool:
    """An .nwb file, or an .h5 named after an NLB dataset or holding nlb_tools' train key."""
    if path.name.startswith(".") or path.suffix not in DATA_SUFFIXES:
        return False
    if path.suffix == ".nwb" or dataset_from_filename(path.name):
        return True
    import h5py  # only here, when a path is offered: other plugins' .h5 files are left alone

    try:
        with h5py.File(path, "r") as handle:
            return "train_spikes_heldin" in handle
    except OSError:
        return False


@hookimpl
def bench_register_commands(cli) -> None:
    from bench_nlb.commands import add_data_commands  # typer only; dandi loads when a command runs

    add_data_commands(cli.group("data", help="List, inspect and download datasets."))
