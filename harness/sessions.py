"""The session contracts: a dataset of many sessions, and a model that stitches them.

A **session** is one recording with units of its own (how many, their ids, their regions), its
own trials, splits and optional behaviour: an ordinary :class:`harness.contracts.DatasetTensors`
(named ``<set>:<session>``) with the ids of its units. A **session set** is a list of them: what
a pretraining run trains on. A run picks sessions with ``dataset_config: {sessions: [...]}`` or
``--dataset SET:SESSION``; one session picked is an ordinary dataset, an ordinary run.

A model that supports sessions (registered with ``sessions=True``) is built with
:class:`SessionShapes` and honours :class:`MultiSessionModel`: per-session read-in and read-out
(and a session token) around a shared core, whose weights a fine-tuning run (``--init-from``)
takes from a pretraining run's checkpoint.

Light: numpy and torch load only where data or a model is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from harness.contracts import DatasetTensors, ModelShape, Objective
from harness.errors import BenchError

if TYPE_CHECKING:
    import torch

#: The task a session set poses: NLB co-smoothing in every session, each with its own units.
SESSIONS_TASK = "nlb_sessions"
#: The dataset option that picks sessions (a list of names; absent or empty: every session).
SESSIONS_OPTION = "sessions"


def check_session_names(dataset: str, available: Sequence[str], wanted: Sequence[str]) -> tuple[str, ...]:
    """``wanted`` as a tuple, refused in one line naming ``dataset`` and its sessions when one is
    not among ``available`` (or when it names one twice)."""
    wanted = tuple(str(name) for name in wanted)
    unknown = [name for name in wanted if name not in available]
    if unknown:
        listing = ", ".join(available)
        raise BenchError(f"dataset '{dataset}' has no session {', '.join(repr(n) for n in unknown)}; its sessions: {listing}")
    if len(set(wanted)) != len(wanted):
        raise BenchError(f"dataset '{dataset}': sessions {list(wanted)} name a session twice")
    return wanted


@dataclass(frozen=True)
class Session:
    """One session: its name in the set, its data (an ordinary dataset) and its units' ids
    (held-in then held-out, unique within the session). ``group`` says what kind of session it
    is where a set has kinds (bench-synthetic's ``near`` and ``far``)."""

    name: str
    data: DatasetTensors
    unit_ids: tuple[str, ...]
    group: str = ""

    def __post_init__(self) -> None:
        n_units = self.data.n_heldin + self.data.n_heldout
        if len(self.unit_ids) != n_units or len(set(self.unit_ids)) != n_units:
            raise BenchError(f"session '{self.name}': {len(self.unit_ids)} unit ids ({len(set(self.unit_ids))} distinct) for {n_units} units")


@dataclass(frozen=True)
class SessionSet:
    """Sessions a run trains on together. Every session has the same bin size (the trainer
    batches one session at a time, so their unit and trial counts may differ)."""

    name: str
    sessions: tuple[Session, ...]
    source: str = ""
    task: str = SESSIONS_TASK
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.sessions:
            raise BenchError(f"session set '{self.name}' has no sessions")
        if len(set(self.names)) != len(self.names):
            raise BenchError(f"session set '{self.name}' names a session twice: {list(self.names)}")
        if len({session.data.bin_size_ms for session in self.sessions}) != 1:
            raise BenchError(f"session set '{self.name}': sessions of different bin sizes")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(session.name for session in self.sessions)

    @property
    def bin_size_ms(self) -> int:
        return self.sessions[0].data.bin_size_ms

    @property
    def checksum(self) -> str:
        digest = hashlib.sha256()
        for session in self.sessions:
            digest.update(f"{session.name}|{session.data.checksum}|".encode())
        return digest.hexdigest()

    def session(self, name: str) -> Session:
        check_session_names(self.name, self.names, [name])
        return self.sessions[self.names.index(name)]

    def select(self, names: Sequence[str] | None) -> SessionSet | DatasetTensors:
        """The sessions ``names`` (None or empty: all) in that order; one name: its ordinary dataset."""
        if not names:
            return self
        names = check_session_names(self.name, self.names, names)
        if len(names) == 1:
            return self.session(names[0]).data
        return SessionSet(self.name, tuple(self.session(name) for name in names), self.source, self.task, self.notes)


@dataclass(frozen=True)
class SessionShapes:
    """What a model that supports sessions is built with: one :class:`ModelShape` per session
    (its units and bins), in the set's order, every one with the run's ``n_prompts``."""

    names: tuple[str, ...]
    shapes: tuple[ModelShape, ...]

    @classmethod
    def single(cls, shape: ModelShape, name: str) -> SessionShapes:
        """One session: the shape of a fine-tuning run on an ordinary dataset."""
        return cls((name,), (shape,))

    @property
    def n_sessions(self) -> int:
        return len(self.shapes)

    @property
    def n_prompts(self) -> int:
        return self.shapes[0].n_prompts

    @property
    def bin_size_ms(self) -> int:
        return self.shapes[0].bin_size_ms

    @property
    def n_total_bins(self) -> int:
        """The longest session's observed + forward bins (what position tables are sized by)."""
        return max(shape.n_total_bins for shape in self.shapes)


@runtime_checkable
class MultiSessionModel(Protocol):
    """A model built by ``build(SessionShapes, config)`` by a plugin registered ``sessions=True``.

    ``forward(spikes, prompt, session=0)`` is :class:`harness.contracts.RateModel`'s forward for
    session ``session`` (its index in ``SessionShapes.names``): held-in counts (batch, T + F, I_s)
    in, log-rates (batch, T + F, I_s + O_s) out. Built with one session it is a RateModel as it
    is. ``core_keys()`` names the state-dict keys of the shared core (every key not per session):
    what ``--init-from`` loads from another run's checkpoint and ``train.freeze_core_steps`` holds
    fixed while the new session's layers learn.
    """

    def forward(self, spikes: torch.Tensor, prompt: torch.Tensor, session: int = 0) -> torch.Tensor: ...

    def core_keys(self) -> tuple[str, ...]: ...

    def parameters(self): ...


# -- objectives: one per session, built from each session's own dataset ----------------------
# An objective knows a dataset's units and regions (MtM's region masks), and the sessions of a
# set have their own: every objective stays as it is (any objective x any model) and the harness
# builds one per session (harness.plugin.host.Host.objective).


@dataclass(frozen=True)
class SessionObjectives:
    """The run's objective, session by session (in the set's order). Their prompt ids must mean
    the same in every session, so every one has the same ``n_prompts`` (MtM drops its region
    schemes where a session has one region: mixing such sessions is refused)."""

    name: str
    objectives: tuple[Objective, ...]
    session_names: tuple[str, ...]

    def __post_init__(self) -> None:
        counts = {names: objective.n_prompts for names, objective in zip(self.session_names, self.objectives)}
        if len(set(counts.values())) > 1:
            listing = ", ".join(f"{name}: {n}" for name, n in counts.items())
            raise BenchError(f"objective '{self.name}' has a different number of prompts per session ({listing}): its prompt ids would mean different tasks")

    @property
    def n_prompts(self) -> int:
        return self.objectives[0].n_prompts

    @property
    def eval_masks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(mask for objective in self.objectives for mask in objective.eval_masks))

    def __getitem__(self, index: int) -> Objective:
        return self.objectives[index]


def session_objectives(name: str, objectives: Sequence[Objective], session_names: Sequence[str]) -> SessionObjectives:
    return SessionObjectives(name, tuple(objectives), tuple(session_names))
