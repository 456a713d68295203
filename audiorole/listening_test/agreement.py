"""Krippendorff's alpha: agreement among any number of raters, with missing ratings.

Follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": values paired
within a unit fill a coincidence matrix (each pair weighted 1 / (m_u - 1), m_u the unit's
ratings); alpha = 1 - D_o / D_e, observed over expected disagreement, with the distance
of the level of measurement (nominal for A/B choices, ordinal or interval for 1-5 scores).
Units with fewer than two ratings carry no information about agreement and are left out.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

LEVELS = ("nominal", "ordinal", "interval")


def _distance(values: list, counts: np.ndarray, level: str) -> np.ndarray:
    """Squared distances delta^2(c, k) between the sorted distinct values."""
    n = len(values)
    if level == "nominal":
        return 1.0 - np.eye(n)
    if level == "interval":
        v = np.asarray(values, dtype=float)
        return (v[:, None] - v[None, :]) ** 2
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(counts)])
        d = np.zeros((n, n))
        for c in range(n):
            for k in range(n):
                lo, hi = min(c, k), max(c, k)
                d[c, k] = (cum[hi + 1] - cum[lo] - (counts[c] + counts[k]) / 2.0) ** 2
        return d
    raise ValueError(f"level {level!r}: choose from {', '.join(LEVELS)}")


def krippendorff_alpha(units: Sequence[Sequence[Hashable | None]], level: str = "interval") -> float:
    """Alpha over ``units``, each the ratings one unit got (``None`` for a rater who did not rate it).

    NaN when there is nothing to agree on (no unit rated twice, or every rating identical).
    """
    rated = [[v for v in unit if v is not None and not (isinstance(v, float) and math.isnan(v))] for unit in units]
    rated = [unit for unit in rated if len(unit) >= 2]
    if not rated:
        return float("nan")
    values = sorted({v for unit in rated for v in unit})
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in rated:
        m = len(unit)
        for a in range(m):
            for b in range(m):
                if a != b:
                    o[index[unit[a]], index[unit[b]]] += 1.0 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = _distance(values, n_c, level)
    observed = (o * delta).sum() / n
    expected = (np.outer(n_c, n_c) * delta).sum() / (n * (n - 1))
    return float("nan") if expected == 0 else float(1.0 - observed / expected)
