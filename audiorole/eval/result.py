"""What ``ARPEvaluator.score`` returns."""

import math
from dataclasses import dataclass, field

METRIC_KEYS = ("ap", "ap_margin", "aq", "cq", "cp", "wer", "cer")


STATS = ("n", "coverage", "ci_low", "ci_high", "unscoreable")  # what the metrics give beside each mean


def is_metric_key(key: str) -> bool:
    """A per-item score the metrics average: the fixed keys and ``aq_<backend>`` of further quality backends."""
    return key in METRIC_KEYS or (key.startswith("aq_") and not key.endswith(tuple(f"_{s}" for s in STATS)))


@dataclass
class EvalResult:
    metrics: dict[str, float]              # per key: mean, _n, _coverage, _ci_low, _ci_high, _unscoreable
    per_item: list[dict]                   # id, character, text, transcript, each enabled score, unscoreable {key: why}
    backends: dict[str, str]               # which backend produced each number
    counts: dict[str, int] = field(default_factory=dict)  # judge calls/cache hits/malformed/skipped, unscored items

    def metric_keys(self) -> list[str]:
        return [k for k in (self.per_item[0] if self.per_item else {}) if is_metric_key(k)]

    def scores(self) -> dict[str, list]:
        """Per-item scores by metric key, and ``<key>_unscoreable`` flags: ``ARPEvaluator.metrics().update``'s kwargs."""
        return per_item_scores(self.per_item, self.metric_keys())

    def summary(self) -> str:
        parts = [f"{k}={v:.4f}" if math.isfinite(v) else f"{k}=nan" for k, v in self.metrics.items()
                 if is_metric_key(k)]
        return " ".join(parts) + "  (" + ", ".join(f"{k}: {v}" for k, v in self.backends.items()) + ")"


def per_item_scores(rows: list[dict], keys) -> dict[str, list]:
    """``{key: [score, ...], "<key>_unscoreable": [bool, ...]}`` over rows (a missing score is NaN)."""
    out: dict[str, list] = {}
    for key in keys:
        out[key] = [float(row.get(key, math.nan)) for row in rows]
        out[f"{key}_unscoreable"] = [key in (row.get("unscoreable") or {}) for row in rows]
    return out
