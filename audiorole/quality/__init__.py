"""Speech quality scores: DNSMOS (the dataset filter and ARP-Eval's AQ metric).

``audiorole.quality.DNSMOS`` is imported on first access, so importing this
package loads no model and no onnxruntime.
"""


def __getattr__(attr):
    if attr in ("DNSMOS", "QualityError"):
        from audiorole.quality import dnsmos

        return getattr(dnsmos, attr)
    raise AttributeError(attr)


__all__ = ["DNSMOS", "QualityError"]
