"""ARPEvaluator: ARP-Eval's four measures from configured backends (``conf/eval/offline.yaml``, ``judge.yaml``).

    ev = hydra.utils.instantiate(cfg.eval)
    ev.prepare(enrollment, training_lines, personas)     # references, cached in memory
    result = ev.score(items, outputs)                    # EvalResult

- AP: speaker embedding of each output vs the target character's enrollment
  centroid (cosine), and the margin over the nearest other character.
- AQ: the quality backend's score of each output.
- CQ, CP: the content scorers on each output's text; outputs without text are
  transcribed first (the transcript is kept in ``per_item``).

Which measures run is ``metrics`` (a callback can skip the slow ones); each
number is traceable to its backend through ``result.backends``.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from audiorole.errors import AudioroleError, ConfigError
from audiorole.eval.audio import mono_float32, resample
from audiorole.eval.items import EvalItem, Output
from audiorole.eval.judge.client import JudgeClient, JudgeCounts
from audiorole.eval.metrics import METRICS, arp_metrics
from audiorole.eval.references import Centroids, centroid
from audiorole.eval.result import EvalResult

log = logging.getLogger(__name__)
NEEDS = {"ap": "speaker_embedder", "aq": "quality", "cq": "content_quality", "cp": "content_persona"}
_KEYS = {"ap": ("ap", "ap_margin"), "aq": ("aq",), "cq": ("cq",), "cp": ("cp",)}  # per-item keys of each measure


class ARPEvaluator:
    def __init__(self, speaker_embedder=None, quality=None, content_quality=None, content_persona=None,
                 transcriber=None, judge: JudgeClient | None = None,
                 metrics: Sequence[str] = ("ap", "aq", "cq", "cp"), name: str = "arp-eval"):
        self.metric_names = tuple(metrics)
        unknown = [m for m in self.metric_names if m not in METRICS]
        if unknown or not self.metric_names:
            raise ConfigError(f"eval.metrics {list(self.metric_names)}: unknown {unknown}; choose from {list(METRICS)}")
        self.speaker_embedder = speaker_embedder
        self.quality = quality
        self.content_quality = content_quality
        self.content_persona = content_persona
        self.transcriber = transcriber
        self.name = name
        for metric in self.metric_names:
            if getattr(self, NEEDS[metric]) is None:
                raise ConfigError(f"eval.metrics has '{metric}' but eval.{NEEDS[metric]} is null; "
                                  f"set a backend or drop '{metric}' from eval.metrics")
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
        return arp_metrics(self.metric_names, prefix=prefix)

    def backends(self) -> dict[str, str]:
        names = {m: getattr(self, NEEDS[m]).name for m in self.metric_names}
        if "ap" in names:
            names["ap_margin"] = names["ap"]
        if ("cq" in names or "cp" in names) and self.transcriber is not None:
            names["asr"] = self.transcriber.name
        return names

    def score(self, items: list[EvalItem], outputs: list[Output]) -> EvalResult:
        if len(items) != len(outputs):
            raise AudioroleError(f"score: {len(items)} items but {len(outputs)} outputs; a system must answer every item")
        if any(o.error is not None for o in outputs):
            return self._score_with_failures(items, outputs)
        before = self._judge_counts()
        counts: dict[str, int] = {}
        rows = [{"id": i.id, "character": i.character} for i in items]
        if "ap" in self.metric_names:
            self._score_ap(items, outputs, rows)
        if "aq" in self.metric_names:
            for row, value in zip(rows, self._by_rate(outputs, self._quality_scores)):
                row["aq"] = float(value)
        if "cq" in self.metric_names or "cp" in self.metric_names:
            texts, counts["transcribed"] = self._texts(outputs)
            counts["empty_text"] = sum(1 for t in texts if not t.strip())
            for row, text in zip(rows, texts):
                row["text"] = text
            if "cq" in self.metric_names:
                self._score_cq(items, texts, rows)
            if "cp" in self.metric_names:
                for row, value in zip(rows, self.content_persona.score(items, texts)):
                    row["cp"] = float(value)
        collection = self.metrics()
        result = EvalResult(metrics={}, per_item=rows, backends=self.backends())
        if rows:
            collection.update(**result.scores())
        result.metrics = {k: float(v) for k, v in collection.compute().items()}
        if rows and "cq_context" in rows[0]:
            values = [r["cq_context"] for r in rows if np.isfinite(r["cq_context"])]
            result.metrics["cq_context"] = float(np.mean(values)) if values else float("nan")
            result.backends["cq_context"] = result.backends["cq"]
        for key in result.scores():
            counts[f"unscored_{key}"] = sum(1 for r in rows if not np.isfinite(r[key]))
        after = self._judge_counts()
        counts.update({k: after[k] - before.get(k, 0) for k in after})
        result.counts = counts
        return result

    def _score_with_failures(self, items: list[EvalItem], outputs: list[Output]) -> EvalResult:
        """Score the answered items; a failed output's row keeps its error and NaN for every score."""
        ok = [k for k, o in enumerate(outputs) if o.error is None]
        if ok:
            result = self.score([items[k] for k in ok], [outputs[k] for k in ok])
        else:
            result = EvalResult(metrics={}, per_item=[], backends=self.backends())
            result.metrics = {k: float(v) for k, v in self.metrics().compute().items()}
        keys = list(result.per_item[0]) if result.per_item else [k for m in self.metric_names for k in _KEYS[m]]
        scored = iter(result.per_item)
        rows = []
        for item, output in zip(items, outputs):
            if output.error is None:
                rows.append(next(scored))
                continue
            row = {"id": item.id, "character": item.character, "error": output.error}
            row.update({k: float("nan") for k in keys if k not in ("id", "character", "text")})
            rows.append(row)
        failed = len(items) - len(ok)
        counts = dict(result.counts or {}, failed_outputs=failed)
        for key in [k for k in keys if k not in ("id", "character", "text")]:
            counts[f"unscored_{key}"] = counts.get(f"unscored_{key}", 0) + failed
        return EvalResult(metrics=result.metrics, per_item=rows, backends=result.backends, counts=counts)

    def _score_ap(self, items, outputs, rows) -> None:
        if self._voice is None:
            raise AudioroleError("AP: call evaluator.prepare(enrollment, training_lines) before score()")
        for character in {i.character for i in items}:
            self._voice.index(character)  # unknown characters fail before any embedding work
        sr = self.speaker_embedder.sample_rate
        waves = [resample(o.wave, o.sample_rate, sr) for o in outputs]
        vectors = self._embed_each(waves)
        ok = [k for k, v in enumerate(vectors) if v is not None]
        cos = np.full(len(items), np.nan)
        margin = np.full(len(items), np.nan)
        if ok:
            c, m = self._voice.cosine_and_margin(np.stack([vectors[k] for k in ok]), [items[k].character for k in ok])
            cos[ok], margin[ok] = c, m
        for row, c, m in zip(rows, cos, margin):
            row["ap"], row["ap_margin"] = float(c), float(m)

    def _embed_each(self, waves) -> list[np.ndarray | None]:
        return each_or_none(lambda ws: list(self.speaker_embedder.embed_many(ws)), waves, "AP")

    def _quality_scores(self, waves, sample_rate: int) -> list[float]:
        scores = each_or_none(lambda ws: self.quality.score_many(ws, sample_rate), waves, "AQ")
        return [float("nan") if v is None else float(v) for v in scores]

    def _score_cq(self, items, texts, rows) -> None:
        scorer = self.content_quality
        scores = scorer.score_with_context(items, texts) if hasattr(scorer, "score_with_context") \
            else {"cq": scorer.score(items, texts)}
        for key, values in scores.items():
            for row, value in zip(rows, values):
                row[key] = float(value)

    @staticmethod
    def _by_rate(outputs, fn) -> list[float]:
        """Call ``fn(waves, sr)`` once per sample rate present, keeping the outputs' order."""
        values: list[float] = [float("nan")] * len(outputs)
        for sr in sorted({int(o.sample_rate) for o in outputs}):
            idx = [k for k, o in enumerate(outputs) if int(o.sample_rate) == sr]
            for k, v in zip(idx, fn([mono_float32(outputs[k].wave, f"output {k}") for k in idx], sr)):
                values[k] = v
        return values

    def _texts(self, outputs) -> tuple[list[str], int]:
        missing = [k for k, o in enumerate(outputs) if o.text is None]
        if missing and self.transcriber is None:
            raise ConfigError(f"{len(missing)} outputs have no text and eval.transcriber is null; "
                              "set a transcriber (offline: audiorole.eval.backends.asr_whisper.WhisperTranscriber)")
        transcripts = self._by_rate([outputs[k] for k in missing], self.transcriber.transcribe_many) if missing else []
        texts = [o.text if o.text is not None else "" for o in outputs]
        for k, text in zip(missing, transcripts):
            texts[k] = text
        return texts, len(missing)

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
