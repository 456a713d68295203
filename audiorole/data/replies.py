"""A prepared dataset's reply cuts: load them, pick a character's, cap their minutes.

``max_minutes`` trains on a subset (the paper's data-quantity finding: more
character audio, better voice match), taken in a fixed seeded order so 25 % is
a subset of 50 %, which is a subset of 100 %.
"""

import hashlib
from functools import partial
from pathlib import Path

from audiorole.errors import AudioroleError


def unit_hash(text: str, seed: int) -> float:
    """A number in [0, 1) fixed by ``text`` and ``seed``: a seeded order that survives adding items."""
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def cap_minutes(cuts, max_minutes: float | None, seed: int = 0):
    """The first replies, in a seeded order, up to ``max_minutes`` of audio (None: all)."""
    if max_minutes is None:
        return cuts
    ordered = sorted(cuts, key=lambda c: unit_hash(c.id, seed))
    chosen, total = [], 0.0
    for cut in ordered:
        if total >= max_minutes * 60:
            break
        chosen.append(cut)
        total += cut.duration
    from lhotse import CutSet

    return CutSet.from_cuts(chosen)


# Module-level predicates (not lambdas) so CutSets stay picklable for DataLoader workers.
def _spoken_by(cut, character: str) -> bool:
    return cut.supervisions[0].speaker == character


def character_cuts(cuts, character: str):
    return cuts.filter(partial(_spoken_by, character=character)).to_eager()


def cuts_path(prepared_dir: str | Path) -> Path:
    path = Path(prepared_dir) / "cuts.jsonl.gz"
    if not path.is_file():
        raise AudioroleError(f"{path}: no prepared dataset; run `python -m audiorole.prepare data=...` first")
    return path


def load_cuts(prepared_dir: str | Path):
    """The prepared dataset's reply cuts (lazy); empty when every reply was dropped."""
    from lhotse import CutSet, load_manifest_lazy

    # An empty manifest (every reply dropped, e.g. a noisy series) reads as None in Lhotse.
    cuts = load_manifest_lazy(cuts_path(prepared_dir))
    return cuts if cuts is not None else CutSet()


def scene_of(cut) -> str:
    return cut.supervisions[0].custom["scene"]


def load_episodes(prepared_dir: str | Path) -> dict[str, str]:
    """Episode id -> its standardised audio (what context turns point into)."""
    from lhotse import load_manifest

    path = Path(prepared_dir) / "episodes.jsonl.gz"
    if not path.is_file():
        raise AudioroleError(f"{path}: missing; rerun `python -m audiorole.prepare data=...` to write it")
    return {r.id: r.sources[0].source for r in load_manifest(path)}
