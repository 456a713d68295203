"""CQ and CP by an LLM judge on the prompt's integer scale (``conf/eval/prompts/cq.yaml``, ``cp.yaml``).

- ``JudgeCQ``: relevance and coherence of the reply to its dialogue context.
- ``JudgeCP``: how much the reply sounds like the named character, given the
  persona and example lines from the character's training split.

An item the judge could not score (errors, malformed twice, call cap) is NaN:
the metric leaves it out and the evaluator's counts say how many.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from audiorole.errors import AudioroleError
from audiorole.eval.items import EvalItem
from audiorole.eval.judge import JudgeClient, PromptTemplate


def format_context(item: EvalItem, max_turns: int) -> str:
    turns = item.context[-max_turns:] if max_turns > 0 else ()
    return "\n".join(f"{t.speaker}: {t.text}" for t in turns) or "(no earlier turns)"


def spread(lines: list[str], n: int) -> list[str]:
    """``n`` lines evenly spread over the list, in order (deterministic, not just the first scene)."""
    if len(lines) <= n:
        return list(lines)
    return [lines[int(i)] for i in np.linspace(0, len(lines) - 1, n).round().astype(int)]


class _JudgeScorer:
    """``client`` None: the evaluator hands over its shared ``judge`` client (one cache, one call cap)."""

    def __init__(self, client: JudgeClient | None, prompt: str, context_turns: int = 6, workers: int = 1):
        self.client = client
        self.prompt = PromptTemplate.load(prompt)
        self.context_turns = int(context_turns)
        self.workers = max(1, int(workers))

    @property
    def scale(self) -> tuple[float, float]:
        return self.prompt.scale

    @property
    def name(self) -> str:
        low, high = self.prompt.scale
        return f"judge:{self.client.model if self.client else '?'}({low}-{high})"

    def _fields(self, item: EvalItem, text: str) -> dict[str, str]:
        raise NotImplementedError

    def _one(self, item: EvalItem, text: str) -> float:
        judgment = self.client.judge(self.prompt.render(**self._fields(item, text)), self.prompt.scale)
        return float(judgment.score) if judgment is not None else float("nan")

    def score(self, items: list[EvalItem], texts: list[str]) -> list[float]:
        pairs = list(zip(items, [t or "" for t in texts]))
        if self.workers == 1:
            return [self._one(i, t) for i, t in pairs]
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda p: self._one(*p), pairs))


class JudgeCQ(_JudgeScorer):
    def __init__(self, client: JudgeClient | None = None, prompt: str = "cq", context_turns: int = 6, workers: int = 1):
        super().__init__(client, prompt, context_turns, workers)

    def _fields(self, item, text):
        return {"character": item.character, "context": format_context(item, self.context_turns),
                "reply": text or "(silence)"}


class JudgeCP(_JudgeScorer):
    def __init__(self, client: JudgeClient | None = None, prompt: str = "cp", examples: int = 8, context_turns: int = 6,
                 workers: int = 1):
        super().__init__(client, prompt, context_turns, workers)
        self.examples = int(examples)
        self._lines: dict[str, list[str]] | None = None
        self._personas: dict[str, str] = {}

    def prepare(self, training_lines: dict[str, list[str]], personas: dict[str, str] | None = None) -> None:
        self._lines = {c: spread([t for t in ts if t and t.strip()], self.examples) for c, ts in training_lines.items()}
        self._personas = dict(personas or {})

    def _fields(self, item, text):
        if self._lines is None:
            raise AudioroleError("CP: call evaluator.prepare(enrollment, training_lines, personas) before score()")
        examples = self._lines.get(item.character) or []
        return {"character": item.character,
                "persona": self._personas.get(item.character) or "(no persona given)",
                "examples": "\n".join(f"- {t}" for t in examples) or "(no example lines)",
                "context": format_context(item, self.context_turns), "reply": text or "(silence)"}
