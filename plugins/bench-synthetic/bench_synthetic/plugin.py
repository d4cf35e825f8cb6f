"""The ``synthetic`` bench plugin: registers the datasets by name, importing nothing heavy."""

from __future__ import annotations

from harness.api import hookimpl

from bench_synthetic.defaults import DEFAULTS, DESCRIPTIONS, SESSION_DEFAULTS, SESSION_DESCRIPTION, SOURCE, n_trials, n_units, session_names


@hookimpl
def bench_register_datasets(register) -> None:
    for name, defaults in DEFAULTS.items():
        register(
            name,
            f"bench_synthetic.datasets:load_{name}",
            description=DESCRIPTIONS[name],
            defaults=defaults,
            source=SOURCE,
            bin_sizes_ms=(defaults["bin_size_ms"],),
            n_trials=n_trials(defaults),
            n_units=n_units(defaults),
            locator=f"bench_synthetic.datasets:locate_{name}",
            has_ground_truth=True,
        )
    register(
        "lorenz_sessions",
        "bench_synthetic.sessions:load",
        description=SESSION_DESCRIPTION,
        defaults=SESSION_DEFAULTS,
        source=SOURCE,
        bin_sizes_ms=(SESSION_DEFAULTS["bin_size_ms"],),
        has_ground_truth=True,
        locator="bench_synthetic.sessions:locate",
        sessions=session_names(SESSION_DEFAULTS),
    )
