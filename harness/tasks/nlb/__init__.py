"""The NLB'21 co-smoothing task and all that is its own: the task object (task.py), its training
plan (plan.py), batching and prediction (predict.py), tensor views (views.py), nlb_tools scoring
(metrics.py, fewshot.py), folds over labelled trials (folds.py), predictions and the EvalAI
submission (submission.py), the run report figure (report.py), sample validation, dataset caches."""
