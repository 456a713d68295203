"""Audio helpers shared by the ARP-Eval backends: rate conversion and WAV for judge requests."""

import base64
import io

import numpy as np

from audiorole.errors import AudioroleError


def mono_float32(wave, where: str = "output") -> np.ndarray:
    wave = np.asarray(wave)
    if wave.ndim != 1:
        raise AudioroleError(f"{where}: expected 1-D mono audio, got shape {wave.shape}; down-mix it first")
    return wave.astype(np.float32, copy=False)


def resample(wave: np.ndarray, sample_rate: int, target: int) -> np.ndarray:
    wave = mono_float32(wave)
    if int(sample_rate) == int(target) or wave.size == 0:
        return wave
    import soxr

    return soxr.resample(wave, int(sample_rate), int(target)).astype(np.float32)


def wav_base64(wave: np.ndarray, sample_rate: int) -> str:
    """16-bit PCM WAV, base64: what ``input_audio`` parts of chat requests carry."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.clip(mono_float32(wave), -1.0, 1.0), int(sample_rate), format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
