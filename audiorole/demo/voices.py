"""Offline text-to-speech backends for the demo.

The cast speaks with Kokoro-82M's natural voices (``kokoro.py``); espeak-ng's
formant voices are kept for background babble, where robotic is fine. Both
return float32 mono audio already resampled, trimmed and loudness-normalised,
so the mixer can treat every voice the same way.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

# Speech level before mixing; the bed is set relative to this.
SPEECH_RMS_DBFS = -20.0


def synthesize(spec: dict, text: str, sr: int) -> np.ndarray:
    """Speak ``text`` with the voice ``spec`` and return clean audio at ``sr``."""
    audio, native_sr = _backend(spec["engine"])(spec, text)
    audio = soxr.resample(audio, native_sr, sr) if native_sr != sr else audio
    audio = trim_silence(audio.astype(np.float32), sr)
    return normalize_rms(audio, SPEECH_RMS_DBFS)


def _backend(engine: str):
    return {"kokoro": _kokoro, "espeak": _espeak}[engine]


def _kokoro(spec: dict, text: str) -> tuple[np.ndarray, int]:
    from . import kokoro

    return kokoro.synthesize(text, spec["voice"], speed=spec.get("speed", 1.0))


def _espeak(spec: dict, text: str) -> tuple[np.ndarray, int]:
    # Writing to a file (not --stdout) gives a WAV header with real sizes.
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "x.wav"
        cmd = [
            _which("espeak-ng"), "-v", spec["voice"], "-p", str(spec.get("pitch", 50)),
            "-s", str(spec.get("speed", 160)), "-w", str(wav), text,
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        audio, sr = sf.read(wav, dtype="float32", always_2d=True)
        return audio.mean(axis=1), sr


def _which(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"'{tool}' not found; install it with apt-get install {tool}")
    return path


def trim_silence(audio: np.ndarray, sr: int, floor_db: float = -40.0, pad_s: float = 0.03) -> np.ndarray:
    """Cut leading/trailing silence so utterance times in the truth are tight."""
    frame = int(0.01 * sr)
    n = len(audio) // frame
    if n == 0:
        return audio
    energy = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    active = np.flatnonzero(20 * np.log10(energy / energy.max()) > floor_db)
    pad = int(pad_s * sr)
    start = max(active[0] * frame - pad, 0)
    end = min((active[-1] + 1) * frame + pad, len(audio))
    return audio[start:end]


def normalize_rms(audio: np.ndarray, target_dbfs: float) -> np.ndarray:
    """Scale so the RMS over voiced frames hits ``target_dbfs``."""
    frame = 160
    n = len(audio) // frame
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
    voiced = rms[rms > rms.max() * 0.1]
    level = np.sqrt(np.mean(voiced**2)) if voiced.size else 1e-9
    return (audio * (10 ** (target_dbfs / 20) / level)).astype(np.float32)
