"""Voice activity detection: where in a waveform someone speaks, independently of the ASR.

Whisper writes text for music, laughter or silence it should leave empty
(". . .", "Thank you."); a turn, or a word, where this VAD hears no speech has
its text removed (``audiorole.prep.transcribe``). Silero VAD, as the ONNX model
shipped in the faster-whisper wheel (no download, no torch.hub).
"""

import numpy as np

SAMPLE_RATE = 16000


class SileroVAD:
    """``vad(wave) -> [(start_s, end_s), ...]`` speech regions of a 16 kHz mono waveform."""

    name = "silero"

    def __init__(self, threshold: float = 0.5, min_speech_ms: int = 100, min_silence_ms: int = 160, pad_ms: int = 100):
        self.threshold = threshold
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self.pad_ms = pad_ms

    def __call__(self, wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> list[tuple[float, float]]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"VAD needs {SAMPLE_RATE} Hz audio, got {sample_rate}")
        options = VadOptions(threshold=self.threshold, min_speech_duration_ms=self.min_speech_ms,
                             min_silence_duration_ms=self.min_silence_ms, speech_pad_ms=self.pad_ms)
        stamps = get_speech_timestamps(np.asarray(wave, dtype=np.float32), options, sampling_rate=SAMPLE_RATE)
        return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def speech_within(regions: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of ``regions`` inside ``[start, end]``."""
    return sum(max(0.0, min(end, e) - max(start, s)) for s, e in regions)
