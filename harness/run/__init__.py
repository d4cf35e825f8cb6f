"""One run end to end, for any task: its context and id (context.py), execute.py (build, train or
fit, predict, score through the task, record), the trainer and its checkpoints, K-fold runs and
their pooled records (crossval.py), ensembles of finished runs, prediction averaging, rescoring.
Everything task-specific is asked of the run's ``Task``."""
