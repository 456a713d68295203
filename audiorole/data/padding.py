"""How much of a padded batch is real data: the figure duration bucketing exists to raise.

efficiency = Σ item lengths / Σ (batch size × longest item in the batch), over
an epoch of a sampler's batches; 1.0 means no padding at all. ``crop_seconds``
caps each item's length as the acoustic batches do.
"""


def padding_efficiency(batches, crop_seconds: float | None = None) -> float:
    real = padded = 0.0
    for cuts in batches:
        lengths = [min(c.duration, crop_seconds) if crop_seconds else c.duration for c in cuts]
        if lengths:
            real += sum(lengths)
            padded += len(lengths) * max(lengths)
    return real / padded if padded else 1.0
