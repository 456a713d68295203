"""Step 1: decode any container, mono, resample, loudness-normalise.

Everything downstream reads this one file, so decoding (the slow part for video
containers) happens once per episode.
"""

import logging
from pathlib import Path

import numpy as np
import soundfile as sf

from audiorole.audio.clipping import clipped_fraction
from audiorole.audio.decode import AudioError, decode_audio, declared_seconds
from audiorole.audio.loudness import normalise_loudness
from audiorole.prep.context import EpisodeContext

log = logging.getLogger(__name__)


class Standardise:
    name = "standardise"
    reads = ()  # no series-level input (registry, enrollment clips, subtitles)

    def __init__(self, sample_rate: int = 16000, target_lufs: float = -23.0, min_seconds: float = 1.0,
                 silence_dbfs: float = -60.0, clipped_fraction: float = 0.001, duration_tolerance: float = 0.5):
        self.sample_rate = sample_rate
        self.target_lufs = target_lufs
        self.min_seconds = min_seconds
        self.silence_dbfs = silence_dbfs
        self.clipped_fraction = clipped_fraction
        self.duration_tolerance = duration_tolerance  # seconds decoded may fall short of the declared duration

    def _check_complete(self, path: Path, seconds: float, decode_errors: list[str], warnings: list[str]) -> None:
        """A truncated or damaged file is kept for what decodes, with a warning saying how much that is."""
        declared = declared_seconds(path)
        short = declared is not None and seconds < declared - max(self.duration_tolerance, 0.01 * declared)
        if short or decode_errors:
            of = f" of its declared {declared:.1f} s" if declared is not None else ""
            why = f" (FFmpeg: {decode_errors[-1].strip()})" if decode_errors else ""
            warnings.append(f"{path}: decoded {seconds:.1f} s{of}{why}; kept what decodes, check or replace the file")

    def __call__(self, ctx: EpisodeContext, out: Path) -> dict:
        path = ctx.episode.audio
        wave, decode_errors = decode_audio(path, self.sample_rate)
        seconds = wave.size / self.sample_rate
        warnings: list[str] = []  # kept in the result, so a cached rerun reports them again
        self._check_complete(path, seconds, decode_errors, warnings)
        if seconds < self.min_seconds:
            raise AudioError(f"{path}: only {seconds:.2f} s of audio (< {self.min_seconds} s); an episode must be longer")
        rms_db = 20 * np.log10(np.sqrt(np.mean(wave.astype(np.float64) ** 2)) + 1e-12)
        if rms_db < self.silence_dbfs:
            raise AudioError(f"{path}: silent ({rms_db:.0f} dBFS RMS); check the audio track")
        clipped = clipped_fraction(wave)
        if clipped > self.clipped_fraction:
            warnings.append(f"{path}: {clipped:.1%} of samples are clipped; kept, but quality filters may drop its replies")
        wave, gain_db = normalise_loudness(wave, self.sample_rate, self.target_lufs)
        audio = out / "audio.flac"
        sf.write(audio, wave, self.sample_rate, subtype="PCM_16")
        return {"audio": str(audio), "sample_rate": self.sample_rate, "duration": seconds,
                "gain_db": gain_db, "clipped_fraction": clipped, "warnings": warnings}
