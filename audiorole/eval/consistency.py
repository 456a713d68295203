"""Multi-turn consistency: does a system keep the character steady across a scene?

The paper scores replies one at a time. A role-play that drifts (right voice on one
line, wrong on the next) can average well and still sound wrong, so within every scene
where the character has two or more held-out replies we take that run of replies in turn
order and measure, per metric:

* ``std``: the population standard deviation of the per-reply scores;
* ``msd``: the mean absolute difference between successive replies (turn-to-turn jumps).

Both are averaged over the qualifying scenes (each scene counts once). Lower is steadier.
"""

from __future__ import annotations

import math
from collections import defaultdict

from audiorole.eval.items import EvalItem

METRICS = ("ap", "cp")


def _finite(value) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def scene_runs(items: list[EvalItem]) -> list[list[int]]:
    """Indices of items grouped by (character, episode, scene), in turn order; only groups of two or more."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[(item.character, item.episode, item.scene)].append(i)
    runs = [sorted(idx, key=lambda i: (items[i].turn, items[i].id)) for idx in groups.values()]
    return sorted((r for r in runs if len(r) >= 2), key=lambda r: (items[r[0]].episode, items[r[0]].scene))


def spread(values: list[float]) -> tuple[float, float]:
    """(population std, mean absolute successive difference) of a run of two or more scores."""
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    msd = sum(abs(b - a) for a, b in zip(values, values[1:])) / (len(values) - 1)
    return std, msd


def multi_turn_consistency(items: list[EvalItem], per_item: list[dict], metrics=METRICS) -> dict:
    """``{"scenes": n, "replies": m, "<metric>_std": x | None, "<metric>_msd": y | None, ...}``.

    ``per_item`` is the evaluator's per-item scores, matched to ``items`` by id. A metric the
    evaluator did not compute (or scored NaN) leaves that reply out of that metric's runs.
    """
    scores = {row["id"]: row for row in per_item}
    runs = scene_runs(items)
    report: dict = {"scenes": len(runs), "replies": sum(len(r) for r in runs)}
    for metric in metrics:
        stds, msds = [], []
        for run in runs:
            values = [scores.get(items[i].id, {}).get(metric) for i in run]
            values = [float(v) for v in values if _finite(v)]
            if len(values) >= 2:
                std, msd = spread(values)
                stds.append(std)
                msds.append(msd)
        report[f"{metric}_std"] = sum(stds) / len(stds) if stds else None
        report[f"{metric}_msd"] = sum(msds) / len(msds) if msds else None
    return report
