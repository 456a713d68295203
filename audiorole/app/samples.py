"""An ``evaluate.py`` run's samples, item by item: each system's clip beside the ground truth's, with scores.

``evaluate.py`` writes ``eval.json`` (each system's per-item scores and the text it was
scored on) and ``samples/<system>/<character>/<item>.wav`` for the first ``save_audio``
items of each system and character. An item is shown when some system has a clip of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from audiorole.errors import AudioroleError
from audiorole.eval.samples import safe_name

SCORES = ("ap", "ap_margin", "aq", "aq_dnsmos", "cq", "cp", "wer", "cer")  # the columns shown, when scored


@dataclass
class Answer:
    system: str
    audio: Path | None
    text: str | None
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class Item:
    id: str
    character: str
    answers: list[Answer]          # ground truth first, then the systems in eval.json's order

    @property
    def reference(self) -> str:
        return next((a.text for a in self.answers if a.system == "ground_truth" and a.text), "")


def load(run: str | Path) -> list[Item]:
    """Every item of an evaluate run with at least one saved clip, in the run's order."""
    run = Path(run)
    try:
        report = json.loads((run / "eval.json").read_text(encoding="utf-8"))
        systems = report["systems"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AudioroleError(f"{run / 'eval.json'}: not an evaluate.py report ({type(exc).__name__}); "
                             "pick a folder under logs/evaluate/runs") from None
    systems = sorted(systems, key=lambda s: s["name"] != "ground_truth")
    order, rows = [], {}
    for system in systems:
        for row in system.get("per_item", []):
            key = (row["character"], row["id"])
            if key not in rows:
                order.append(key)
                rows[key] = []
            clip = run / "samples" / safe_name(system["name"]) / safe_name(row["character"]) / f"{safe_name(row['id'])}.wav"
            scores = {k: float(row[k]) for k in SCORES if isinstance(row.get(k), (int, float))}
            text = row.get("text") if row.get("text") is not None else row.get("transcript")
            rows[key].append(Answer(system=system["name"], audio=clip if clip.is_file() else None, text=text,
                                    scores=scores))
    return [Item(id=i, character=c, answers=rows[(c, i)]) for c, i in order
            if any(a.audio is not None for a in rows[(c, i)])]


def score_line(answer: Answer) -> str:
    return ", ".join(f"{k.upper() if '_' not in k else k} {v:.3f}" for k, v in answer.scores.items()) or "not scored"
