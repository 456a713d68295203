"""Offline CQ and CP from sentence embeddings (docs/design.md §6).

- ``EmbeddingCQ``: cosine of the output's text to the reference reply's text
  (with ``context=True`` also ``cq_context``: cosine to the last context turn).
- ``CentroidCP``: nearest-centroid character margin over the characters'
  training lines: cosine to the target character's centroid minus the best
  other character's. Needs at least two characters.

``scale`` is each score's range: an output with no words never reaches these scorers, the
evaluator gives it the scale's minimum (saying nothing is neither relevant nor in character).
"""

import numpy as np

from audiorole.errors import AudioroleError
from audiorole.eval.items import EvalItem
from audiorole.eval.references import Centroids, centroid, unit_rows


class EmbeddingCQ:
    scale = (-1.0, 1.0)  # cosine

    def __init__(self, embedder, context: bool = False):
        self.embedder = embedder
        self.context = bool(context)
        self.name = embedder.name

    def score(self, items: list[EvalItem], texts: list[str]) -> list[float]:
        return self.score_with_context(items, texts)["cq"]

    def score_with_context(self, items: list[EvalItem], texts: list[str]) -> dict[str, list[float]]:
        out = unit_rows(self.embedder.embed([t or "" for t in texts]))
        ref = unit_rows(self.embedder.embed([i.text for i in items]))
        scores = {"cq": np.sum(out * ref, axis=1).tolist()}
        if self.context:
            last = [i.context[-1].text if i.context else "" for i in items]
            ctx = unit_rows(self.embedder.embed(last))
            has = np.array([bool(t.strip()) for t in last])
            scores["cq_context"] = np.where(has, np.sum(out * ctx, axis=1), np.nan).tolist()
        return scores


class CentroidCP:
    scale = (-2.0, 2.0)  # a difference of two cosines

    def __init__(self, embedder, min_lines: int = 1):
        self.embedder = embedder
        self.min_lines = int(min_lines)
        self.name = f"{embedder.name}-centroid"
        self.centroids: Centroids | None = None

    def prepare(self, training_lines: dict[str, list[str]], personas: dict[str, str] | None = None) -> None:
        lines = {c: [t for t in ts if t and t.strip()] for c, ts in training_lines.items()}
        thin = sorted(c for c, ts in lines.items() if len(ts) < self.min_lines)
        if thin:
            raise AudioroleError(f"CP: characters {thin} have fewer than {self.min_lines} training lines; "
                                 "drop them from training_lines or lower eval.content_persona.min_lines")
        if len(lines) < 2:
            raise AudioroleError(f"CP needs training lines of at least two characters, got {sorted(lines)}; "
                                 "pass every character's lines (audiorole.eval.eval_set.training_lines)")
        self.centroids = Centroids({c: centroid(self.embedder.embed(ts)) for c, ts in lines.items()},
                                   "CP training lines")

    def score(self, items: list[EvalItem], texts: list[str]) -> list[float]:
        if self.centroids is None:
            raise AudioroleError("CP: call evaluator.prepare(enrollment, training_lines) before score()")
        vectors = self.embedder.embed([t or "" for t in texts])
        _, margin = self.centroids.cosine_and_margin(vectors, [i.character for i in items])
        return np.asarray(margin).tolist()
