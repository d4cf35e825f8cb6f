"""``lorenz_sessions``: a session set with ground truth, near and far dynamics."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bench_synthetic.sessions import load
from harness.api import BenchError, DatasetTensors, SessionSet, nlb_bits_per_spike

SMALL = {"n_near": 3, "n_far": 2, "n_target": 1, "n_conditions": 4, "trials_per_condition_min": 4, "trials_per_condition_max": 6}


@pytest.fixture(scope="module")
def sessions() -> SessionSet:
    return load(SMALL)


def test_registered_with_its_sessions_and_light(host):
    entry = host.registries.datasets.get("lorenz_sessions")
    assert entry.sessions[:2] == ("s00", "s01") and "f03" in entry.sessions and entry.sessions[-1] == "t00"
    assert len(entry.sessions) == 21 and entry.has_ground_truth
    code = "import sys, bench_synthetic.plugin; print(sorted(m for m in ('torch', 'scipy') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_every_session_has_its_own_neurons_trials_and_rates(sessions):
    assert sessions.names == ("s00", "s01", "s02", "f00", "f01", "t00")
    assert [s.group for s in sessions.sessions] == ["near"] * 3 + ["far"] * 2 + ["target"]
    units = {(s.data.n_heldin, s.data.n_heldout) for s in sessions.sessions}
    trials = {s.data.train.n_trials for s in sessions.sessions}
    rates = {round(float(s.data.train.true_rates.mean()), 4) for s in sessions.sessions}
    assert len(units) > 1 and len(trials) > 1 and len(rates) == len(sessions.sessions)
    for session in sessions.sessions:
        data = session.data
        assert data.name == f"lorenz_sessions:{session.name}"
        assert data.train.true_rates.shape == (data.train.n_trials, data.n_bins + data.n_forward, data.n_heldin + data.n_heldout)
        assert data.train.behavior.shape[2] == 2
        assert len(session.unit_ids) == data.n_heldin + data.n_heldout and session.unit_ids[0].startswith(session.name)


def test_the_target_session_has_enough_train_trials_for_fine_tuning_curves():
    target = load({**SMALL, "sessions": ["t00"], "n_conditions": 8})
    assert isinstance(target, DatasetTensors) and target.train.n_trials == 64  # 10, 25, 50, all


def test_a_session_does_not_depend_on_which_others_are_picked(sessions):
    alone = load({**SMALL, "sessions": ["s01"]})
    np.testing.assert_array_equal(alone.train.heldin, sessions.session("s01").data.train.heldin)
    assert alone.checksum == sessions.session("s01").data.checksum


def _condition_factors(session) -> np.ndarray:
    """The session's condition-averaged true log-rates (conditions x bins, units), centred."""
    split = session.data.train
    log_rates = np.log(split.true_rates)
    means = np.concatenate([log_rates[split.conditions == c].mean(axis=0) for c in np.unique(split.conditions)])
    return means - means.mean(axis=0)


def _shared_variance(one, other) -> float:
    """How much of one session's condition-averaged log-rates a linear map of the other's explains."""
    a, b = _condition_factors(one), _condition_factors(other)
    fit, *_ = np.linalg.lstsq(b, a, rcond=None)
    return 1 - float(((a - b @ fit) ** 2).sum() / (a**2).sum())


def test_near_sessions_share_their_dynamics_and_far_ones_do_not(sessions):
    near = _shared_variance(sessions.session("s00"), sessions.session("s01"))
    target = _shared_variance(sessions.session("t00"), sessions.session("s02"))
    far = _shared_variance(sessions.session("s00"), sessions.session("f00"))
    assert near > 0.95 and target > 0.95, (near, target)
    assert far < near - 0.1, (near, far)


def test_true_rates_are_an_oracle_for_co_bps(sessions):
    for session in sessions.sessions:
        split, n_bins, n_heldin = session.data.eval, session.data.n_bins, session.data.n_heldin
        oracle = nlb_bits_per_spike(split.true_rates[:, :n_bins, n_heldin:], split.heldout)
        assert oracle > 0.05, (session.name, oracle)


def test_unknown_sessions_and_options_are_refused_in_one_line():
    with pytest.raises(BenchError) as error:
        load({**SMALL, "sessions": ["s07"]})
    assert "\n" not in str(error.value) and "lorenz_sessions" in str(error.value) and "s00, s01, s02, f00, f01, t00" in str(error.value)
    with pytest.raises(BenchError, match="units_min"):
        load({"units_min": 50})
    with pytest.raises(BenchError, match="no option"):
        load({"n_sessions": 3})
