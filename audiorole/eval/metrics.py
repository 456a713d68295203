"""ARP-Eval metrics as torchmetrics: per-item scores in, means with their uncertainty out.

Scoring (embeddings, MOS predictors, ASR, judges) happens before ``update``; the metrics keep
every per-item score (``dist_reduce_fx="cat"``) so that besides the mean they can say how many
items it stands on and how sure it is. For each key ``compute`` returns

- ``<key>``: the mean over scored items;
- ``<key>_n``, ``<key>_coverage``: how many items were scored, and that over the items asked;
- ``<key>_ci_low``, ``<key>_ci_high``: the 95 % percentile bootstrap interval of the mean
  (``audiorole.eval.uncertainty``; sorted first, so any batching or DDP split gives the same);
- ``<key>_unscoreable``: items whose output could not be scored (silent, too short, empty text)
  and so hold the scale's minimum (set by the evaluator); they count in the mean.

NaN scores (a judge that failed, a backend error) are not scored: left out of the mean and of
``n``, so ``coverage`` drops below 1. A metric with nothing scored computes NaN.
"""

import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.utilities import dim_zero_cat

from audiorole.eval.result import STATS, is_metric_key, per_item_scores
from audiorole.eval.uncertainty import mean_summary


def as_scores(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float64).reshape(-1)


class _ItemMeans(Metric):
    keys: tuple[str, ...] = ()
    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self, keys: tuple[str, ...] | None = None, **kwargs):
        super().__init__(**kwargs)
        if keys:
            self.keys = tuple(keys)
        for key in self.keys:
            self.add_state(f"{key}_values", [], dist_reduce_fx="cat")
            self.add_state(f"{key}_unscoreable", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, **scores) -> None:
        """``update(ap=[...], ap_margin=[...], ap_unscoreable=[bool, ...])``; other keys are ignored."""
        for key in self.keys:
            if key not in scores:
                continue  # e.g. an evaluator computing AP without its margin
            getattr(self, f"{key}_values").append(as_scores(scores[key]).to(self.device))
            flags = scores.get(f"{key}_unscoreable")
            if flags is not None:
                count = torch.as_tensor(flags, dtype=torch.float64).sum().to(self.device)
                setattr(self, f"{key}_unscoreable", getattr(self, f"{key}_unscoreable") + count)

    def _values(self, key: str) -> torch.Tensor:
        values = getattr(self, f"{key}_values")
        if isinstance(values, list) and not values:
            return torch.zeros(0, dtype=torch.float64)
        return dim_zero_cat(values)

    def compute(self) -> dict[str, torch.Tensor]:
        out = {}
        for key in self.keys:
            summary = mean_summary(self._values(key).cpu().numpy())
            out[key] = torch.tensor(summary.pop("mean"), dtype=torch.float64)
            out.update({f"{key}_{k}": torch.tensor(float(v), dtype=torch.float64) for k, v in summary.items()})
            out[f"{key}_unscoreable"] = getattr(self, f"{key}_unscoreable").clone()
        return out


class APMetric(_ItemMeans):
    """Acoustic personalization: cosine to the character's voice centroid (-1..1), and the margin over the nearest other (-2..2)."""

    keys = ("ap", "ap_margin")


class AQMetric(_ItemMeans):
    """Acoustic quality: the quality backend's predicted MOS (1-5); with ``keys``, also ``aq_<name>`` per further backend."""

    keys = ("aq",)


class CQMetric(_ItemMeans):
    """Content quality: text similarity to the reference reply, or the judge's score."""

    keys = ("cq",)


class CPMetric(_ItemMeans):
    """Content personalization: nearest-centroid character margin, or the judge's score."""

    keys = ("cp",)


class IntelligibilityMetric(_ItemMeans):
    """WER and CER of the output's speech (ASR transcript) against the text it should say, per item then averaged.

    Each reply counts once (the mean of per-reply rates, as Seed-TTS-eval reports), so the
    same bootstrap and paired comparisons apply as to the other measures. Lower is better.
    """

    keys = ("wer", "cer")
    higher_is_better = False


METRICS = {"ap": APMetric, "aq": AQMetric, "cq": CQMetric, "cp": CPMetric, "wer": IntelligibilityMetric}


def arp_metrics(names=("ap", "aq", "cq", "cp"), prefix: str | None = None,
                extra_quality: tuple[str, ...] = (), **metric_kwargs) -> MetricCollection:
    """A fresh collection; ``update(**scores)`` feeds each metric its own keys (``EvalResult.scores()``).

    Compute groups are off: the metrics have same-named states, and grouping
    would let one metric's update stand in for another's.
    """
    metrics = {n: METRICS[n](**metric_kwargs) for n in names}
    if "aq" in metrics and extra_quality:  # one AQ metric, a key per quality backend
        metrics["aq"] = AQMetric(keys=("aq", *(f"aq_{n}" for n in extra_quality)), **metric_kwargs)
    return MetricCollection(metrics, prefix=prefix, compute_groups=False)


def as_numbers(computed: dict) -> dict[str, float | int]:
    """A computed collection as plain numbers: counts (``_n``, ``_unscoreable``) as ints, the rest as floats."""
    return {k: int(v) if k.endswith(("_n", "_unscoreable")) else float(v) for k, v in computed.items()}


def summarize(rows: list[dict]) -> dict[str, float | int]:
    """The metrics of per-item rows (the score keys they hold), as ``compute`` gives them, as floats."""
    keys = [k for k in (rows[0] if rows else {}) if is_metric_key(k)]
    names = [n for n, cls in METRICS.items() if any(k in keys for k in cls.keys)]
    extra = tuple(k.removeprefix("aq_") for k in keys if k.startswith("aq_"))
    if not names:
        return {}
    # The rows are all there is (e.g. rank 0 scoring alone under DDP): no gathering across processes,
    # which would wait forever for ranks that are not computing.
    collection = arp_metrics(names, extra_quality=extra, sync_on_compute=False)
    collection.update(**per_item_scores(rows, keys))
    return {k: v for k, v in as_numbers(collection.compute()).items()
            if k in keys or any(k == f"{key}_{s}" for key in keys for s in STATS)}
