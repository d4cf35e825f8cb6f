"""What the plugin knows about each NLB'21 dataset before opening a file. Pure Python, no imports
beyond the standard library, so that ``bench --help`` and ``bench data list`` stay fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Bin sizes NLB'21 publishes tensors and leaderboards for.
BIN_SIZES_MS = (5, 20)

#: The metrics nlb_tools' evaluation computes for each dataset (evaluation.py: psth R2 only where
#: PARAMS has psth_params, i.e. not mc_rtt; tp corr instead of vel R2 for dmfc_rsg).
MAZE_METRICS = ("co-bps", "fp-bps", "vel R2", "psth R2")
RTT_METRICS = ("co-bps", "fp-bps", "vel R2")
DMFC_METRICS = ("co-bps", "fp-bps", "tp corr", "psth R2")


@dataclass(frozen=True)
class NlbDataset:
    name: str
    dandiset: str
    title: str
    metrics: tuple[str, ...]
    #: Units in the train file (held-in + held-out), from the NLB'21 paper.
    n_units: int | None
    #: Trials of the NLB 'train' + 'val' splits, where the count is certain.
    n_trials: int | None
    #: DANDI file-name fragment that identifies this dataset's NWB files.
    nwb_marker: str


DATASETS: dict[str, NlbDataset] = {
    d.name: d
    for d in (
        NlbDataset("mc_maze", "000128", "MC_Maze: monkey M1/PMd, delayed reaches through a maze", MAZE_METRICS, 182, 2295, "sub-Jenkins_ses-full"),
        NlbDataset("mc_rtt", "000129", "MC_RTT: monkey M1, self-paced random target reaches", RTT_METRICS, 130, None, "sub-Indy"),
        NlbDataset("area2_bump", "000127", "Area2_Bump: monkey area 2, active and passive (bump) reaches", MAZE_METRICS, 65, None, "sub-Han"),
        NlbDataset("dmfc_rsg", "000130", "DMFC_RSG: monkey dorsomedial frontal cortex, ready-set-go timing", DMFC_METRICS, 54, None, "sub-Haydn"),
        NlbDataset("mc_maze_large", "000138", "MC_Maze_Large: 500 maze trials (scaling benchmark)", MAZE_METRICS, 162, 500, "sub-Jenkins_ses-large"),
        NlbDataset("mc_maze_medium", "000139", "MC_Maze_Medium: 250 maze trials (scaling benchmark)", MAZE_METRICS, 152, 250, "sub-Jenkins_ses-medium"),
        NlbDataset("mc_maze_small", "000140", "MC_Maze_Small: 100 maze trials (scaling benchmark)", MAZE_METRICS, 142, 100, "sub-Jenkins_ses-small"),
    )
}

#: The generic dataset for any NLB-layout file given by path.
GENERIC = "nlb_file"

DATA_SUFFIXES = (".h5", ".nwb")


def submission_name(name: str, bin_size_ms: int) -> str:
    """NLB's group name in submission files: the dataset, with ``_20`` for 20 ms bins."""
    return name if bin_size_ms == 5 else f"{name}_{bin_size_ms}"


def dataset_from_filename(filename: str) -> str | None:
    """The NLB dataset a file name belongs to (a tensor h5 or a DANDI NWB name), or None."""
    lowered = filename.lower()
    for name in sorted(DATASETS, key=len, reverse=True):  # mc_maze_small before mc_maze
        if lowered.startswith(name + "_") or lowered.startswith(name + "."):
            return name
    for dataset in DATASETS.values():
        if dataset.nwb_marker.lower() in lowered:
            return dataset.name
    return None


def bin_size_from_filename(filename: str) -> int | None:
    """``mc_maze_small_20ms.h5`` -> 20; None when the name carries no bin size."""
    match = re.search(r"_(\d+)ms\b", filename)
    return int(match.group(1)) if match else None
