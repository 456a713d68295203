"""What every enhancer shares: input checks and running a model at its own rate.

Enhancers take and return 1-D float32 audio at the caller's rate and length,
so a pipeline step can swap backends (or turn enhancement off) without caring
which rate a model was trained at.
"""

import numpy as np

from audiorole.errors import AudioroleError


class EnhanceError(AudioroleError, ValueError):
    """Audio an enhancer cannot process, or a backend that cannot load."""


def check_wave(waveform, sample_rate: int, who: str) -> np.ndarray:
    """1-D finite float32, or a one-line error naming the backend and the fix."""
    wave = np.asarray(waveform)
    if wave.ndim != 1:
        raise EnhanceError(f"{who}: expected a 1-D mono waveform, got shape {wave.shape}; down-mix it first")
    if int(sample_rate) <= 0:
        raise EnhanceError(f"{who}: sample_rate must be positive, got {sample_rate}")
    wave = wave.astype(np.float32, copy=False)
    if not np.isfinite(wave).all():
        raise EnhanceError(f"{who}: waveform contains NaN/Inf samples; fix the decoder or drop the clip")
    return wave


def resample(wave: np.ndarray, from_sr: int, to_sr: int) -> np.ndarray:
    if from_sr == to_sr:
        return wave
    import soxr  # soxr is 2x faster than torchaudio here (docs/design.md §8)

    return soxr.resample(wave, from_sr, to_sr).astype(np.float32, copy=False)


def fit_length(wave: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad to n samples (a resampling round trip may be off by one)."""
    if wave.size >= n:
        return wave[:n]
    return np.pad(wave, (0, n - wave.size))


def run_at_rate(fn, wave: np.ndarray, sample_rate: int, model_rate: int) -> np.ndarray:
    """Resample to the model's rate, run ``fn``, come back to the input's rate and length."""
    out = resample(fn(resample(wave, sample_rate, model_rate)), model_rate, sample_rate)
    return fit_length(out, wave.size).astype(np.float32, copy=False)
