"""Write a simulated session as an NWB file in the Neural Latents Benchmark layout.

- units: ``spike_times``, a boolean ``heldout`` column, one electrode per unit whose
  ``location`` is the unit's region;
- trials: ``start_time`` (observed window starts), ``forward_start_time`` (the window the model
  must predict forward begins), ``stop_time`` (it ends), ``split`` (train/val/test), ``condition``;
- processing/behavior/hand_vel: the 2-D velocity-like readout, one sample per bin;
- processing/ground_truth/true_rates (Hz) and latents: what generated the spikes, one sample per bin.

Per-bin series carry explicit timestamps (the start of each bin of each trial), so a reader finds
a trial's samples from the trials table alone.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench_synthetic.simulate import Simulation

#: Fixed, so that the file's content depends on the simulation only.
SESSION_START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def bin_start_times(sim: Simulation) -> np.ndarray:
    """(R * S,) start time of every bin of every trial, observed and forward, trial after trial."""
    offsets = np.arange(sim.n_total_bins) * sim.bin_size_ms / 1000.0
    return (sim.trial_starts[:, None] + offsets[None, :]).ravel()


def write_nwb(sim: Simulation, path: Path, identifier: str) -> None:
    import h5py
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    nwb = NWBFile(
        session_description=f"bench-synthetic '{sim.name}' session (seeded simulation with ground truth)",
        identifier=identifier,
        session_start_time=SESSION_START,
        file_create_date=SESSION_START,
        notes=f"generator config: {dict(sim.config)}",
    )
    _add_units(nwb, sim)
    _add_trials(nwb, sim)

    timestamps = bin_start_times(sim)
    n_samples = len(timestamps)
    behavior = nwb.create_processing_module("behavior", "velocity-like linear readout of the latents")
    behavior.add(
        TimeSeries(
            name="hand_vel",
            data=sim.behavior.reshape(n_samples, -1).astype(np.float32),
            unit="a.u.",
            timestamps=timestamps,
            description="2-D velocity-like readout of the latent state, one sample per bin",
        )
    )
    truth = nwb.create_processing_module("ground_truth", "what generated the spikes")
    rates_hz = (sim.true_rates.reshape(n_samples, -1) * (1000.0 / sim.bin_size_ms)).astype(np.float32)
    truth.add(
        TimeSeries(
            name="true_rates",
            data=rates_hz,
            unit="Hz",
            timestamps=timestamps,
            description="Poisson rate of every unit (columns in units-table order), constant within each bin",
        )
    )
    truth.add(
        TimeSeries(
            name="latents",
            data=sim.latents.reshape(n_samples, -1).astype(np.float32),
            unit="a.u.",
            timestamps=timestamps,
            description="standardised latent state driving the rates, one sample per bin",
        )
    )
    # Through an open h5py file: the atomic writer's temporary name does not end in .nwb, and
    # pynwb warns about any path that does not.
    with h5py.File(path, "w") as handle, NWBHDF5IO(file=handle, mode="w") as io:
        io.write(nwb)


def _add_units(nwb, sim: Simulation) -> None:
    """One electrode per unit (its location the unit's region) and the units table, built column
    by column: adding units one by one makes hdmf convert every spike time on its own (slow)."""
    from hdmf.common import DynamicTableRegion, VectorData, VectorIndex
    from pynwb.misc import Units

    group_of_region = {}
    for region in dict.fromkeys(sim.regions.tolist()):
        device = nwb.create_device(name=f"probe_{region}", description="simulated recording device")
        group_of_region[region] = nwb.create_electrode_group(
            name=f"electrode_group_{region}", description="simulated", location=region, device=device
        )
    for region in sim.regions.tolist():
        nwb.add_electrode(group=group_of_region[region], location=region)

    n_units = len(sim.regions)
    spike_times = VectorData(
        name="spike_times", description="spike times (s)", data=np.concatenate(sim.spike_times)
    )
    electrodes = DynamicTableRegion(
        name="electrodes", description="the unit's electrode", data=np.arange(n_units), table=nwb.electrodes
    )
    columns = [
        spike_times,
        VectorIndex(name="spike_times_index", data=np.cumsum([len(t) for t in sim.spike_times]), target=spike_times),
        electrodes,
        VectorIndex(name="electrodes_index", data=np.arange(1, n_units + 1), target=electrodes),
        VectorData(name="heldout", description="held out from model inputs (co-smoothing target)", data=sim.heldout),
    ]
    nwb.units = Units(name="units", description="simulated units", id=np.arange(n_units), columns=columns)


def _add_trials(nwb, sim: Simulation) -> None:
    nwb.add_trial_column(name="forward_start_time", description="end of the observed window, start of forward prediction")
    nwb.add_trial_column(name="split", description="train, val or test")
    nwb.add_trial_column(name="condition", description="condition id: trials of a condition share their initial state")
    observed_s = sim.n_bins * sim.bin_size_ms / 1000.0
    for start, condition, split in zip(sim.trial_starts.tolist(), sim.conditions.tolist(), sim.splits.tolist()):
        nwb.add_trial(
            start_time=start,
            stop_time=start + sim.trial_duration_s,
            forward_start_time=start + observed_s,
            split=split,
            condition=int(condition),
        )
