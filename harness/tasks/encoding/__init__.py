"""The video -> neural response encoding task (Sensorium 2023): the task object (task.py), its
windowed training plan and prediction (train.py), single-trial correlation and the oracle figures
(metrics.py), folds that keep repeated videos together (folds.py), predictions and the per-mouse
submission (io.py)."""
