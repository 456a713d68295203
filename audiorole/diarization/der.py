"""Diarization error rate via pyannote.metrics, with the collar as a plain argument.

DER = (missed + false alarm + confusion) / total reference speech, after the
optimal one-to-one mapping of hypothesis labels to reference labels.
``collar`` follows pyannote.metrics: the total width removed around each
reference boundary, half on each side (0.25 forgives ±0.125 s; md-eval's
``-c 0.25`` is ``collar=0.5`` here).
"""

import os


def diarization_error_rate(reference, hypothesis, collar: float = 0.25, skip_overlap: bool = False,
                           detailed: bool = False):
    """DER as a fraction (0.05 = 5 %); ``detailed=True`` returns pyannote's component dict."""
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=skip_overlap)
    components = metric(reference, hypothesis, detailed=True)
    if not detailed:
        return float(components["diarization error rate"])
    return {k: float(v) for k, v in components.items()}
