"""Step 1: decode any container, mono, resample, loudness-normalise.

Everything downstream reads this one file, so decoding (the slow part for video
containers) happens once per episode.
"""

import logging
from pathlib import Path

import numpy as np
import soundfile as sf

from audiorole.audio.decode import AudioError, load_audio
from audiorole.audio.loudness import normalise_loudness
from audiorole.prep.context import EpisodeContext

log = logging.getLogger(__name__)


class Standardise:
    name = "standardise"

    def __init__(self, sample_rate: int = 16000, target_lufs: float = -23.0, min_seconds: float = 1.0,
                 silence_dbfs: float = -60.0, clipped_fraction: float = 0.001):
        self.sample_rate = sample_rate
        self.target_lufs = target_lufs
        self.min_seconds = min_seconds
        self.silence_dbfs = silence_dbfs
        self.clipped_fraction = clipped_fraction

    def __call__(self, ctx: EpisodeContext, out: Path) -> dict:
        path = ctx.episode.audio
        wave = load_audio(path, self.sample_rate)
        seconds = wave.size / self.sample_rate
        if seconds < self.min_seconds:
            raise AudioError(f"{path}: only {seconds:.2f} s of audio (< {self.min_seconds} s); an episode must be longer")
        rms_db = 20 * np.log10(np.sqrt(np.mean(wave.astype(np.float64) ** 2)) + 1e-12)
        if rms_db < self.silence_dbfs:
            raise AudioError(f"{path}: silent ({rms_db:.0f} dBFS RMS); check the audio track")
        clipped = float(np.mean(np.abs(wave) >= 0.999))
        if clipped > self.clipped_fraction:
            ctx.warnings.append(f"{path}: {clipped:.1%} of samples are clipped; kept, but quality filters may drop its replies")
        wave, gain_db = normalise_loudness(wave, self.sample_rate, self.target_lufs)
        audio = out / "audio.flac"
        sf.write(audio, wave, self.sample_rate, subtype="PCM_16")
        return {"audio": str(audio), "sample_rate": self.sample_rate, "duration": seconds,
                "gain_db": gain_db, "clipped_fraction": clipped}
