"""What ``ARPEvaluator.score`` returns."""

import math
from dataclasses import dataclass, field

METRIC_KEYS = ("ap", "ap_margin", "aq", "cq", "cp")


@dataclass
class EvalResult:
    metrics: dict[str, float]              # means over scored items: ap, ap_margin, aq, cq, cp (the enabled ones)
    per_item: list[dict]                   # id, character, text (the transcript used) and each enabled score
    backends: dict[str, str]               # which backend produced each number
    counts: dict[str, int] = field(default_factory=dict)  # judge calls/cache hits/malformed/skipped, unscored items

    def scores(self) -> dict[str, list[float]]:
        """Per-item scores by metric key, the keyword arguments of ``ARPEvaluator.metrics().update``."""
        keys = [k for k in METRIC_KEYS if self.per_item and k in self.per_item[0]]
        return {k: [float(row[k]) for row in self.per_item] for k in keys}

    def summary(self) -> str:
        parts = [f"{k}={v:.4f}" if math.isfinite(v) else f"{k}=nan" for k, v in self.metrics.items()]
        return " ".join(parts) + "  (" + ", ".join(f"{k}: {v}" for k, v in self.backends.items()) + ")"
