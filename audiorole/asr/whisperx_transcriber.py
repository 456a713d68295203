"""Transcribe reply clips with Whisper: the shipped tiny.en offline, WhisperX for real models.

Backends:
- ``faster-whisper`` (default for ``model="offline"`` or a local CTranslate2
  dir): the model is loaded with faster-whisper directly. WhisperX adds a VAD
  pass (its silero VAD needs torch.hub, its pyannote VAD costs more than tiny.en
  itself on short clips) and a wav2vec2 aligner that needs weights we do not
  ship; without them it gives no word times at all. Whisper's cross-attention
  word times come from faster-whisper.
- ``whisperx`` (default for hub names such as ``large-v3``): the model and its
  pyannote VAD are loaded with ``whisperx.load_model``; with ``align_model`` (a
  local wav2vec2 dir, or a hub name on a networked machine) word times come
  from ``whisperx.align`` instead of cross-attention.

Either way, clips of up to 30 s are one window each and windows of many clips
share encoder batches (``transcribe_many``); longer clips are first cut at
pauses by the backend's VAD. Turns of one recording go through
``transcribe_spans``: each turn is its own window (one 30 s encoder pass per
turn) unless ``pack_seconds`` is set, when consecutive turns share windows of up
to that length (``audiorole.asr.packing``) and the words are split back by time.
Packing is off by default: with tiny.en it cut transcription time 3x but raised
WER over all truth on the demo from 21.9 % to 36.1 % (30 s windows) or 28.7 %
(15 s): in one long window without timestamps the small model skips speech
(docs/prep_speed.md). Large models are what WhisperX batches this way.
``min_window_seconds`` instead shortens each turn's own window (its length + 3 s,
at least that many seconds; ``audiorole.asr.batched``): 3x faster, but off by
default, as tiny.en then ends diarized turns early (docs/prep_speed.md).

Silence rule (documented contract): a clip shorter than ``min_duration``, or
quieter than ``silence_dbfs`` RMS, or a window Whisper itself calls silent
(``no_speech_prob > no_speech_threshold`` and ``avg_logprob < log_prob_threshold``,
Whisper's own rule), yields no segment; a clip with no segment is an empty
``Transcript`` (``text == ""``).
"""

import os

import numpy as np

from audiorole.asr import models
from audiorole.asr.transcript import Segment, Transcript, Word
from audiorole.errors import AudioroleError
from audiorole.utils.cpus import usable_cpus

SAMPLE_RATE = 16000
WINDOW_S = 30.0  # Whisper's fixed input length


class WhisperXTranscriber:
    """``__call__(wave) -> Transcript``; ``transcribe_many(waves) -> list[Transcript]``.

    ``language=None`` asks a multilingual model to detect each clip's language
    (an English-only model like tiny.en always says "en").
    """

    def __init__(self, model: str = "offline", language: str | None = "en", device: str = "cpu",
                 compute_type: str = "int8", batch_size: int = 8, beam_size: int = 1,
                 word_timestamps: bool = True, align_model: str | None = None,
                 backend: str = "auto", cpu_threads: int | None = None, initial_prompt: str | None = None,
                 min_duration: float = 0.1, silence_dbfs: float = -60.0,
                 no_speech_threshold: float = 0.6, log_prob_threshold: float = -1.0,
                 download_root: str | None = None, pack_seconds: float | None = None, pack_gap: float = 2.0,
                 min_window_seconds: float | None = None):
        if backend not in ("auto", "faster-whisper", "whisperx"):
            raise AudioroleError(f"asr backend '{backend}' unknown; use auto, faster-whisper or whisperx")
        self.model_spec = model
        self.language = language
        self.device = device
        self.compute_type = compute_type
        self.batch_size = max(1, int(batch_size))
        self.beam_size = beam_size
        self.word_timestamps = word_timestamps
        self.align_model = align_model
        self.cpu_threads = cpu_threads or usable_cpus()
        self.initial_prompt = initial_prompt
        self.min_duration = min_duration
        self.silence_dbfs = silence_dbfs
        self.no_speech_threshold = no_speech_threshold
        self.log_prob_threshold = log_prob_threshold
        self.download_root = download_root
        self.pack_seconds = pack_seconds
        self.pack_gap = pack_gap
        if min_window_seconds is not None and not 0 < float(min_window_seconds) <= WINDOW_S:
            raise AudioroleError(f"asr min_window_seconds={min_window_seconds}; use a number in (0, {WINDOW_S:g}] "
                                 "or null (every window 30 s)")
        self.min_window_seconds = min_window_seconds
        local = model == models.OFFLINE or models.looks_like_path(model) or os.path.isdir(os.path.expanduser(model))
        self.backend = backend if backend != "auto" else (
            "faster-whisper" if local and align_model is None else "whisperx")
        label = "tiny.en(offline)" if model == models.OFFLINE else os.path.basename(os.path.normpath(model))
        self.name = f"{self.backend}:{label}"
        self._model = None  # faster-whisper WhisperModel (whisperx's is a subclass)
        self._pipeline = None  # whisperx FasterWhisperPipeline, whisperx backend only
        self._decoder = None
        self._aligners = {}

    # -- loading ---------------------------------------------------------------
    def _load(self):
        if self._decoder is not None:
            return self._decoder
        path, _ = models.resolve(self.model_spec)
        try:
            if self.backend == "whisperx":
                import whisperx

                self._pipeline = whisperx.load_model(
                    path, self.device, compute_type=self.compute_type, language=self.language,
                    vad_method="pyannote", asr_options={"beam_size": self.beam_size},
                    download_root=self.download_root, threads=self.cpu_threads)
                self._model = self._pipeline.model
            else:
                from faster_whisper import WhisperModel

                self._model = WhisperModel(path, device=self.device, compute_type=self.compute_type,
                                           cpu_threads=self.cpu_threads, download_root=self.download_root)
        except AudioroleError:
            raise
        except Exception as e:  # hub misses, bad folders, unsupported compute types
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            offline = " (HF_HUB_OFFLINE is set: use model=offline or a local CTranslate2 dir)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
            raise models.ASRModelError(f"asr model '{self.model_spec}': cannot load ({reason}){offline}") from e
        models.fix_feature_extractor(self._model)
        if self.language not in (None, "en") and not self._model.model.is_multilingual:
            raise AudioroleError(f"asr model '{self.model_spec}' is English-only but language={self.language}; "
                                 "use a multilingual model (e.g. large-v3) or language=en")
        from audiorole.asr.batched import BatchDecoder

        self._decoder = BatchDecoder(self._model, beam_size=self.beam_size,
                                     word_timestamps=self.word_timestamps, initial_prompt=self.initial_prompt,
                                     min_window_seconds=self.min_window_seconds)
        return self._decoder

    @property
    def multilingual(self) -> bool:
        self._load()
        return bool(self._model.model.is_multilingual)

    # -- public API --------------------------------------------------------------
    def __call__(self, waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Transcript:
        return self.transcribe_many([waveform], sample_rate)[0]

    def transcribe_many(self, waves: list[np.ndarray], sample_rate: int = SAMPLE_RATE) -> list[Transcript]:
        """Transcribe clips; windows of all clips are decoded ``batch_size`` at a time."""
        if sample_rate != SAMPLE_RATE:
            raise AudioroleError(f"asr needs {SAMPLE_RATE} Hz audio, got {sample_rate}; "
                                 "load it with audiorole.audio.decode.load_audio(path, 16000)")
        waves = [self._check(w) for w in waves]
        self._load()
        # (clip index, offset in clip, samples) for every window of every non-silent clip.
        windows = []
        for ci, w in enumerate(waves):
            if not self._silent(w):
                windows.extend((ci, off, chunk) for off, chunk in self._windows(w))
        results = self._decode(windows)

        segments = [[] for _ in waves]
        langs = [[] for _ in waves]
        for (ci, off, chunk), r in zip(windows, results):
            langs[ci].append((r.language, r.language_probability, len(chunk)))
            if not r.text or (r.no_speech_prob > self.no_speech_threshold and r.avg_logprob < self.log_prob_threshold):
                continue
            words = [Word(start=round(off + float(x["start"]), 2), end=round(off + float(x["end"]), 2), word=x["word"],
                          probability=round(float(x["probability"]), 4)) for x in r.words]
            start, end = (words[0].start, words[-1].end) if words else (round(off, 2), round(off + len(chunk) / SAMPLE_RATE, 2))
            segments[ci].append(Segment(start=start, end=end, text=r.text, words=words,
                                        avg_logprob=round(r.avg_logprob, 4), no_speech_prob=round(r.no_speech_prob, 4),
                                        compression_ratio=round(r.compression_ratio, 3)))
        out = []
        for ci, w in enumerate(waves):
            segs = sorted(segments[ci], key=lambda s: s.start)
            if self.align_model and segs:
                segs = self._align(segs, w)
            out.append(Transcript(segments=segs, **self._clip_language(langs[ci])))
        return out

    def transcribe_spans(self, wave: np.ndarray, spans: list[tuple[float, float]],
                         sample_rate: int = SAMPLE_RATE) -> list[Transcript]:
        """One transcript per (start, end) span of ``wave``, times relative to the span's start.

        Spans within ``pack_gap`` of each other share windows of up to
        ``pack_seconds``; each word goes to the span holding most of it.
        """
        from audiorole.asr.packing import owner, pack

        clip = lambda s, e: wave[int(s * sample_rate): int(e * sample_rate)]  # noqa: E731
        if not self.pack_seconds or not self.word_timestamps:  # words are what splits a window
            return self.transcribe_many([clip(s, e) for s, e in spans], sample_rate)
        windows = pack(spans, min(self.pack_seconds, WINDOW_S), self.pack_gap)
        transcripts = self.transcribe_many([clip(w.start, w.end) for w in windows], sample_rate)
        words: list[list[Word]] = [[] for _ in spans]
        confidence = [[] for _ in spans]
        out_lang = {}
        for w, t in zip(windows, transcripts):
            for seg in t.segments:
                for x in seg.words:
                    i = owner(w.start + x.start, w.start + x.end, spans, w.spans, reach=0.3)
                    if i is None:
                        continue
                    s0 = spans[i][0]
                    words[i].append(Word(start=round(max(w.start + x.start - s0, 0.0), 2),
                                         end=round(max(w.start + x.end - s0, 0.0), 2), word=x.word, probability=x.probability))
                    confidence[i].append((seg.avg_logprob, seg.no_speech_prob, seg.compression_ratio))
            for i in w.spans:
                out_lang[i] = {"language": t.language, "language_probability": t.language_probability}
        out = []
        for i in range(len(spans)):
            segments = []
            if words[i]:  # the confidences of the window segments its words came from
                logprob, no_speech, ratio = zip(*confidence[i])
                segments = [Segment(start=words[i][0].start, end=words[i][-1].end, text=" ".join(x.word for x in words[i]),
                                    words=words[i], avg_logprob=round(sum(logprob) / len(logprob), 4),
                                    no_speech_prob=max(no_speech), compression_ratio=max(ratio))]
            out.append(Transcript(segments=segments, **out_lang[i]))
        return out

    def text_logprob(self, waves: list[np.ndarray], texts: list[str], sample_rate: int = SAMPLE_RATE) -> list[float | None]:
        """How likely each text is as the words of its clip (``BatchDecoder.text_logprob``), ``batch_size``
        clips at a time; ``None`` for a clip longer than one 30 s window or without text."""
        if sample_rate != SAMPLE_RATE:
            raise AudioroleError(f"asr needs {SAMPLE_RATE} Hz audio, got {sample_rate}; "
                                 "load it with audiorole.audio.decode.load_audio(path, 16000)")
        decoder = self._load()
        todo = [i for i, (w, t) in enumerate(zip(waves, texts)) if t and t.strip() and 0 < len(w) <= WINDOW_S * SAMPLE_RATE]
        out: list[float | None] = [None] * len(waves)
        for b in range(0, len(todo), self.batch_size):
            idx = todo[b:b + self.batch_size]
            scores = decoder.text_logprob([self._check(waves[i]) for i in idx], [texts[i] for i in idx], self.language)
            for i, score in zip(idx, scores):
                out[i] = round(score, 4)
        return out

    def _decode(self, windows):
        """Each window alone; windows sorted by length so a batch holds similar ones."""
        order = sorted(range(len(windows)), key=lambda i: len(windows[i][2]))
        results = [None] * len(windows)
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            for i, r in zip(idx, self._decoder([windows[i][2] for i in idx], self.language)):
                results[i] = r
        return results

    def detect_language(self, waveform: np.ndarray) -> tuple[str, float]:
        """Whisper's audio language ID on the first 30 s (multilingual models only)."""
        decoder = self._load()
        if not self._model.model.is_multilingual:
            raise AudioroleError(f"asr model '{self.model_spec}' is English-only and cannot detect language; "
                                 "use audiorole.asr.language.TextLanguageIdentifier or a multilingual model")
        return decoder.detect_language([self._check(waveform)[: int(WINDOW_S * SAMPLE_RATE)]])[0]

    # -- helpers -----------------------------------------------------------------
    @staticmethod
    def _check(w) -> np.ndarray:
        w = np.asarray(w, dtype=np.float32)
        if w.ndim != 1:
            raise AudioroleError(f"asr expects a 1-D mono waveform, got shape {w.shape}; down-mix before transcribing")
        return w

    def _silent(self, w: np.ndarray) -> bool:
        if len(w) < self.min_duration * SAMPLE_RATE:
            return True
        rms = float(np.sqrt(np.mean(np.square(w, dtype=np.float64))))
        return 20 * np.log10(max(rms, 1e-10)) < self.silence_dbfs

    def _windows(self, w: np.ndarray):
        """≤30 s windows of a clip: the clip itself, or speech regions merged up to 30 s."""
        limit = int(WINDOW_S * SAMPLE_RATE)
        if len(w) <= limit:
            yield 0.0, w
            return
        regions = self._vad(w)
        start = end = None
        for s, e in regions:
            if start is not None and e - start > limit:
                yield start / SAMPLE_RATE, w[start:end]
                start = None
            if start is None:
                start = s
            end = e
        if start is not None:
            yield start / SAMPLE_RATE, w[start:end]

    def _vad(self, w: np.ndarray) -> list[tuple[int, int]]:
        """Speech regions (samples), none longer than 30 s, from the backend's VAD."""
        limit = int(WINDOW_S * SAMPLE_RATE)
        if self._pipeline is not None:
            from whisperx.vads import Vad

            vad = self._pipeline.vad_model
            params = self._pipeline._vad_params
            prep = vad.preprocess_audio(w) if isinstance(vad, Vad) else w
            merged = vad.merge_chunks(vad({"waveform": prep, "sample_rate": SAMPLE_RATE}), WINDOW_S,
                                      onset=params["vad_onset"], offset=params["vad_offset"])
            regions = [(int(s["start"] * SAMPLE_RATE), int(s["end"] * SAMPLE_RATE)) for s in merged]
        else:
            # faster-whisper ships silero VAD as ONNX (no torch.hub).
            from faster_whisper.vad import VadOptions, get_speech_timestamps

            ts = get_speech_timestamps(w, VadOptions(max_speech_duration_s=WINDOW_S, min_silence_duration_ms=160))
            regions = [(t["start"], t["end"]) for t in ts]
        return [(s, min(e, s + limit)) for s, e in regions if e > s]

    def _clip_language(self, langs) -> dict:
        if not langs:
            return {"language": self.language or "und", "language_probability": None}
        if langs[0][1] is None:  # given, not detected
            return {"language": langs[0][0], "language_probability": None}
        votes = {}
        for lang, prob, n in langs:  # duration-weighted vote over the clip's windows
            votes[lang] = votes.get(lang, 0.0) + prob * n
        best = max(votes, key=votes.get)
        return {"language": best, "language_probability": round(votes[best] / sum(n for *_, n in langs), 4)}

    def _align(self, segments: list[Segment], wave: np.ndarray) -> list[Segment]:
        """Replace cross-attention word times with WhisperX's wav2vec2 forced alignment."""
        import whisperx

        lang = self.language or "en"
        if lang not in self._aligners:
            try:
                self._aligners[lang] = whisperx.load_align_model(lang, self.device, model_name=self.align_model)
            except Exception as e:
                raise models.ASRModelError(f"align model '{self.align_model}': cannot load ({str(e).splitlines()[0] if str(e) else type(e).__name__}); "
                                           "give a local wav2vec2 CTC dir or set align_model=null") from e
        model, meta = self._aligners[lang]
        result = whisperx.align([{"start": s.start, "end": s.end, "text": s.text} for s in segments],
                                model, meta, wave, self.device, return_char_alignments=False)
        aligned = []
        for s, a in zip(segments, result["segments"]):
            words = [Word(start=round(x["start"], 2), end=round(x["end"], 2), word=x["word"],
                          probability=round(float(x.get("score", 0.0)), 4))
                     for x in a.get("words", []) if "start" in x and "end" in x]
            # Words the aligner cannot place (digits, symbols) keep Whisper's segment.
            aligned.append(Segment(start=s.start, end=s.end, text=s.text, words=words or s.words,
                                   avg_logprob=s.avg_logprob, no_speech_prob=s.no_speech_prob,
                                   compression_ratio=s.compression_ratio))
        return aligned
