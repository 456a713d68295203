"""Choose a character's replies for a stage (acoustic, semantic, ARP-Eval): split by scene, cap the minutes.

Validation holds whole scenes out, so no scene leaks between train and
validation. ``max_minutes`` trains on a subset (the paper's data-quantity
finding: more character audio, better voice match), taken in a fixed seeded
order so 25 % is a subset of 50 %, which is a subset of 100 %.
"""

import hashlib
from functools import partial
from pathlib import Path

from audiorole.errors import AudioroleError


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


def load_cuts(prepared_dir: str | Path):
    """The prepared dataset's reply cuts (lazy)."""
    from lhotse import load_manifest_lazy

    path = Path(prepared_dir) / "cuts.jsonl.gz"
    if not path.is_file():
        raise AudioroleError(f"{path}: no prepared dataset; run `python -m audiorole.prepare data=...` first")
    return load_manifest_lazy(path)


def character_split(prepared_dir: str | Path, character: str, val_fraction: float = 0.15, seed: int = 0,
                    max_minutes: float | None = None,
                    needs: str = "this stage needs more of this character's audio"):
    """(train, val) of one character's replies: whole scenes held out, training capped to ``max_minutes``."""
    cuts = character_cuts(load_cuts(prepared_dir), character)
    if len(cuts) < 2:
        raise AudioroleError(f"{prepared_dir}: only {len(cuts)} kept replies for '{character}'; "
                             f"{needs} (see stats.json for drops)")
    train, val = split_by_scene(cuts, val_fraction, seed)
    return cap_minutes(train, max_minutes, seed), val
