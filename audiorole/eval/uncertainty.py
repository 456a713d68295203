"""How sure a mean is: n, coverage and a 95 % percentile bootstrap interval over items.

- ``mean_summary(values)``: the mean of the finite per-item scores, how many there are (``n``),
  the share of asked items they are (``coverage``) and the interval of the mean.
- ``paired_difference(a, b)``: ``mean(a - b)`` over the items both systems were scored on,
  with a paired interval (items resampled together), the test behind "A beats B".
- ``bootstrap_ci(by_item)``: the mean of values that come in groups (the ratings of one
  item, the turns of one episode), with the groups resampled whole: values of one group
  are not independent, so resampling them one by one would give too narrow an interval.

Intervals come from ``scipy.stats.bootstrap`` (percentile method, 2000 resamples, a fixed
seed). The values are sorted first, so the interval depends on the set of scores and not on
the order batches or DDP processes delivered them. With fewer than two items there is no
interval (NaN).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
SEED = 0


def _interval(samples: tuple[np.ndarray, ...], statistic, resamples: int, level: float, seed: int) -> tuple[float, float]:
    from scipy.stats import bootstrap

    if samples[0].size < 2:
        return math.nan, math.nan
    if all(np.all(s == s[0]) for s in samples):  # one value: the interval is that value (scipy would warn)
        value = float(statistic(*samples, axis=-1))
        return value, value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few distinct values: scipy warns, the percentile interval still stands
        res = bootstrap(samples, statistic, paired=len(samples) > 1, vectorized=True, n_resamples=resamples,
                        confidence_level=level, method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def _mean_difference(a, b, axis=-1):
    return np.mean(a - b, axis=axis)


def mean_summary(values, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = SEED) -> dict[str, float]:
    """``{"mean", "n", "coverage", "ci_low", "ci_high"}`` of the finite entries of ``values`` (NaN: not scored)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    asked = values.size
    scored = np.sort(values[np.isfinite(values)])
    low, high = _interval((scored,), _mean, resamples, level, seed)
    return {"mean": float(scored.mean()) if scored.size else math.nan, "n": int(scored.size),
            "coverage": scored.size / asked if asked else math.nan, "ci_low": low, "ci_high": high}


def paired_difference(a, b, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = SEED) -> dict[str, float]:
    """``{"diff", "n", "ci_low", "ci_high"}``: mean of ``a - b`` over items finite in both, paired interval."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"paired_difference: {a.size} vs {b.size} scores; pair the same items")
    both = np.isfinite(a) & np.isfinite(b)
    a, b = a[both], b[both]
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    low, high = _interval((a, b), _mean_difference, resamples, level, seed)
    return {"diff": float(np.mean(a - b)) if a.size else math.nan, "n": int(a.size), "ci_low": low, "ci_high": high}


def bootstrap_ci(by_item: dict[str, list[float]], seed: int = SEED) -> tuple[float, float, float]:
    """(mean of all values, 2.5 %, 97.5 %) with items resampled with replacement, each with all its values."""
    groups = [np.asarray(v, dtype=float) for v in by_item.values() if len(v)]
    if not groups:
        return float("nan"), float("nan"), float("nan")
    sums = np.array([g.sum() for g in groups])
    counts = np.array([len(g) for g in groups])
    mean = float(sums.sum() / counts.sum())
    if len(groups) < 2:
        return mean, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(groups), size=(RESAMPLES, len(groups)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    low, high = np.percentile(means, [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    return mean, float(low), float(high)
