"""Brain region of each unit, from an NWB file's electrodes table (``location``: M1, PMd, ...).

Read with h5py from the standard NWB layout (``/units`` and
``/general/extracellular_ephys/electrodes``): it needs only three columns and avoids pynwb's
import time.

The NLB MC_Maze files carry a conversion error: each unit's electrode reference is its channel
within its own Utah array (0..95) without the array's offset, so read naively every unit lands on
the first array (PMd). Their unit ids encode the array, ``array * 1000 + channel * 10 + sort``,
and the electrodes table lists the arrays one after the other (rows 0-95 PMd, 96-191 M1). When
every reference matches its id's channel and the ids name more than one array, the array offset is
added back (``ARRAY_OFFSET_NOTE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from harness.api import DataFileError

from bench_nlb.checks import check_disjoint_units

UNKNOWN_REGION = "all"
ELECTRODES_TABLE = "general/extracellular_ephys/electrodes"
ELECTRODES_PER_ARRAY = 96  # a Utah array
ARRAY_OFFSET_NOTE = (
    "unit electrode references in {file} omit the Utah array offset (NLB conversion error); "
    "regions follow the array encoded in each unit id (array*1000 + channel*10 + sort)"
)


@dataclass(frozen=True)
class UnitRegions:
    """Units of one NWB file in file order, split by its ``heldout`` flag."""

    path: Path
    heldin_ids: np.ndarray
    heldout_ids: np.ndarray
    #: None when the file names no location for its units.
    heldin_regions: tuple[str, ...] | None
    heldout_regions: tuple[str, ...] | None
    notes: tuple[str, ...] = field(default=())


def _text(values: np.ndarray) -> list[str]:
    return [value.decode() if isinstance(value, bytes) else str(value) for value in values]


def _first_electrode_rows(units: h5py.Group, n_units: int) -> np.ndarray:
    """Row in the electrodes table of each unit's first electrode (a ragged NWB column)."""
    flat = units["electrodes"][()]
    if "electrodes_index" not in units:
        return np.asarray(flat[:n_units])
    ends = units["electrodes_index"][()]
    starts = np.concatenate([[0], ends[:-1]]).astype(int)
    if np.any(ends <= starts):
        raise ValueError("a unit without electrodes")
    return np.asarray(flat[starts])


def array_corrected_rows(ids: np.ndarray, rows: np.ndarray, n_electrodes: int) -> np.ndarray | None:
    """Electrode rows with the array offset added back, or None when the ids do not show the error."""
    arrays, channels = ids // 1000, (ids // 10) % 100
    n_arrays = n_electrodes // ELECTRODES_PER_ARRAY
    if n_electrodes % ELECTRODES_PER_ARRAY or n_arrays < 2 or len(ids) == 0:
        return None
    if arrays.min() < 1 or arrays.max() > n_arrays or len(np.unique(arrays)) < 2:
        return None
    if not np.array_equal(rows, channels - 1):
        return None
    return (arrays - 1) * ELECTRODES_PER_ARRAY + channels - 1


def read_unit_regions(path: Path) -> UnitRegions:
    """Unit ids, held-out flags and each unit's region (its first electrode's location)."""
    path = Path(path)
    notes: list[str] = []
    try:
        with h5py.File(path, "r") as nwb:
            if "units" not in nwb:
                raise DataFileError(path, "units", "an NWB units table", "none")
            units = nwb["units"]
            ids = np.asarray(units["id"][()]).astype(np.int64)
            heldout = np.asarray(units["heldout"][()], dtype=bool) if "heldout" in units else np.zeros(len(ids), bool)
            regions = None
            if "electrodes" in units and ELECTRODES_TABLE in nwb and "location" in nwb[ELECTRODES_TABLE]:
                locations = _text(nwb[ELECTRODES_TABLE]["location"][()])
                rows = _first_electrode_rows(units, len(ids))
                corrected = array_corrected_rows(ids, rows, len(locations))
                if corrected is not None:
                    rows = corrected
                    notes.append(ARRAY_OFFSET_NOTE.format(file=path.name))
                regions = [locations[row] for row in rows]
                if all(region.strip().lower() in ("", "unknown", "none", "nan") for region in regions):
                    regions = None
    except DataFileError:
        raise
    except (OSError, KeyError, ValueError, IndexError) as error:
        raise DataFileError(path, "units", "a readable NWB file with a units table", f"{type(error).__name__}: {error}") from None
    check_disjoint_units(path, "units.heldout", ids[~heldout], ids[heldout])
    return UnitRegions(
        path=path,
        heldin_ids=ids[~heldout],
        heldout_ids=ids[heldout],
        heldin_regions=None if regions is None else tuple(r for r, out in zip(regions, heldout) if not out),
        heldout_regions=None if regions is None else tuple(r for r, out in zip(regions, heldout) if out),
        notes=tuple(notes),
    )
