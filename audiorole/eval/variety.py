"""Does an LM answer each scene, or say one line to all of them? Variety of a system's written replies.

A small LM tuned on a few dozen replies tends to give every scene the same line, or to hand back a
training reply word for word; CQ and CP can look fine while it does. Over one character's held-out
items (normalised text: ``audiorole.asr.wer.normalize_text``):

- ``distinct``: distinct replies over replies (1.0: every scene got its own);
- ``copied``: the share of replies that repeat one of the character's training replies verbatim,
  with its 95 % interval (``audiorole.eval.uncertainty``);
- ``n``: replies with words (an empty reply counts in neither).

Only systems that write text have a variety (real clips and decoders speak given lines).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from audiorole.asr.wer import normalize_text
from audiorole.eval.uncertainty import mean_summary


def reply_variety(texts: Sequence[str | None], training_lines: Iterable[str] = ()) -> dict | None:
    """``{distinct, copied, copied_ci_low, copied_ci_high, n}``, or None when no text was written."""
    said = [normalize_text(t) for t in texts if t is not None]
    said = [t for t in said if t]
    if not said:
        return None
    known = {normalize_text(t) for t in training_lines}
    copied = mean_summary(np.array([t in known for t in said], dtype=np.float64))
    return {"distinct": len(set(said)) / len(said), "copied": copied["mean"],
            "copied_ci_low": copied["ci_low"], "copied_ci_high": copied["ci_high"], "n": len(said)}
