"""Step rules: which replies to keep, with a recorded reason for every drop.

Rules run cheapest first; the first that fails names the drop reason. Audio
quality (DNSMOS) is judged separately because it needs the (maybe enhanced) clip,
and per episode: with ``dnsmos_margin`` set, a noisy episode's bar drops from
``min_dnsmos`` to that margin below the median score of its own replies (never
under ``dnsmos_floor``), so an episode whose every clip carries the same room or
crowd still gives its best replies instead of none.
"""

from collections.abc import Callable

import numpy as np

from audiorole.asr.wer import normalize_text, wer


class ReplyFilter:
    def __init__(self, min_seconds: float = 1.0, max_seconds: float = 20.0, max_overlap_ratio: float = 0.1,
                 max_clipped_fraction: float | None = None,
                 min_words: int = 1, language: str | None = "en", min_language_probability: float = 0.5,
                 max_subtitle_wer: float | None = 0.5, min_asr_logprob: float | None = None,
                 min_dnsmos: float | None = 2.75, dnsmos_margin: float | None = None, dnsmos_floor: float = 2.0,
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
        self.dnsmos_margin = dnsmos_margin
        self.dnsmos_floor = dnsmos_floor
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

    def quality_threshold(self, episode_ovrls) -> float | None:
        """The OVRL every reply of an episode must reach, given the scores of all its scored replies."""
        if self.min_dnsmos is None or self.dnsmos_margin is None or not len(episode_ovrls):
            return self.min_dnsmos
        median = float(np.median(np.asarray(episode_ovrls, dtype=float)))
        return min(self.min_dnsmos, max(self.dnsmos_floor, median - self.dnsmos_margin))

    def quality_reason(self, dnsmos_ovrl: float, threshold: float | None = None) -> str | None:
        """``low_dnsmos`` under ``threshold`` (the episode's, ``quality_threshold``; default ``min_dnsmos``)."""
        bar = self.min_dnsmos if threshold is None else threshold
        if bar is not None and not dnsmos_ovrl >= bar:
            return "low_dnsmos"
        return None

    def _language_of(self, sample: dict, text: str) -> str | None:
        if self.language_identifier is not None:
            code, probability = self.language_identifier(text)
            if probability >= self.min_language_probability:
                return code
            return self.language  # too unsure (short text): don't drop on a guess
        return sample.get("language") or self.language
