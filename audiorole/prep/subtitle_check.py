"""A second look at replies whose transcript disagrees with their subtitle: is the subtitle in the audio?

The transcript check (``ReplyFilter.max_subtitle_wer``) compares the subtitle with
what the ASR wrote. In noise, or for voices the ASR model hears badly, free decoding
misses words that are there, and a true reply is dropped as a mismatch: on the
condition grid's dev part, 87 % of those drops were the right character saying
exactly the subtitle. Here the ASR model is instead *made to read the subtitle*
(teacher-forced, ``WhisperXTranscriber.text_logprob``): a subtitle that is in the
audio scores a high mean token log-probability even where decoding failed, while
another line, or the line with a third of its words changed or dropped (a
condensed subtitle), scores far lower. A reply whose subtitle clears
``min_logprob`` is kept, and its text becomes the subtitle (the ASR text is kept
as ``asr_text``; its word timings, which belong to that text, are dropped).

``min_logprob`` depends on the scoring model; the default was chosen for the
shipped tiny.en on the grid's dev part with ``bench/subtitle_check.py``, which
re-chooses it for another model (docs/condition_grid.md).
"""

import numpy as np
import soxr

SAMPLE_RATE = 16000


class SubtitleCheck:
    def __init__(self, scorer, min_logprob: float = -2.5):
        self.scorer = scorer  # anything with ``text_logprob(waves, texts, sample_rate) -> list[float | None]``
        self.min_logprob = float(min_logprob)

    def score(self, clip: np.ndarray, sr: int, text: str) -> float | None:
        if sr != SAMPLE_RATE:
            clip = soxr.resample(clip, sr, SAMPLE_RATE)
        return self.scorer.text_logprob([np.asarray(clip, dtype=np.float32)], [text], SAMPLE_RATE)[0]

    def rescue(self, sample: dict, clip: np.ndarray, sr: int) -> str | None:
        """``None`` (and the subtitle as the reply's text) when the subtitle is in ``clip``; else the drop reason."""
        score = self.score(clip, sr, sample["subtitle"])
        sample["subtitle_logprob"] = score
        if score is None or score < self.min_logprob:
            return "transcript_mismatch"
        sample.update(asr_text=sample.get("text"), text=sample["subtitle"], text_source="subtitle", words=None)
        return None
