"""What ARP-Eval scores: held-out replies (``EvalItem``) and a system's answers to them (``Output``).

A system (ground truth, a character's decoder, an untrained decoder, the
semantic model, ...) turns each item into an ``Output``. Outputs with no text
are transcribed before the text metrics (CQ, CP) score them. An output with an
``error`` (a reply file that is missing or unreadable) has no audio and is not
scored; the evaluator keeps the error beside the item's row.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class ContextTurn:
    speaker: str          # a character name, or "unknown"
    text: str
    episode: str
    start: float          # seconds in the standardised episode
    end: float


@dataclass(frozen=True)
class EvalItem:
    id: str
    character: str
    episode: str
    scene: str
    turn: int
    text: str                                   # the reference reply's transcript
    audio: Path                                 # the reference reply's kept clip
    tokens: np.ndarray | None = None            # its speech tokens from the token cache
    context: tuple[ContextTurn, ...] = field(default=())


@dataclass
class Output:
    wave: np.ndarray                            # float32 mono
    sample_rate: int
    text: str | None = None                     # None: transcribe before CQ/CP
    error: str | None = None                    # why there is no answer (one line, naming the file)

    @classmethod
    def failed(cls, error: str) -> "Output":
        return cls(wave=np.zeros(0, np.float32), sample_rate=16000, text=None, error=error)


class System(Protocol):
    """Anything that answers eval items; ``name`` labels its row in the results table."""

    name: str

    def respond(self, items: list[EvalItem]) -> list[Output]: ...
