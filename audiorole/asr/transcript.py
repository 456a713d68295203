"""What a transcriber returns: segments of text with word timings, plus the language.

Plain dataclasses (no numpy scalars) so transcripts serialise straight into
manifests with ``dataclasses.asdict``. Times are seconds from the start of the
clip that was transcribed.
"""

from dataclasses import dataclass, field


@dataclass
class Word:
    start: float
    end: float
    word: str  # as Whisper spells it, leading space stripped, punctuation attached
    probability: float


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    # Decoder confidence, kept for the pipeline's filters (Whisper's own silence
    # rule is no_speech_prob > 0.6 and avg_logprob < -1).
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0  # > 2.4 means repeated text (a decoding loop)


@dataclass
class Transcript:
    segments: list[Segment]
    language: str
    # None when the language was given by config rather than detected (an
    # English-only model cannot detect): the "wrong language" filter must then
    # use audiorole.asr.language on the text instead.
    language_probability: float | None = None

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text).strip()

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def is_empty(self) -> bool:
        return not self.text
