"""Decode any container FFmpeg reads into a mono float32 waveform at a chosen rate.

FFmpeg does the demuxing, down-mixing and resampling (soxr) in one pass, which
is both the fastest path measured here and the one that reads video containers.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np

from audiorole.errors import AudioroleError


class AudioError(AudioroleError):
    """An audio file cannot be decoded or is unusable."""


def ffmpeg_binary() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise AudioError("ffmpeg not found on PATH; install it (apt-get install ffmpeg) or run scripts/install.sh")
    return path


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Mono float32 samples in [-1, 1] at ``sample_rate``; a clear error for unreadable or empty files."""
    return decode_audio(path, sample_rate)[0]


def declared_seconds(path: str | Path) -> float | None:
    """The duration the container declares (ffprobe), or ``None`` when it declares none."""
    probe = shutil.which("ffprobe")
    if probe is None:
        return None
    proc = subprocess.run([probe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                          capture_output=True, text=True)
    try:
        return float(proc.stdout.strip().splitlines()[0])
    except (IndexError, ValueError):
        return None


def decode_audio(path: str | Path, sample_rate: int = 16000) -> tuple[np.ndarray, list[str]]:
    """Like ``load_audio``, plus the errors FFmpeg reported while still producing samples
    (a damaged or truncated file decodes partly, with exit status 0)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes); replace or remove it")
    cmd = [ffmpeg_binary(), "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ac", "1",
           "-af", "aresample=resampler=soxr", "-ar", str(sample_rate), "-f", "f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        reason = reason[-1] if reason else f"ffmpeg exit {proc.returncode}"
        raise AudioError(f"{path}: cannot decode audio ({reason}); check the file or re-encode it with ffmpeg")
    wave = np.frombuffer(proc.stdout, dtype=np.float32)
    if wave.size == 0:
        raise AudioError(f"{path}: no audio stream or zero samples; check the file has an audio track")
    if not np.isfinite(wave).all():
        raise AudioError(f"{path}: decoded samples contain NaN/Inf; re-encode the file")
    return wave.copy(), proc.stderr.decode(errors="replace").strip().splitlines()
