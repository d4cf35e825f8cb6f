"""``mc_maze_small_pseudo``: MC_Maze_Small as two pseudo-sessions with disjoint units and trials."""

from __future__ import annotations

import numpy as np
import pytest

from harness.api import BenchError, DatasetTensors, SessionSet

pytestmark = pytest.mark.shared_data


@pytest.fixture
def pseudo(host, shared_folder) -> SessionSet:
    return host.dataset("mc_maze_small_pseudo", {"path": str(shared_folder)})


def test_two_pseudo_sessions_clearly_named(host, pseudo):
    assert pseudo.names == ("pseudo_a", "pseudo_b")
    assert "PSEUDO" in host.registries.datasets.get("mc_maze_small_pseudo").description
    assert any("PSEUDO-sessions" in note for note in pseudo.notes)
    assert [s.data.name for s in pseudo.sessions] == ["mc_maze_small_pseudo:pseudo_a", "mc_maze_small_pseudo:pseudo_b"]


def test_units_are_disjoint_and_together_are_the_file_s(pseudo):
    a, b = pseudo.sessions
    assert not set(a.unit_ids) & set(b.unit_ids)
    assert len(a.unit_ids) + len(b.unit_ids) == 107 + 35
    assert (a.data.n_heldin + b.data.n_heldin, a.data.n_heldout + b.data.n_heldout) == (107, 35)


def test_trials_are_disjoint_and_together_are_the_file_s(pseudo):
    a, b = (s.data for s in pseudo.sessions)
    labelled_a = set(a.train.trial_ids) | set(a.val.trial_ids)
    labelled_b = set(b.train.trial_ids) | set(b.val.trial_ids)
    assert not labelled_a & labelled_b and labelled_a | labelled_b == set(range(75))
    assert not set(a.eval.trial_ids) & set(b.eval.trial_ids)
    assert len(a.eval.trial_ids) + len(b.eval.trial_ids) == 25
    assert a.eval.heldout is None and a.train.behavior.shape[2] == 2


def test_a_pseudo_session_holds_the_file_s_spikes_of_its_units(host, shared_folder, pseudo):
    whole = host.dataset("mc_maze_small", {"path": str(shared_folder)})
    a = pseudo.sessions[0]
    heldin = [int(unit.split("-")[1]) for unit in a.unit_ids if unit.startswith("heldin-")]
    trial = int(a.data.train.trial_ids[0])
    source = whole.train if trial in set(whole.train.trial_ids) else whole.val
    row = list(source.trial_ids).index(trial)
    np.testing.assert_array_equal(a.data.train.heldin[0], source.heldin[row][:, heldin])


def test_one_pseudo_session_is_an_ordinary_dataset_and_others_are_refused(host, shared_folder):
    data = host.dataset("mc_maze_small_pseudo:pseudo_b", {"path": str(shared_folder)})
    assert isinstance(data, DatasetTensors) and data.submission_name is None
    with pytest.raises(BenchError, match="its sessions: pseudo_a, pseudo_b"):
        host.resolve_dataset("mc_maze_small_pseudo:pseudo_c")
