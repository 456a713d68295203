"""What a checkpoint is selected on: a declared combination of ARP-Eval means, not AP alone.

A speaker embedder rates unintelligible speech in the right timbre almost as high as real
speech, so a decoder selected on AP can pick a checkpoint that says nothing. ``WERCeiling``
keeps AP as the score while the speech is intelligible and takes points off once it is not:

    select = ap                                   if wer <= ceiling
    select = ap - penalty * (wer - ceiling)       otherwise

With the defaults (ceiling 0.3, penalty 2), each 0.1 of WER above 0.3 costs 0.2 of AP: a
checkpoint that keeps the words beats one with a slightly closer timbre that loses them.
"""

from __future__ import annotations

import math

from audiorole.errors import ConfigError


class WERCeiling:
    """``select(metrics) -> float`` from the computed means; ``key`` is the name it is logged under."""

    def __init__(self, metric: str = "ap", ceiling: float = 0.3, penalty: float = 2.0, key: str = "select"):
        if penalty < 0 or not 0 <= ceiling:
            raise ConfigError(f"select: ceiling={ceiling}, penalty={penalty}; both must be 0 or more")
        self.metric, self.ceiling, self.penalty, self.key = str(metric), float(ceiling), float(penalty), str(key)

    def __call__(self, metrics: dict) -> float:
        missing = [k for k in (self.metric, "wer") if k not in metrics]
        if missing:
            raise ConfigError(f"select needs {', '.join(missing)} but the evaluator did not compute "
                              f"{'it' if len(missing) == 1 else 'them'}; add {', '.join(missing)} to eval.metrics")
        score, wer = float(metrics[self.metric]), float(metrics["wer"])
        if not (math.isfinite(score) and math.isfinite(wer)):
            return math.nan
        return score - self.penalty * max(0.0, wer - self.ceiling)

    def describe(self) -> str:
        return f"{self.metric} - {self.penalty:g} * max(0, wer - {self.ceiling:g})"
