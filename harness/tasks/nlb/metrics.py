"""Uniform scoring of predicted rates: NLB'21 metrics through nlb_tools, plus what it lacks.

Every NLB number (co-bps, fp-bps, vel R2, psth R2, tp corr) is computed by
``nlb_tools.evaluation`` itself, through the adapter functions ``nlb_*`` below (bits per spike in
harness.tasks.nlb.bits, which few-shot co-bps shares); this module only
decides which trials and arrays they see. Our own code covers what nlb_tools has no notion of:
rate R2 and oracle co-bps where a dataset has ground-truth rates, bits per spike under masks, and
few-shot co-bps (harness.tasks.nlb.fewshot).

Honest splits: each :class:`MetricValue` records the split and the trial ids it was computed on.
Co-bps and fp-bps use ``eval`` when the dataset gives eval held-out spikes, else the internal
``val`` split; ``val_co_bps`` is always reported as well. A metric that cannot be computed is
reported with ``value=None`` and a note saying why, never filled in.

Torch-free: nlb_tools (and through it sklearn and scipy) is imported on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from harness.contracts import DatasetTensors, MetricValue, Predictions, Split, SplitRates
from harness.errors import BenchError
from harness.tasks.nlb.bits import nlb_bits_per_spike
from harness.tasks.nlb.fewshot import FEWSHOT_K
from harness.tasks.nlb.fewshot import metric_name as fewshot_metric_name

PRIMARY_METRIC = "co-bps"

#: Whether a larger value is better, for every metric this module reports.
HIGHER_IS_BETTER = {
    "co-bps": True,
    "val_co_bps": True,
    "fp-bps": True,
    "vel R2": True,
    "psth R2": True,
    "tp corr": True,
    "rate R2": True,
    "oracle co-bps": True,
    **{fewshot_metric_name(k): True for k in FEWSHOT_K},
}

#: Gaussian kernel (ms) that smooths spikes into reference PSTHs. NLB'21 uses 50 ms for the
#: MC_Maze scaling datasets (70 ms for MC_Maze and DMFC_RSG), smoothing 1 ms spikes before binning;
#: we smooth the binned counts, a close approximation.
PSTH_KERNEL_SD_MS = 50.0

#: Folds (and their seed) for velocity decoding when a dataset withholds eval behaviour.
VELOCITY_CV_FOLDS = 5
VELOCITY_CV_SEED = 0

_REGION_METRIC = re.compile(r"^co-bps\[(?P<region>.+)\]$")


# -- the one adapter to nlb_tools.evaluation -----------------------------------------------------


def _nlb():
    """``nlb_tools.evaluation``, imported on first use (it pulls in sklearn and scipy)."""
    from nlb_tools import evaluation

    return evaluation


def nlb_evaluate(target: Mapping[str, Any], submission: Mapping[str, Any]) -> list[dict[str, dict[str, float]]]:
    """nlb's own ``evaluate`` on in-memory ``{group: {array name: array}}`` mappings."""
    return _nlb().evaluate(target, submission)


def nlb_velocity_r2(
    train_rates: np.ndarray,
    train_behavior: np.ndarray,
    eval_rates: np.ndarray,
    eval_behavior: np.ndarray,
    train_decode_mask: np.ndarray | None = None,
    eval_decode_mask: np.ndarray | None = None,
) -> float:
    """nlb's ridge velocity decoding (grid-searched alpha) from (R, T, N) rates to (R, T, B)."""
    if train_decode_mask is None:
        train_decode_mask = np.ones((train_rates.shape[0], 1), dtype=bool)
    if eval_decode_mask is None:
        eval_decode_mask = np.ones((eval_rates.shape[0], 1), dtype=bool)
    return float(
        _nlb().velocity_decoding(
            np.asarray(train_rates, dtype=np.float64),
            np.asarray(train_behavior, dtype=np.float64),
            train_decode_mask,
            np.asarray(eval_rates, dtype=np.float64),
            np.asarray(eval_behavior, dtype=np.float64),
            eval_decode_mask,
        )
    )


def nlb_decoder_r2(train_rates: np.ndarray, train_behavior: np.ndarray, test_rates: np.ndarray, test_behavior: np.ndarray) -> float:
    """nlb's ridge decoder on (samples, N) rates, fitted on train and scored (R2) on test."""
    return float(
        _nlb().fit_and_eval_decoder(
            np.asarray(train_rates, dtype=np.float64),
            np.asarray(train_behavior, dtype=np.float64),
            np.asarray(test_rates, dtype=np.float64),
            np.asarray(test_behavior, dtype=np.float64),
        )
    )


def nlb_psth_r2(psth: np.ndarray, rates: np.ndarray, condition_index: list[np.ndarray], jitter: np.ndarray | None = None) -> float:
    """nlb's PSTH R2: per-condition means of ``rates`` against ``psth`` (conditions, T, N)."""
    return float(_nlb().eval_psth(np.asarray(psth, dtype=np.float64), np.asarray(rates, dtype=np.float64), condition_index, jitter=jitter))


def nlb_tp_corr(spikes_heldout: np.ndarray, rates: np.ndarray, behavior: np.ndarray) -> float:
    """nlb's DMFC_RSG correlation between neural speed and produced interval tp."""
    return float(
        _nlb().speed_tp_correlation(
            np.asarray(spikes_heldout, dtype=np.float64), np.asarray(rates, dtype=np.float64), np.asarray(behavior, dtype=np.float64)
        )
    )


def nlb_group_scores(target: Mapping[str, Any], submission: Mapping[str, Any], *, dmfc: bool = False) -> dict[str, float]:
    """The metrics nlb's ``evaluate`` computes for one dataset group, from whatever ``target`` has.

    ``target`` and ``submission`` map NLB array names (``eval_spikes_heldout``, ``psth``,
    ``eval_rates_heldin``, ...) to arrays. Unlike ``evaluate``, a target holding only
    ``eval_spikes_heldout`` gives co-bps alone instead of failing, and any group name works.
    ``dmfc`` selects tp corr instead of velocity decoding, as ``evaluate`` does for dmfc_rsg.
    """

    def array(source: Mapping[str, Any], key: str) -> Any:
        value = source[key]
        return value if isinstance(value, (list, tuple)) else np.asarray(value[()])

    eval_spikes_heldout = array(target, "eval_spikes_heldout").astype(np.float64)
    eval_rates = np.concatenate([array(submission, "eval_rates_heldin"), array(submission, "eval_rates_heldout")], axis=-1)
    scores = {"co-bps": nlb_bits_per_spike(array(submission, "eval_rates_heldout"), eval_spikes_heldout)}
    if dmfc and "eval_behavior" in target:
        scores["tp corr"] = nlb_tp_corr(eval_spikes_heldout, eval_rates, array(target, "eval_behavior"))
    elif not dmfc and {"train_behavior", "eval_behavior"} <= set(target) and "train_rates_heldin" in submission:
        train_rates = np.concatenate([array(submission, "train_rates_heldin"), array(submission, "train_rates_heldout")], axis=-1)
        masks = (array(target, "train_decode_mask"), array(target, "eval_decode_mask")) if "train_decode_mask" in target else (None, None)
        scores["vel R2"] = nlb_velocity_r2(train_rates, array(target, "train_behavior"), eval_rates, array(target, "eval_behavior"), *masks)
    if "psth" in target:
        jitter = array(target, "eval_jitter") if "eval_jitter" in target else None
        scores["psth R2"] = nlb_psth_r2(array(target, "psth"), eval_rates, list(array(target, "eval_cond_idx")), jitter)
    forward_keys = {"eval_spikes_heldin_forward", "eval_spikes_heldout_forward"}
    if "eval_rates_heldin_forward" in submission and forward_keys <= set(target):
        spikes = np.concatenate([array(target, "eval_spikes_heldin_forward"), array(target, "eval_spikes_heldout_forward")], axis=-1)
        rates = np.concatenate([array(submission, "eval_rates_heldin_forward"), array(submission, "eval_rates_heldout_forward")], axis=-1)
        scores["fp-bps"] = nlb_bits_per_spike(rates, spikes)
    return scores


# -- what nlb_tools lacks ------------------------------------------------------------------------


def masked_bps(rates: np.ndarray, spikes: np.ndarray, mask: np.ndarray) -> float:
    """Bits per spike over the entries where ``mask`` (broadcastable to ``spikes``) is True.

    Unscored spikes become NaN, which nlb's bits_per_spike leaves out of both the model and the
    per-unit mean-rate null. NaN when the mask selects no spike.
    """
    spikes = np.array(spikes, dtype=np.float64)
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), spikes.shape)
    if not np.nansum(spikes[mask]) > 0:
        return float("nan")
    spikes[~mask] = np.nan
    return nlb_bits_per_spike(rates, spikes)


def gaussian_smooth(counts: np.ndarray, sd_bins: float) -> np.ndarray:
    """Counts (R, T, N) smoothed along time by a unit-sum Gaussian, zero beyond the trial."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.asarray(counts, dtype=np.float64), sigma=sd_bins, axis=1, mode="constant", truncate=3.0)


def condition_psths(splits: list[Split], bin_size_ms: int, use_true_rates: bool) -> tuple[list[Any], np.ndarray]:
    """Reference PSTHs (conditions, T, I + O) over all trials of ``splits``, by sorted condition.

    Each trial contributes its true rates over observed bins when ``use_true_rates``, else its
    Gaussian-smoothed held-in and held-out counts (as NLB builds its target PSTHs).
    """
    profiles, conditions = [], []
    for split in splits:
        if use_true_rates:
            profiles.append(split.true_rates[:, : split.heldin.shape[1]])
        else:
            counts = np.concatenate([split.heldin, split.heldout], axis=-1)
            profiles.append(gaussian_smooth(counts, PSTH_KERNEL_SD_MS / bin_size_ms))
        conditions.append(np.asarray(split.conditions))
    profile = np.concatenate(profiles)
    condition = np.concatenate(conditions)
    labels = sorted(set(condition.tolist()))
    psth = np.stack([profile[condition == label].mean(axis=0) for label in labels])
    return labels, psth


def rate_r2(true_rates: np.ndarray, predicted_rates: np.ndarray) -> float:
    """R2 of predicted against true rates (R, T, N), per unit over all bins, averaged over units."""
    from sklearn.metrics import r2_score

    units = true_rates.shape[-1]
    return float(r2_score(true_rates.reshape(-1, units), predicted_rates.reshape(-1, units)))


# -- scoring a run -------------------------------------------------------------------------------


def trial_ids(split: Split) -> list[int]:
    """The split's trial ids in the dataset's trial table (positions when it gives none)."""
    ids = split.trial_ids if split.trial_ids is not None else np.arange(split.n_trials)
    return [int(i) for i in ids]


def _value(name: str, value: float, split_name: str, split: Split, note: str = "", trials: list[int] | None = None) -> MetricValue:
    """A metric value, or None with a note when nlb returns something non-finite."""
    used = trials if trials is not None else trial_ids(split)
    if not np.isfinite(value):
        note = f"{note}; " if note else ""
        return MetricValue(None, split_name, len(used), used, f"{note}computation gave {value}", HIGHER_IS_BETTER.get(name, True))
    return MetricValue(float(value), split_name, len(used), used, note, HIGHER_IS_BETTER.get(name, True))


def _missing(name: str, split_name: str, why: str, split: Split | None = None) -> MetricValue:
    used = trial_ids(split) if split is not None else []
    return MetricValue(None, split_name, len(used), used, why, HIGHER_IS_BETTER.get(name, True))


def _check_shape(array_name: str, rates: np.ndarray, spikes: np.ndarray) -> None:
    if rates.shape != spikes.shape:
        raise BenchError(f"predicted {array_name} rates have shape {rates.shape}, but the targets have {spikes.shape}")


def _heldout_split(data: DatasetTensors) -> str:
    """Where co-smoothing is scored: eval when its held-out spikes are given, else val."""
    return "eval" if data.eval.heldout is not None else "val"


def _co_bps_on(split_name: str, data: DatasetTensors, predictions: Predictions, name: str = "co-bps") -> MetricValue:
    split = data.split(split_name)
    if split.heldout is None:
        return _missing(name, split_name, f"the {split_name} split has no held-out spikes", split)
    rates = predictions.split(split_name).heldout
    _check_shape(f"{split_name} held-out", rates, split.heldout)
    return _value(name, nlb_bits_per_spike(rates, split.heldout), split_name, split, "nlb_tools bits_per_spike on held-out units")


def _co_bps(data: DatasetTensors, predictions: Predictions) -> MetricValue:
    split_name = _heldout_split(data)
    value = _co_bps_on(split_name, data, predictions)
    if split_name == "val":
        note = "eval held-out spikes are withheld by this dataset, so scored on the internal val split"
        return MetricValue(value.value, value.split, value.n_trials, value.trials, f"{value.note}; {note}", value.higher_is_better)
    return value


def _fp_bps(data: DatasetTensors, predictions: Predictions) -> MetricValue:
    name = "fp-bps"
    split_name = "eval" if data.eval.heldout_forward is not None and data.eval.heldin_forward is not None else "val"
    split = data.split(split_name)
    if split.heldin_forward is None or split.heldout_forward is None:
        return _missing(name, split_name, f"the {split_name} split has no forward-bin spikes", split)
    rates = predictions.split(split_name)
    if rates.heldin_forward is None or rates.heldout_forward is None:
        return _missing(name, split_name, "the predictions have no forward-bin rates", split)
    spikes = np.concatenate([split.heldin_forward, split.heldout_forward], axis=-1)
    predicted = np.concatenate([rates.heldin_forward, rates.heldout_forward], axis=-1)
    _check_shape(f"{split_name} forward", predicted, spikes)
    return _value(name, nlb_bits_per_spike(predicted, spikes), split_name, split, "nlb_tools bits_per_spike on forward bins, all units")


def _all_rates(rates: SplitRates) -> np.ndarray:
    return np.concatenate([rates.heldin, rates.heldout], axis=-1)


def _train_and_val(data: DatasetTensors, predictions: Predictions) -> tuple[np.ndarray, np.ndarray | None, list[int]]:
    """Rates and behaviour of train + val trials merged back into trial-id order (as submitted)."""
    ids = np.array(trial_ids(data.train) + trial_ids(data.val))
    order = np.argsort(ids, kind="stable")
    rates = np.concatenate([_all_rates(predictions.train), _all_rates(predictions.val)])[order]
    behavior = None
    if data.train.behavior is not None and data.val.behavior is not None:
        behavior = np.concatenate([data.train.behavior, data.val.behavior])[order]
    return rates, behavior, [int(i) for i in ids[order]]


def _vel_r2(data: DatasetTensors, predictions: Predictions) -> MetricValue:
    name = "vel R2"
    fit_rates, fit_behavior, fit_ids = _train_and_val(data, predictions)
    if fit_behavior is None:
        return _missing(name, "train+val", "the dataset has no behaviour for train and val trials")
    if data.eval.behavior is not None:
        eval_rates = _all_rates(predictions.eval)
        value = nlb_velocity_r2(fit_rates, fit_behavior, eval_rates, data.eval.behavior)
        note = f"nlb_tools velocity_decoding: ridge fitted on {len(fit_ids)} train+val trials, scored on eval"
        return _value(name, value, "eval", data.eval, note)
    from sklearn.model_selection import KFold

    n_folds = min(VELOCITY_CV_FOLDS, len(fit_ids))
    if n_folds < 2:
        return _missing(name, "train+val", "eval behaviour is withheld and there are too few trials to cross-validate")
    flat = lambda array: array.reshape(-1, array.shape[-1])  # noqa: E731 - trials x time -> samples
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=VELOCITY_CV_SEED).split(fit_rates)
    r2s = [
        nlb_decoder_r2(flat(fit_rates[fit]), flat(fit_behavior[fit]), flat(fit_rates[held]), flat(fit_behavior[held]))
        for fit, held in folds
    ]
    note = (
        f"eval behaviour is withheld: mean R2 of nlb_tools' ridge decoder over {n_folds}-fold "
        f"cross-validation across train+val trials (seed {VELOCITY_CV_SEED})"
    )
    return _value(name, float(np.mean(r2s)), "train+val", data.train, note, trials=fit_ids)


def _psth_r2(data: DatasetTensors, predictions: Predictions) -> MetricValue:
    name = "psth R2"
    split_name = _heldout_split(data)
    split = data.split(split_name)
    if split.conditions is None or split.heldout is None:
        return _missing(name, split_name, f"the {split_name} split has no condition labels", split)
    # Reference PSTHs pool every trial whose full targets we know, as NLB pools train and eval.
    pooled = [s for s in (data.train, data.val, data.eval) if s.conditions is not None and s.heldout is not None]
    use_truth = all(s.true_rates is not None for s in pooled)
    labels, psth = condition_psths(pooled, data.bin_size_ms, use_truth)
    conditions = np.asarray(split.conditions)
    index = [np.flatnonzero(conditions == label) for label in labels]
    rates = _all_rates(predictions.split(split_name))
    source = "true rates" if use_truth else f"spikes smoothed with a {PSTH_KERNEL_SD_MS:g} ms Gaussian"
    note = f"nlb_tools eval_psth against per-condition means of {source} over {sum(s.n_trials for s in pooled)} trials"
    return _value(name, nlb_psth_r2(psth, rates, index), split_name, split, note)


def _tp_corr(data: DatasetTensors, predictions: Predictions) -> MetricValue:
    name = "tp corr"
    split_name = "eval" if data.eval.heldout is not None and data.eval.trial_behavior is not None else "val"
    split = data.split(split_name)
    if split.heldout is None or split.trial_behavior is None:
        return _missing(name, split_name, f"the {split_name} split lacks held-out spikes or per-trial behaviour", split)
    value = nlb_tp_corr(split.heldout, _all_rates(predictions.split(split_name)), split.trial_behavior)
    return _value(name, value, split_name, split, "nlb_tools speed_tp_correlation")


def _region_co_bps(region: str, data: DatasetTensors, predictions: Predictions) -> MetricValue:
    name = f"co-bps[{region}]"
    split_name = _heldout_split(data)
    split = data.split(split_name)
    if data.heldout_regions is None or region not in data.heldout_regions:
        return _missing(name, split_name, f"no held-out unit is labelled with region {region!r}", split)
    if split.heldout is None:
        return _missing(name, split_name, f"the {split_name} split has no held-out spikes", split)
    unit_mask = np.array([label == region for label in data.heldout_regions])
    value = masked_bps(predictions.split(split_name).heldout, split.heldout, unit_mask)
    return _value(name, value, split_name, split, f"bits per spike over the held-out units in {region}")


_SCORERS: dict[str, Callable[[DatasetTensors, Predictions], MetricValue]] = {
    "co-bps": _co_bps,
    "fp-bps": _fp_bps,
    "vel R2": _vel_r2,
    "psth R2": _psth_r2,
    "tp corr": _tp_corr,
}


def _fewshot_co_bps(data: DatasetTensors, predictions: Predictions) -> dict[str, MetricValue]:
    """K-shot co-bps (harness.tasks.nlb.fewshot): held-out units read out by a Poisson GLM fitted on K train
    trials of the predicted held-in rates, scored where co-bps is."""
    from harness.tasks.nlb import fewshot

    split_name = _heldout_split(data)
    split = data.split(split_name)
    results = {}
    for k in fewshot.FEWSHOT_K:
        name = fewshot.metric_name(k)
        if split.heldout is None or data.train.heldout is None:
            results[name] = _missing(name, split_name, f"the train or {split_name} split has no held-out spikes", split)
            continue
        if k >= data.train.n_trials:  # as the authors' code: k = all trials would leave nothing to resample
            results[name] = _missing(name, split_name, f"needs more than {k} train trials to draw from, the train split has {data.train.n_trials}", split)
            continue
        values = fewshot.fewshot_bps(
            predictions.train.heldin, data.train.heldout, predictions.split(split_name).heldin, split.heldout, k
        )
        note = (
            f"Poisson GLM (L2 {fewshot.FEWSHOT_ALPHA:g}) from log(rate + {fewshot.LOG_OFFSET:g}) of predicted held-in rates to held-out units, fitted on {k} of "
            f"{data.train.n_trials} train trials; mean of nlb_tools bits_per_spike over {fewshot.FEWSHOT_DRAWS} seeded draws"
        )
        results[name] = _value(name, float(np.mean(values)), split_name, split, note)
    return results


def _ground_truth(data: DatasetTensors, predictions: Predictions) -> dict[str, MetricValue]:
    """Rate R2 and oracle co-bps for datasets that know their true rates."""
    results = {}
    truth_split = next((s for s in ("eval", "val") if data.split(s).true_rates is not None), None)
    if truth_split is not None:
        split = data.split(truth_split)
        n_bins = split.heldin.shape[1]
        value = rate_r2(split.true_rates[:, :n_bins], _all_rates(predictions.split(truth_split)))
        results["rate R2"] = _value("rate R2", value, truth_split, split, "true vs predicted rates, observed bins, all units")
    co_split = data.split(_heldout_split(data))
    if co_split.true_rates is not None and co_split.heldout is not None:
        n_bins, n_heldin = co_split.heldin.shape[1], co_split.heldin.shape[2]
        true_heldout = co_split.true_rates[:, :n_bins, n_heldin:]
        value = nlb_bits_per_spike(true_heldout, co_split.heldout)
        results["oracle co-bps"] = _value(
            "oracle co-bps", value, _heldout_split(data), co_split, "bits per spike of the true held-out rates: the ceiling for co-bps"
        )
    return results


def score(data: DatasetTensors, predictions: Predictions) -> dict[str, MetricValue]:
    """Every metric ``data.metrics`` lists, plus val_co_bps, ground-truth metrics and mask bps."""
    from threadpoolctl import threadpool_limits

    # One BLAS thread: nlb's decoders are many small ridge fits, which a thread pool slows down
    # (velocity cross-validation on MC_Maze_Small: 81 s with the default pool, 7 s with one thread,
    # on a busy 2-core machine). The numbers are the same.
    with threadpool_limits(limits=1):
        return _score(data, predictions)


def _score(data: DatasetTensors, predictions: Predictions) -> dict[str, MetricValue]:
    results: dict[str, MetricValue] = {}
    for name in data.metrics:
        region = _REGION_METRIC.match(name)
        if region:
            results[name] = _region_co_bps(region["region"], data, predictions)
        elif name in _SCORERS:
            results[name] = _SCORERS[name](data, predictions)
        else:
            results[name] = _missing(name, "", f"harness.tasks.nlb.metrics has no scorer for metric {name!r}")
    results["val_co_bps"] = _co_bps_on("val", data, predictions, name="val_co_bps")
    if data.n_heldout:
        results.update(_fewshot_co_bps(data, predictions))
    results.update(_ground_truth(data, predictions))
    for mask, value in sorted(predictions.mask_bps.items()):
        results[f"bps[{mask}]"] = _value(f"bps[{mask}]", float(value), "val", data.val, f"objective's eval mask '{mask}', bits per spike on val")
    return results
