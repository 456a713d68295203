"""Loudness normalisation (ITU-R BS.1770 via pyloudnorm) with a peak guard."""

import numpy as np


def normalise_loudness(wave: np.ndarray, sample_rate: int, target_lufs: float = -23.0,
                       peak: float = 0.99) -> tuple[np.ndarray, float]:
    """Scale ``wave`` to ``target_lufs``; never past ``peak``. Returns the wave and the gain in dB."""
    import pyloudnorm

    meter = pyloudnorm.Meter(sample_rate)
    loudness = meter.integrated_loudness(wave.astype(np.float64))
    if not np.isfinite(loudness):  # too short or silent for the gated measure: leave as is
        return wave, 0.0
    gain = 10 ** ((target_lufs - loudness) / 20)
    top = float(np.max(np.abs(wave))) * gain
    if top > peak:
        gain *= peak / top
    return (wave * gain).astype(np.float32), float(20 * np.log10(gain))
