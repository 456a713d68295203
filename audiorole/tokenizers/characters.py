"""The character alphabet a CTC recognizer reads speech tokens into (tokenizer training, token bounds).

Text goes through the project's one normalisation (``audiorole.asr.wer.normalize_text``:
numbers spelled out, punctuation dropped, lowercase), and whatever is not a letter, an
apostrophe or a space is then dropped, so targets and the CER that scores them agree.
Label 0 is CTC's blank; characters are 1..len(ALPHABET).
"""

from __future__ import annotations

import re

from audiorole.asr.wer import normalize_text

ALPHABET = " abcdefghijklmnopqrstuvwxyz'"
BLANK = 0
N_LABELS = len(ALPHABET) + 1
_OUTSIDE = re.compile(f"[^{re.escape(ALPHABET)}]")


def normalise(text: str) -> str:
    return " ".join(_OUTSIDE.sub(" ", normalize_text(text)).split())


def labels(text: str) -> list[int]:
    """CTC targets of ``text``: one label per character of ``normalise(text)``."""
    return [ALPHABET.index(c) + 1 for c in normalise(text)]


def greedy_text(best: list[int]) -> str:
    """Best-path CTC decoding: merge repeats, drop blanks."""
    out, prev = [], BLANK
    for label in best:
        if label != prev and label != BLANK:
            out.append(ALPHABET[label - 1])
        prev = label
    return " ".join("".join(out).split())
