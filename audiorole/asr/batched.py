"""Decode a batch of ≤30 s windows with one Whisper encoder pass: text, confidence, language, word times.

Built from faster-whisper's pieces (feature extractor, ``encode``, CTranslate2
``generate``, cross-attention ``add_word_timestamps``) rather than its
``transcribe`` loops, because neither fits thousands of short replies: the
sequential loop encodes one clip at a time, and ``BatchedInferencePipeline``
expects one long recording and carries state between the clips of a batch, so a
clip's words would depend on its neighbours. Here every window is decoded as if
it were alone, which makes batching equal one-by-one. Pinned to faster-whisper
1.2.1 (these are its semi-public methods).

Whisper's encoder is trained on 30 s windows, but a 4 s reply padded to 30 s
spends ~85 % of the encoder on silence. With ``min_window_seconds`` a window is
encoded at its own length plus ``TAIL_S`` of padding (rounded up to whole
seconds, at least ``min_window_seconds``, at most 30 s), and only windows of the
same encoded length share a batch, so a window's text still does not depend on
its neighbours. Off by default: on the demo's diarized turns tiny.en then
stops early and WER over all truth rises from 11.1 % to 14.2 % (docs/prep_speed.md).
"""

import math
from dataclasses import dataclass, field

import numpy as np

# Each window gets a virtual offset of ``(i + 1) * VIRTUAL_GAP_S`` for word
# alignment, so faster-whisper's "first word after a pause" heuristic sees every
# clip as following a long pause (true of a cut reply) whatever else is in the batch.
VIRTUAL_GAP_S = 1000.0
# Speech runs at ~3-5 Whisper tokens per second; capping new tokens at this rate
# (plus slack) stops a greedy repetition loop early instead of at 448 tokens.
MAX_TOKENS_PER_S = 12
TOKEN_SLACK = 16
# Whisper's own failure tests, used to pick windows worth a beam-search retry.
COMPRESSION_RATIO_MAX = 2.4
# Padding after a shortened window's audio: with none, Whisper cut a 25 s reply off after its
# first sentence (it stops where the window ends); 3 s and 6 s measured the same.
TAIL_S = 3.0


@dataclass
class WindowResult:
    text: str
    tokens: list[int]
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    language: str
    language_probability: float | None
    words: list[dict] = field(default_factory=list)  # start, end, word, probability (window time)


def _features(model, audio: np.ndarray, min_window_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """The window's log-mel, padded to Whisper's 30 s or (``min_window_seconds``) to its own length + ``TAIL_S``."""
    from faster_whisper.audio import pad_or_trim

    feats = model.feature_extractor(audio)[..., :-1]  # drop the padding frame, as faster-whisper does
    full = model.feature_extractor.nb_max_frames
    frames = min(feats.shape[-1], full)
    if min_window_seconds is None:
        return pad_or_trim(feats), frames
    seconds = max(float(min_window_seconds), math.ceil(len(audio) / model.feature_extractor.sampling_rate + TAIL_S))
    length = min(full, int(seconds * model.frames_per_second))
    return pad_or_trim(feats, length + length % 2), frames  # even: the encoder's stride-2 convolution


class BatchDecoder:
    """Greedy/beam decoding of windows with a loaded faster-whisper (or whisperx) ``WhisperModel``."""

    def __init__(self, model, *, beam_size: int = 1, word_timestamps: bool = True,
                 initial_prompt: str | None = None, max_new_tokens: int | None = None,
                 min_window_seconds: float | None = None):
        self.model = model
        self.min_window_seconds = min_window_seconds
        self.beam_size = beam_size
        self.word_timestamps = word_timestamps
        self.initial_prompt = initial_prompt
        self.max_new_tokens = max_new_tokens
        self._tokenizers = {}

    def tokenizer(self, language: str):
        from faster_whisper.tokenizer import Tokenizer

        if language not in self._tokenizers:
            self._tokenizers[language] = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                                                   task="transcribe", language=language)
        return self._tokenizers[language]

    def detect_language(self, windows: list[np.ndarray]) -> list[tuple[str, float]]:
        """Whisper's audio language ID, per window (multilingual models only)."""
        encoded = self.model.encode(np.stack([_features(self.model, w)[0] for w in windows]))
        return [(r[0][0][2:-2], float(r[0][1])) for r in self.model.model.detect_language(encoded)]

    def __call__(self, windows: list[np.ndarray], language: str | None) -> list[WindowResult]:
        """One result per window; windows of different encoded lengths go through separate batches."""
        feats = [_features(self.model, w, self.min_window_seconds) for w in windows]
        groups: dict[int, list[int]] = {}
        for i, (f, _) in enumerate(feats):
            groups.setdefault(f.shape[-1], []).append(i)
        out: list[WindowResult | None] = [None] * len(windows)
        for idx in groups.values():
            for i, r in zip(idx, self._batch([windows[i] for i in idx], [feats[i] for i in idx], language)):
                out[i] = r
        return out

    def text_logprob(self, windows: list[np.ndarray], texts: list[str], language: str | None) -> list[float]:
        """Mean log-probability per token of each ``text`` (and the end of text) read from its window,
        teacher-forced: how likely Whisper finds exactly these words in the audio. Free decoding in
        noise can miss words that are there; a given text that is there still scores high, and a
        text that is not (another line, a third of its words changed or dropped) scores far lower."""
        tokenizer = self.tokenizer(language if language and self.model.model.is_multilingual else "en")
        feats, frames = zip(*(_features(self.model, w) for w in windows))
        encoded = self.model.encode(np.stack(feats))
        tokens = [tokenizer.encode(" " + t.strip()) for t in texts]
        results = self.model.model.align(encoded, tokenizer.sot_sequence, tokens, list(frames))
        return [float(np.mean(np.log(np.maximum(np.asarray(r.text_token_probs, dtype=float), 1e-12)))) for r in results]

    def _batch(self, windows, feats, language: str | None) -> list[WindowResult]:
        model = self.model
        feats, frames = zip(*feats)
        features = np.stack(feats)
        encoded = model.encode(features)

        multilingual = model.model.is_multilingual
        if language is None and multilingual:
            detected = [(r[0][0][2:-2], float(r[0][1])) for r in model.model.detect_language(encoded)]
        else:
            detected = [(language if multilingual else "en", None)] * len(windows)

        langs = [lang for lang, _ in detected]
        durations = [len(w) / 16000 for w in windows]
        out = self._generate(encoded, langs, durations, self.beam_size)
        # Greedy decoding sometimes loops or derails; retry those windows with a
        # 5-beam search (re-encoding just them) and keep whichever scores better.
        retry = [i for i, r in enumerate(out) if self.beam_size < 5 and r.tokens and (
            r.compression_ratio > COMPRESSION_RATIO_MAX or (r.avg_logprob < -1.0 and r.no_speech_prob < 0.6))]
        if retry:
            again = self._generate(model.encode(features[retry]), [langs[i] for i in retry], [durations[i] for i in retry], 5)
            for i, r in zip(retry, again):
                worse = out[i].compression_ratio > COMPRESSION_RATIO_MAX >= r.compression_ratio
                if worse or (r.compression_ratio <= COMPRESSION_RATIO_MAX and r.avg_logprob > out[i].avg_logprob):
                    out[i] = r
        for r, (_, prob) in zip(out, detected):
            r.language_probability = prob

        if self.word_timestamps:
            by_lang = {}
            for i, (lang, _) in enumerate(detected):
                by_lang.setdefault(lang, []).append(i)
            for lang, idx in by_lang.items():
                # Alignment uses the language's start sequence; a mixed-language
                # batch (rare) re-encodes each language's windows.
                enc = encoded if len(by_lang) == 1 else model.encode(features[idx])
                self._add_words([out[i] for i in idx], [frames[i] for i in idx],
                                [len(windows[i]) / 16000 for i in idx], enc, self.tokenizer(lang))
        return out

    def _generate(self, inputs, langs: list[str], durations: list[float], beam_size: int) -> list[WindowResult]:
        """One CTranslate2 ``generate`` call on encoder outputs."""
        from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

        model = self.model
        prompts = []
        for lang in langs:
            tok = self.tokenizer(lang)
            previous = tok.encode(" " + self.initial_prompt.strip()) if self.initial_prompt else []
            prompts.append(model.get_prompt(tok, previous, without_timestamps=True))
        tok0 = self.tokenizer(langs[0])
        new_tokens = int(MAX_TOKENS_PER_S * max(durations)) + TOKEN_SLACK
        if self.max_new_tokens is not None:
            new_tokens = min(new_tokens, self.max_new_tokens)
        max_length = min(model.max_length, max(len(p) for p in prompts) + new_tokens)
        results = model.model.generate(
            inputs, prompts, beam_size=beam_size, patience=1, length_penalty=1, max_length=max_length,
            suppress_blank=True, suppress_tokens=get_suppressed_tokens(tok0, [-1]),
            return_scores=True, return_no_speech_prob=True, repetition_penalty=1, no_repeat_ngram_size=0)
        out = []
        for lang, res in zip(langs, results):
            tokens = [t for t in res.sequences_ids[0] if t < tok0.eot]
            n = len(res.sequences_ids[0])
            text = self.tokenizer(lang).decode(tokens).strip()
            out.append(WindowResult(
                text=text, tokens=tokens,
                avg_logprob=float(res.scores[0] * n / (n + 1)),  # faster-whisper's definition (length penalty 1)
                no_speech_prob=float(res.no_speech_prob),
                compression_ratio=float(get_compression_ratio(text)) if text else 0.0,
                language=lang, language_probability=None))
        return out

    def _add_words(self, results, frames, durations, encoded, tokenizer) -> None:
        fps = self.model.frames_per_second
        segments = [[{"tokens": r.tokens, "seek": int(round((i + 1) * VIRTUAL_GAP_S * fps)),
                      "start": (i + 1) * VIRTUAL_GAP_S, "end": (i + 1) * VIRTUAL_GAP_S + d, "text": r.text}]
                    for i, (r, d) in enumerate(zip(results, durations))]
        self.model.add_word_timestamps(segments, tokenizer, encoded, list(frames),
                                       "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、", 0.0)
        for i, (r, d, seg) in enumerate(zip(results, durations, segments)):
            off = (i + 1) * VIRTUAL_GAP_S
            r.words = [dict(start=round(min(max(float(w["start"]) - off, 0.0), d), 2),
                            end=round(min(max(float(w["end"]) - off, 0.0), d), 2),
                            word=w["word"].strip(), probability=float(w["probability"]))
                       for w in seg[0].get("words", [])]
