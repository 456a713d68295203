"""ARP-Eval metrics as torchmetrics: per-item scores in, means out.

Scoring (embeddings, DNSMOS, judges) happens before ``update``; the metrics
only keep float64 sums and counts with ``dist_reduce_fx="sum"``, so the result
is the same for any batching and any number of DDP processes. NaN scores
(clips a backend could not score, judge failures) are left out of the mean
and counted in ``<key>_skipped``; a metric with nothing scored computes NaN.
"""

import torch
from torchmetrics import Metric, MetricCollection


def as_scores(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float64).reshape(-1)


class _MeanScores(Metric):
    keys: tuple[str, ...] = ()
    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for key in self.keys:
            self.add_state(f"{key}_sum", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{key}_count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state(f"{key}_skipped", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def _add(self, key: str, values) -> None:
        values = as_scores(values).to(self.device)
        ok = ~torch.isnan(values)
        setattr(self, f"{key}_sum", getattr(self, f"{key}_sum") + values[ok].sum())
        setattr(self, f"{key}_count", getattr(self, f"{key}_count") + ok.sum())
        setattr(self, f"{key}_skipped", getattr(self, f"{key}_skipped") + (~ok).sum())

    def _mean(self, key: str) -> torch.Tensor:
        count = getattr(self, f"{key}_count")
        return getattr(self, f"{key}_sum") / count if count > 0 else torch.tensor(float("nan"), dtype=torch.float64)

    def compute(self):
        if len(self.keys) == 1:
            return self._mean(self.keys[0])
        return {key: self._mean(key) for key in self.keys}


class APMetric(_MeanScores):
    """Acoustic personalization: mean cosine to the character's voice centroid, and the margin over the nearest other."""

    keys = ("ap", "ap_margin")

    def update(self, ap, ap_margin) -> None:
        self._add("ap", ap)
        self._add("ap_margin", ap_margin)


class AQMetric(_MeanScores):
    """Acoustic quality: mean backend score (DNSMOS OVRL 1-5 offline)."""

    keys = ("aq",)

    def update(self, aq) -> None:
        self._add("aq", aq)


class CQMetric(_MeanScores):
    """Content quality: mean text similarity to the reference reply, or the judge's score."""

    keys = ("cq",)

    def update(self, cq) -> None:
        self._add("cq", cq)


class CPMetric(_MeanScores):
    """Content personalization: mean nearest-centroid character margin, or the judge's score."""

    keys = ("cp",)

    def update(self, cp) -> None:
        self._add("cp", cp)


METRICS = {"ap": APMetric, "aq": AQMetric, "cq": CQMetric, "cp": CPMetric}


def arp_metrics(names=("ap", "aq", "cq", "cp"), prefix: str | None = None) -> MetricCollection:
    """A fresh collection; ``update(**scores)`` feeds each metric its own keys (``EvalResult.scores()``).

    Compute groups are off: the metrics have same-named states, and grouping
    would let one metric's update stand in for another's.
    """
    return MetricCollection({n: METRICS[n]() for n in names}, prefix=prefix, compute_groups=False)
