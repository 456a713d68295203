"""Choose a character's replies for the acoustic stage: split by scene, cap the minutes.

Validation holds whole scenes out, so no scene leaks between train and
validation. ``max_minutes`` trains on a subset (the paper's data-quantity
finding: more character audio, better voice match), taken in a fixed seeded
order so 25 % is a subset of 50 %, which is a subset of 100 %.
"""

import hashlib
from functools import partial


def _unit_hash(text: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_by_scene(cuts, val_fraction: float = 0.15, seed: int = 0):
    """(train, val) CutSets; at least one scene goes to validation when there are two or more."""
    scenes = sorted({c.supervisions[0].custom["scene"] for c in cuts})
    val = {s for s in scenes if _unit_hash(s, seed) < val_fraction}
    if not val and len(scenes) > 1:
        val = {min(scenes, key=lambda s: _unit_hash(s, seed))}
    return (cuts.filter(partial(_scene_in, scenes=val, wanted=False)).to_eager(),
            cuts.filter(partial(_scene_in, scenes=val, wanted=True)).to_eager())


def cap_minutes(cuts, max_minutes: float | None, seed: int = 0):
    """The first replies, in a seeded order, up to ``max_minutes`` of audio (None: all)."""
    if max_minutes is None:
        return cuts
    ordered = sorted(cuts, key=lambda c: _unit_hash(c.id, seed))
    chosen, total = [], 0.0
    for cut in ordered:
        if total >= max_minutes * 60:
            break
        chosen.append(cut)
        total += cut.duration
    from lhotse import CutSet

    return CutSet.from_cuts(chosen)


# Module-level predicates (not lambdas) so CutSets stay picklable for DataLoader workers.
def _scene_in(cut, scenes: set, wanted: bool) -> bool:
    return (cut.supervisions[0].custom["scene"] in scenes) == wanted


def _spoken_by(cut, character: str) -> bool:
    return cut.supervisions[0].speaker == character


def character_cuts(cuts, character: str):
    return cuts.filter(partial(_spoken_by, character=character)).to_eager()
