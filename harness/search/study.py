"""Where ``bench tune``'s studies live and how they sample and prune.

An Optuna RDB storage: an SQLite file under BENCH_HOME by default, or a server URL
(PostgreSQL) that many workers share. Running trials heartbeat; a trial silent for three
heartbeats is stale, and the next worker to look fails it and queues a retry
(Optuna's stale-trial callback).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from harness.errors import BenchError
from harness.store.home import bench_home
from harness.search.space import SearchPlan

if TYPE_CHECKING:
    import optuna

#: Seconds between a running trial's heartbeats; a trial silent for three of them is stale.
DEFAULT_HEARTBEAT_SECONDS = 30.0
STALE_AFTER_HEARTBEATS = 3
#: How often a killed or interrupted trial is run again before its slot counts as failed.
MAX_RETRIES = 3


def default_storage_url() -> str:
    """The embedded default: one SQLite file under BENCH_HOME holds every study."""
    home = bench_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'studies.db'}"


def storage_kind(url: str) -> str:
    """``postgresql`` for ``postgresql+psycopg2://user:secret@host/db``: what a record may keep."""
    return url.split(":", 1)[0].split("+", 1)[0] or "unknown"


def open_storage(url: str, heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS):
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    if url.startswith(("postgresql://", "postgres://")):  # the driver setup.sh installs (psycopg 3)
        url = "postgresql+psycopg://" + url.split("://", 1)[1]

    engine: dict[str, Any] = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    for attempt in range(3):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    engine_kwargs=engine,
                    heartbeat_interval=max(1, round(heartbeat_seconds)),
                    grace_period=max(2, round(heartbeat_seconds * STALE_AFTER_HEARTBEATS)),
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
                )
        except Exception as error:  # noqa: BLE001 - a bad URL or an unreachable server: one clear line
            # Workers starting together on an empty database race to create Optuna's tables;
            # the loser finds them there on a second look.
            if attempt < 2 and "already exists" in str(error):
                time.sleep(1.0 + attempt)
                continue
            raise BenchError(f"--storage {_redacted(url)}: cannot open the study storage ({type(error).__name__}: {' '.join(str(error).split())[:300]})") from None
    raise AssertionError("unreachable")


def _redacted(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    if at and ":" in credentials:
        return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{place}"
    return url


def make_sampler(setting: Mapping[str, Any], seed_offset: int = 0, source: str = "--sampler"):
    """TPE (multivariate, grouped for conditional spaces, a constant liar for parallel workers),
    Gaussian-process or random, seeded with ``seed + seed_offset``: the offset (the study's trial
    count) keeps one worker's sequence reproducible and two workers from proposing the same."""
    import optuna

    options = {key: value for key, value in setting.items() if key not in ("name", "seed")}
    seed = int(setting.get("seed", 0)) + seed_offset
    factories = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed, **{"multivariate": True, "group": True, "constant_liar": True, **options}),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed, **options),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed, **options),
    }
    return _construct(factories[setting["name"]], setting, source)


def make_pruner(setting: Mapping[str, Any], source: str = "--pruner"):
    """Median (after 5 trials), Hyperband (epochs as the resource), or none."""
    import optuna

    options = {key: value for key, value in setting.items() if key != "name"}
    factories = {
        "median": lambda: optuna.pruners.MedianPruner(**{"n_startup_trials": 5, **options}),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(**options),
        "none": lambda: optuna.pruners.NopPruner(**options),
    }
    return _construct(factories[setting["name"]], setting, source)


def _construct(factory: Callable[[], Any], setting: Mapping[str, Any], source: str):
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return factory()
    except (TypeError, ValueError) as error:
        raise BenchError(f"{source}: {setting['name']}: {error}") from None


def study_objective(task: Any) -> dict[str, str]:
    """What a study of ``task``'s runs optimises: the task's validation metric, the way it improves,
    and how messages name it (kept with the study, so its tables say it without the task)."""
    metric = task.validation_metric
    return {
        "task": task.name,
        "metric": metric,
        "label": task.validation_label,
        "direction": "maximize" if task.higher_is_better(metric) else "minimize",
    }


def objective_label(study: optuna.Study) -> str:
    """How the study's trial values are named ("val co-bps"); "value" for a study that never said."""
    return str(study.user_attrs.get("objective", {}).get("label", "value"))


def open_study(storage: Any, name: str, plan: SearchPlan, sampler: Any, pruner: Any, task: Any = None) -> optuna.Study:
    """Create or join the study; refuse to join one that searches something else. ``task`` (the
    base dataset's) sets what it optimises and in which direction (default: maximize)."""
    import optuna

    objective = study_objective(task) if task is not None else None
    direction = objective["direction"] if objective else "maximize"
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # bench tune says what happens itself
    study = optuna.create_study(storage=storage, study_name=name, direction=direction, sampler=sampler, pruner=pruner, load_if_exists=True)
    if study.direction.name.lower() != direction:
        wanted = f"{objective['label']} of task {objective['task']}" if objective else "this search's value"
        raise BenchError(f"study '{name}' was made to {study.direction.name.lower()} its trials' value, but {wanted} is to {direction}: give a new --study-name")
    digest = study.user_attrs.get("search_digest")
    if digest is None:
        study.set_user_attr("search", plan.describe())
        study.set_user_attr("search_digest", plan.digest())
        if plan.search.baseline and not study.get_trials(deepcopy=False):
            study.enqueue_trial(plan.baseline(), user_attrs={"baseline": True})
    elif digest != plan.digest():
        raise BenchError(
            f"study '{name}' searches another space (digest {digest}, this search {plan.digest()}): "
            "its base spec, families, space or fixed values changed; give a new --study-name"
        )
    if objective is not None and "objective" not in study.user_attrs:  # studies made before it was kept get it too
        study.set_user_attr("objective", objective)
    return study
