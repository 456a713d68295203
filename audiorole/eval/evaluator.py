"""ARPEvaluator: ARP-Eval's measures from configured backends (``conf/eval/offline.yaml``, ``judge.yaml``).

    ev = hydra.utils.instantiate(cfg.eval)
    ev.prepare(enrollment, training_lines, personas)     # references, cached in memory
    result = ev.score(items, outputs)                    # EvalResult

- AP: speaker embedding of each output vs the target character's enrollment
  centroid (cosine), and the margin over the nearest other character.
- AQ: the quality backend's score of each output (``aq``), and each of ``quality_also``'s
  (``aq_<name>``), every one named in ``result.backends``.
- CQ, CP: the content scorers on each output's text; outputs without text are
  transcribed first (the transcript is kept in ``per_item``).
- WER, CER: the ASR transcript of each output's speech against the text it should say
  (the system's own text when it gives one, else the reference reply).

An output that cannot be scored (a failed answer, ``Output.error``, e.g. a reply file that does
not decode; no audio, non-finite samples, shorter than ``min_seconds``, silent, a clip a backend
refuses; for CQ/CP: no words) is not dropped: it gets the bottom of
the scale (AP cosine -1, AP margin -2, the backends' ``scale[0]``: MOS 1, CQ cosine -1, CP margin
-2; no transcript, so WER/CER 1) and is counted (``<key>_unscoreable``), so silence never
beats an attempt. A NaN left in a row means the scorer itself failed (a judge call): not scored,
which lowers that measure's coverage.

Which measures run is ``metrics`` (a callback can skip the slow ones).
"""

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from audiorole.errors import AudioroleError, ConfigError
from audiorole.eval.audio import mono_float32, resample
from audiorole.eval.items import EvalItem, Output
from audiorole.eval.judge.client import JudgeClient, JudgeCounts
from audiorole.eval.metrics import METRICS, arp_metrics, as_numbers
from audiorole.eval.references import Centroids, centroid
from audiorole.eval.result import EvalResult

log = logging.getLogger(__name__)
NEEDS = {"ap": "speaker_embedder", "aq": "quality", "cq": "content_quality", "cp": "content_persona",
         "wer": "transcriber"}
AP_FLOOR = {"ap": -1.0, "ap_margin": -2.0}  # the bottom of the cosine and of the cosine-margin scales


def audio_problem(output: Output, min_seconds: float, silence_peak: float) -> str | None:
    """Why an output's audio cannot be scored, or None when it can."""
    if output.error is not None:
        return output.error  # the system gave no answer (e.g. a reply file that does not decode)
    if output.wave is None or np.asarray(output.wave).size == 0:
        return "no audio"
    wave = mono_float32(output.wave)
    if not np.isfinite(wave).all():
        return "non-finite samples"
    if wave.size < min_seconds * int(output.sample_rate):
        return f"shorter than {min_seconds:g} s"
    if float(np.max(np.abs(wave))) < silence_peak:
        return "silent"
    return None


def _scale_floor(backend, key: str) -> float:
    scale = getattr(backend, "scale", None)
    if scale is None or len(scale) != 2:
        raise ConfigError(f"eval backend {type(backend).__name__} ({key}) has no `scale` (low, high); "
                          "add one so unscoreable outputs can score its minimum")
    return float(scale[0])


class ARPEvaluator:
    def __init__(self, speaker_embedder=None, quality=None, content_quality=None, content_persona=None,
                 transcriber=None, judge: JudgeClient | None = None,
                 metrics: Sequence[str] = ("ap", "aq", "cq", "cp"), name: str = "arp-eval",
                 quality_also: dict | None = None, min_seconds: float = 0.5, silence_dbfs: float = -70.0):
        self.metric_names = tuple(metrics)
        unknown = [m for m in self.metric_names if m not in METRICS]
        if unknown or not self.metric_names:
            raise ConfigError(f"eval.metrics {list(self.metric_names)}: unknown {unknown}; choose from {list(METRICS)}")
        self.speaker_embedder = speaker_embedder
        self.quality = quality
        self.quality_also = dict(quality_also or {}) if "aq" in self.metric_names else {}
        self.content_quality = content_quality
        self.content_persona = content_persona
        self.transcriber = transcriber
        self.name = name
        self.min_seconds = float(min_seconds)
        self.silence_peak = 10 ** (float(silence_dbfs) / 20)
        for metric in self.metric_names:
            if getattr(self, NEEDS[metric]) is None:
                raise ConfigError(f"eval.metrics has '{metric}' but eval.{NEEDS[metric]} is null; "
                                  f"set a backend or drop '{metric}' from eval.metrics")
        self._floors = {"aq": _scale_floor(quality, "aq") if "aq" in self.metric_names else None,
                        "cq": _scale_floor(content_quality, "cq") if "cq" in self.metric_names else None,
                        "cp": _scale_floor(content_persona, "cp") if "cp" in self.metric_names else None,
                        **{f"aq_{n}": _scale_floor(b, f"aq_{n}") for n, b in self.quality_also.items()}}
        self.judge = judge
        for key in NEEDS.values():
            backend = getattr(self, key)
            if backend is not None and hasattr(backend, "client") and backend.client is None:
                if judge is None:
                    raise ConfigError(f"eval.{key} is a judge backend but eval.judge is null; "
                                      "configure eval.judge (see conf/eval/judge.yaml)")
                backend.client = judge  # one client for all judges: one cache, one call cap, one set of counts
        self._voice: Centroids | None = None
        self._voice_cache: dict[tuple, np.ndarray] = {}
        self._prepared_text: tuple | None = None

    # -- references --------------------------------------------------------------
    def prepare(self, enrollment: dict[str, list[Path]], training_lines: dict[str, list[str]] | None = None,
                personas: dict[str, str] | None = None) -> None:
        """Build (or reuse) the AP voice centroids and the CP references."""
        if "ap" in self.metric_names:
            self._voice = Centroids({c: self._voice_centroid(c, clips) for c, clips in enrollment.items()},
                                    "AP enrollment")
        if "cp" in self.metric_names:
            if not training_lines:
                raise AudioroleError("CP needs training lines: pass audiorole.eval.eval_set.training_lines(prepared_dir) "
                                     "to prepare(), or drop 'cp' from eval.metrics")
            key = (tuple(sorted((c, tuple(ts)) for c, ts in training_lines.items())),
                   tuple(sorted((personas or {}).items())))
            if key != self._prepared_text:
                self.content_persona.prepare(training_lines, personas)
                self._prepared_text = key

    def _voice_centroid(self, character: str, clips: list[Path]) -> np.ndarray:
        from audiorole.audio.decode import load_audio

        paths = [Path(p) for p in clips]
        if not paths:
            raise AudioroleError(f"AP: character '{character}' has no enrollment clips; add some under "
                                 f"characters/{character}/ in the series folder")
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise AudioroleError(f"AP: enrollment clip {missing[0]} not found; fix characters/{character}/")
        key = (self.speaker_embedder.name, character,
               tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths))
        if key not in self._voice_cache:
            waves = [load_audio(p, self.speaker_embedder.sample_rate) for p in paths]
            self._voice_cache[key] = centroid(self.speaker_embedder.embed_many(waves))
        return self._voice_cache[key]

    # -- scoring -----------------------------------------------------------------
    def metrics(self, prefix: str | None = None):
        """A fresh ``MetricCollection`` of the enabled measures; feed it ``update(**result.scores())``."""
        return arp_metrics(self.metric_names, prefix=prefix, extra_quality=tuple(self.quality_also))

    def backends(self) -> dict[str, str]:
        names = {}
        for metric in self.metric_names:
            names.update({key: getattr(self, NEEDS[metric]).name for key in METRICS[metric].keys})
        names.update({f"aq_{n}": b.name for n, b in self.quality_also.items()})
        if ("cq" in names or "cp" in names) and self.transcriber is not None:
            names["asr"] = self.transcriber.name
        return names

    def score(self, items: list[EvalItem], outputs: list[Output]) -> EvalResult:
        if len(items) != len(outputs):
            raise AudioroleError(f"score: {len(items)} items but {len(outputs)} outputs; a system must answer every item")
        before = self._judge_counts()
        counts: dict[str, int] = {}
        rows = [{"id": i.id, "character": i.character} for i in items]
        for row, output in zip(rows, outputs):
            if output.error is not None:
                row["error"] = output.error
        problems = [audio_problem(o, self.min_seconds, self.silence_peak) for o in outputs]
        if "ap" in self.metric_names:
            self._score_ap(items, outputs, rows, problems)
        if "aq" in self.metric_names:
            self._score_aq(outputs, rows, problems)
        wants_text = "cq" in self.metric_names or "cp" in self.metric_names
        if wants_text or "wer" in self.metric_names:
            transcripts = self._transcripts(outputs, problems, everything="wer" in self.metric_names)
            counts["transcribed"] = len(transcripts)
            texts = [o.text if o.text is not None and o.error is None else transcripts.get(k, "")
                     for k, o in enumerate(outputs)]
            for row, text in zip(rows, texts):
                row["text"] = text
            if wants_text:
                counts["empty_text"] = sum(1 for t in texts if not t.strip())
                self._score_text(items, texts, rows, [o.error or "no words" for o in outputs])
            if "wer" in self.metric_names:
                self._score_intelligibility(items, outputs, transcripts, problems, rows)
        collection = self.metrics()
        result = EvalResult(metrics={}, per_item=rows, backends=self.backends())
        if rows:
            collection.update(**result.scores())
        result.metrics = as_numbers(collection.compute())
        if rows and "cq_context" in rows[0]:
            values = [r["cq_context"] for r in rows if np.isfinite(r["cq_context"])]
            result.metrics["cq_context"] = float(np.mean(values)) if values else float("nan")
            result.backends["cq_context"] = result.backends["cq"]
        for key in result.metric_keys():
            counts[f"unscored_{key}"] = sum(1 for r in rows if not np.isfinite(r[key]))
        after = self._judge_counts()
        counts.update({k: after[k] - before.get(k, 0) for k in after})
        result.counts = counts
        return result

    @staticmethod
    def _floor(row: dict, key: str, value: float, reason: str) -> None:
        row[key] = float(value)
        row.setdefault("unscoreable", {})[key] = reason

    def _score_ap(self, items, outputs, rows, problems) -> None:
        if self._voice is None:
            raise AudioroleError("AP: call evaluator.prepare(enrollment, training_lines) before score()")
        for character in {i.character for i in items}:
            self._voice.index(character)  # unknown characters fail before any embedding work
        sr = self.speaker_embedder.sample_rate
        audible = [k for k, p in enumerate(problems) if p is None]
        vectors = self._embed_each([resample(outputs[k].wave, outputs[k].sample_rate, sr) for k in audible])
        reasons = dict(enumerate(problems))
        reasons.update({k: "refused by the speaker embedder" for k, v in zip(audible, vectors) if v is None})
        ok = [k for k, v in zip(audible, vectors) if v is not None]
        if ok:
            cos, margin = self._voice.cosine_and_margin(np.stack([v for v in vectors if v is not None]),
                                                        [items[k].character for k in ok])
            for k, c, m in zip(ok, cos, margin):
                rows[k]["ap"], rows[k]["ap_margin"] = float(c), float(m)
        scored = set(ok)
        for k, row in enumerate(rows):
            if k not in scored:
                for key, floor in AP_FLOOR.items():
                    self._floor(row, key, floor, reasons[k])

    def _embed_each(self, waves) -> list[np.ndarray | None]:
        return each_or_none(lambda ws: list(self.speaker_embedder.embed_many(ws)), waves, "AP")

    def _score_aq(self, outputs, rows, problems) -> None:
        audible = [k for k, p in enumerate(problems) if p is None]
        for key, backend in {"aq": self.quality, **{f"aq_{n}": b for n, b in self.quality_also.items()}}.items():
            def scores(waves, sample_rate, backend=backend):
                return each_or_none(lambda ws: backend.score_many(ws, sample_rate), waves, key)

            values = self._by_rate([outputs[k] for k in audible], scores)
            for k, row in enumerate(rows):
                if problems[k] is not None:
                    self._floor(row, key, self._floors[key], problems[k])
            for k, value in zip(audible, values):
                if value is None:
                    self._floor(rows[k], key, self._floors[key], f"refused by {backend.name}")
                else:
                    rows[k][key] = float(value)  # NaN: the backend could not say (coverage drops)

    def _score_text(self, items, texts, rows, reasons) -> None:
        """CQ / CP on the outputs that say something; the rest score the scale's minimum."""
        worded = [k for k, t in enumerate(texts) if t.strip()]
        some_items, some_texts = [items[k] for k in worded], [texts[k] for k in worded]
        scores: dict[str, list[float]] = {}
        if "cq" in self.metric_names:
            scorer = self.content_quality
            scores.update(scorer.score_with_context(some_items, some_texts) if hasattr(scorer, "score_with_context")
                          else {"cq": scorer.score(some_items, some_texts)})
        if "cp" in self.metric_names:
            scores["cp"] = self.content_persona.score(some_items, some_texts)
        for key, values in scores.items():
            for k, value in zip(worded, values):
                rows[k][key] = float(value)
            floor = self._floors["cq" if key == "cq_context" else key]
            for k in sorted(set(range(len(rows))) - set(worded)):
                self._floor(rows[k], key, floor, reasons[k])

    def _score_intelligibility(self, items, outputs, transcripts, problems, rows) -> None:
        """WER / CER of the speech's transcript against what it should say; no audio: nothing said (WER 1)."""
        from audiorole.asr.wer import cer, wer

        for k, (item, output, row) in enumerate(zip(items, outputs, rows)):
            reference = output.text if output.text is not None else item.text
            heard = transcripts.get(k, "")
            row["transcript"] = heard
            row["wer"], row["cer"] = wer(reference, heard), cer(reference, heard)
            if problems[k] is not None:
                row["wer"], row["cer"] = wer(reference, ""), cer(reference, "")  # nothing heard
                for key in ("wer", "cer"):
                    row.setdefault("unscoreable", {})[key] = problems[k]

    @staticmethod
    def _by_rate(outputs, fn) -> list:
        """Call ``fn(waves, sr)`` once per sample rate present, keeping the outputs' order."""
        values: list = [float("nan")] * len(outputs)
        for sr in sorted({int(o.sample_rate) for o in outputs}):
            idx = [k for k, o in enumerate(outputs) if int(o.sample_rate) == sr]
            for k, v in zip(idx, fn([mono_float32(outputs[k].wave, f"output {k}") for k in idx], sr)):
                values[k] = v
        return values

    def _transcripts(self, outputs, problems, everything: bool) -> dict[int, str]:
        """ASR of the audible outputs that need it: all (for WER) or those without text (for CQ/CP)."""
        wanted = [k for k, o in enumerate(outputs) if problems[k] is None and (everything or o.text is None)]
        if not wanted:
            return {}
        if self.transcriber is None:
            raise ConfigError(f"{len(wanted)} outputs have no text and eval.transcriber is null; "
                              "set a transcriber (offline: audiorole.eval.backends.asr_whisper.WhisperTranscriber)")
        return dict(zip(wanted, self._by_rate([outputs[k] for k in wanted], self.transcriber.transcribe_many)))

    def _judge_counts(self) -> dict[str, int]:
        """Summed counts of the distinct judge clients behind the backends."""
        backends = (self.quality, self.content_quality, self.content_persona)
        clients = {id(c): c for c in [self.judge, *(getattr(b, "client", None) for b in backends)]
                   if isinstance(c, JudgeClient)}
        total = JudgeCounts().as_dict()
        for client in clients.values():
            for k, v in client.counts.as_dict().items():
                total[k] += v
        return {f"judge_{k}": v for k, v in total.items()} if clients else {}


def each_or_none(fn, waves: list, what: str) -> list:
    """``fn(waves)`` in one batch; if a clip cannot be scored (too short, silent, NaN samples), each clip
    on its own, failures ``None``: one broken output must not cost the others their scores."""
    if not waves:
        return []
    try:
        return list(fn(waves))
    except AudioroleError:
        pass
    out = []
    for k, wave in enumerate(waves):
        try:
            out.append(fn([wave])[0])
        except AudioroleError as e:
            log.info("%s: output %d not scored (%s)", what, k, e)
            out.append(None)
    return out
