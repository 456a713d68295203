"""Passthrough enhancer: the ablation baseline and the choice for clean sources."""

import numpy as np

from audiorole.enhance.base import check_wave


class NoEnhancer:
    name = "none"
    sample_rate = None  # works at any rate

    def __call__(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        return check_wave(waveform, sample_rate, self.name).copy()
