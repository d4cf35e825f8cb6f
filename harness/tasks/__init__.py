"""The built-in tasks, registered through ``bench_register_tasks`` like any plugin's: NLB
co-smoothing, video encoding and NLB co-smoothing over a session set. Light: the task objects (and torch) load when a run needs them."""

from __future__ import annotations

from harness import hookimpl
from harness.contracts import COSMOOTHING_TASK, ENCODING_TASK
from harness.sessions import SESSIONS_TASK


@hookimpl
def bench_register_tasks(register) -> None:
    register(
        COSMOOTHING_TASK,
        "harness.tasks.nlb.task:build",
        description="NLB'21 co-smoothing: held-in spikes in, rates of held-in and held-out units out (co-bps)",
        primary_metric="co-bps",
        tasks=(COSMOOTHING_TASK,),
    )
    register(
        ENCODING_TASK,
        "harness.tasks.encoding.task:build",
        description="video (and behaviour) in, neural responses per mouse out (single-trial correlation)",
        primary_metric="single-trial correlation",
        tasks=(ENCODING_TASK,),
    )
    register(
        SESSIONS_TASK,
        "harness.tasks.sessions.task:build",
        description="NLB co-smoothing in every session of a session set, one model with per-session read-in/read-out (mean co-bps)",
        primary_metric="co-bps",
        tasks=(SESSIONS_TASK,),
    )
