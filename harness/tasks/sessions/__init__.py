"""The session-set task: NLB co-smoothing in every session of a set, one shared model (harness.sessions)."""
