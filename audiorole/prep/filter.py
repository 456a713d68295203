"""Step rules: which replies to keep, with a recorded reason for every drop.

Rules run cheapest first; the first that fails names the drop reason. Audio
quality (DNSMOS) is judged separately because it needs the (maybe enhanced) clip.
"""

from collections.abc import Callable

from audiorole.asr.wer import normalize_text, wer


class ReplyFilter:
    def __init__(self, min_seconds: float = 1.0, max_seconds: float = 20.0, max_overlap_ratio: float = 0.1,
                 max_clipped_fraction: float | None = None,
                 min_words: int = 1, language: str | None = "en", min_language_probability: float = 0.5,
                 max_subtitle_wer: float | None = 0.5, min_asr_logprob: float | None = None,
                 min_dnsmos: float | None = 2.75,
                 language_identifier: Callable[[str], tuple[str, float]] | None = None):
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self.max_overlap_ratio = max_overlap_ratio
        self.max_clipped_fraction = max_clipped_fraction
        self.min_words = min_words
        self.language = language
        self.min_language_probability = min_language_probability
        self.max_subtitle_wer = max_subtitle_wer
        self.min_asr_logprob = min_asr_logprob
        self.min_dnsmos = min_dnsmos
        self.language_identifier = language_identifier

    def reason(self, sample: dict) -> str | None:
        """Why this reply is dropped before its audio is scored, or ``None`` to go on."""
        if sample.get("no_speech"):
            return "no_speech"  # ASR text where the VAD hears none: music, laughter, silence
        duration = sample["end"] - sample["start"]
        if duration < self.min_seconds:
            return "too_short"
        if duration > self.max_seconds:
            return "too_long"
        if sample.get("overlap", 0.0) > self.max_overlap_ratio * duration:
            return "overlap"
        clipped = sample.get("clipped")
        if self.max_clipped_fraction is not None and clipped is not None and clipped > self.max_clipped_fraction:
            return "clipped"
        text = sample.get("text") or ""
        if len(normalize_text(text).split()) < self.min_words:  # ". . ." is no transcript
            return "no_transcript"
        if self.language and self._language_of(sample, text) != self.language:
            return "wrong_language"
        confidence = sample.get("asr_logprob")
        if self.min_asr_logprob is not None and confidence is not None and confidence < self.min_asr_logprob:
            return "low_asr_confidence"
        subtitle = sample.get("subtitle")
        if self.max_subtitle_wer is not None and subtitle:
            if wer(subtitle, text) > self.max_subtitle_wer:
                return "transcript_mismatch"
        return None

    def quality_reason(self, dnsmos_ovrl: float) -> str | None:
        if self.min_dnsmos is not None and not dnsmos_ovrl >= self.min_dnsmos:
            return "low_dnsmos"
        return None

    def _language_of(self, sample: dict, text: str) -> str | None:
        if self.language_identifier is not None:
            code, probability = self.language_identifier(text)
            if probability >= self.min_language_probability:
                return code
            return self.language  # too unsure (short text): don't drop on a guess
        return sample.get("language") or self.language
