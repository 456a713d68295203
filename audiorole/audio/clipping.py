"""How much of a waveform sits at full scale: the mark of clipping in recording or encoding."""

import numpy as np

CLIP_LEVEL = 0.999  # of full scale
_PCM16_STEP = 1 / 32768


def clipped_fraction(wave: np.ndarray, full_scale: float = 1.0) -> float:
    """Fraction of samples at the clipping level. ``full_scale``: where the original full scale
    now lies, for audio scaled after decoding (loudness gain), within one 16-bit step."""
    if wave.size == 0:
        return 0.0
    return float(np.mean(np.abs(wave) >= CLIP_LEVEL * full_scale - _PCM16_STEP))
