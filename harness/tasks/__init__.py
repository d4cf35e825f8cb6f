"""The built-in tasks, registered through ``bench_register_tasks`` like any plugin's: NLB
co-smoothing and video encoding. Light: the task objects (and torch) load when a run needs them."""

from __future__ import annotations

from harness import hookimpl
from harness.contracts import COSMOOTHING_TASK, ENCODING_TASK


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
