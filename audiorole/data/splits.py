"""Train / dev / test by whole scenes, decided once and written into the prepared dataset.

Training sees ``train``; everything that selects (checkpoints, early stopping,
sweeps, decoding settings) sees ``dev``; reported numbers come from ``test``.
A scene's replies never straddle parts, so a test reply's context was never
trained on either.

The assignment is written once as ``<prepared>/splits.json`` (scene -> part,
the settings, per-character counts, a fingerprint of the assignment and one of
the dataset) by the pipeline after the manifests, or by the first loader that
finds it missing. Later runs read it; asking for other settings is an error,
never a silent re-split. How scenes are assigned:

1. Scenes in a seeded order; each goes to the part that is furthest below its
   ratio, summed over the characters speaking in the scene (relative to each
   character's reply count), so every character's parts follow the ratios.
2. A character with no dev or no test replies gets one of its train scenes
   moved there, unless that empties someone's train part.
3. A character whose test part holds fewer than ``min_test_replies`` gets train
   scenes moved to test, in the same order, while every character in the moved
   scene keeps at least as many train replies as test replies. Whoever is still
   short is logged and listed under ``short_test`` (small datasets: test numbers
   over few replies are noisy; their intervals say how much).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from audiorole.data.replies import cap_minutes, character_cuts, cuts_path, load_cuts, scene_of, unit_hash
from audiorole.errors import AudioroleError, ConfigError
from audiorole.utils.atomic import write_json

log = logging.getLogger(__name__)

PARTS = ("train", "dev", "test")
FILENAME = "splits.json"
_VERSION = 1


@dataclass(frozen=True)
class SplitSettings:
    """What decides the assignment (``data.splits`` in config)."""

    ratios: tuple[float, float, float] = (0.7, 0.15, 0.15)  # train, dev, test
    seed: int = 0
    min_test_replies: int = 8

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> SplitSettings:
        if cfg is None:
            return cls()
        cfg = dict(cfg)
        unknown = set(cfg) - {"ratios", "seed", "min_test_replies"}
        if unknown:
            raise ConfigError(f"data.splits has unknown keys {sorted(unknown)}; known: ratios, seed, min_test_replies")
        ratios = dict(cfg.get("ratios") or dict(zip(PARTS, cls.ratios)))
        if set(ratios) != set(PARTS) or any(float(v) < 0 for v in ratios.values()):
            raise ConfigError(f"data.splits.ratios={ratios}: give train, dev and test, each >= 0")
        total = sum(float(v) for v in ratios.values())
        if total <= 0 or float(ratios["train"]) <= 0:
            raise ConfigError(f"data.splits.ratios={ratios}: train needs a share above 0")
        return cls(ratios=tuple(round(float(ratios[p]) / total, 6) for p in PARTS), seed=int(cfg.get("seed", 0)),
                   min_test_replies=int(cfg.get("min_test_replies", cls.min_test_replies)))

    def as_dict(self) -> dict:
        return {"ratios": dict(zip(PARTS, self.ratios)), "seed": self.seed, "min_test_replies": self.min_test_replies}


@dataclass(frozen=True)
class Splits:
    scenes: dict[str, str]                      # scene -> "train" | "dev" | "test"
    settings: SplitSettings
    fingerprint: str                            # hash of the assignment
    dataset_fingerprint: str                    # hash of the cuts it was made from
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # character -> part -> replies
    short_test: dict[str, int] = field(default_factory=dict)         # characters whose test is below the minimum
    path: Path | None = None

    def part(self, scene: str) -> str:
        try:
            return self.scenes[scene]
        except KeyError:
            raise AudioroleError(f"{self.path}: scene '{scene}' is not in the split; the dataset changed after the "
                                 "split was written; rerun `python -m audiorole.prepare` to re-split") from None

    @property
    def identity(self) -> dict:
        """What a trained artifact records, so scoring can refuse items it trained on."""
        return {"split_fingerprint": self.fingerprint, "dataset_fingerprint": self.dataset_fingerprint,
                "split_file": str(self.path) if self.path else None}


# ---- the assignment -------------------------------------------------------------------
def assign_scenes(replies: Iterable[tuple[str, str]], settings: SplitSettings) -> tuple[dict[str, str], dict[str, int]]:
    """(scene -> part, {character: test replies} for those below the minimum) from (scene, character) pairs."""
    per_scene: dict[str, Counter] = {}
    for scene, character in replies:
        per_scene.setdefault(scene, Counter())[character] += 1
    totals = Counter()
    for counts in per_scene.values():
        totals.update(counts)
    ratios = dict(zip(PARTS, settings.ratios))
    have = {p: Counter() for p in PARTS}
    order = sorted(per_scene, key=lambda s: (unit_hash(s, settings.seed), s))
    parts: dict[str, str] = {}
    for scene in order:
        counts = per_scene[scene]
        # Furthest below its ratio wins; ties go to the earlier part (train first).
        need = {p: sum(ratios[p] - have[p][c] / totals[c] for c in counts) for p in PARTS}
        chosen = max(PARTS, key=lambda p: (need[p], -PARTS.index(p)))
        parts[scene] = chosen
        have[chosen].update(counts)

    def move(scene: str, part: str) -> None:
        have[parts[scene]].subtract(per_scene[scene])
        have[part].update(per_scene[scene])
        parts[scene] = part

    def train_scenes(character: str) -> list[str]:
        return [s for s in order if parts[s] == "train" and character in per_scene[s]]

    # Every character with the scenes for it gets dev and test replies, without emptying anyone's train.
    for part in ("dev", "test"):
        for character in sorted(totals):
            if have[part][character] == 0 and ratios[part] > 0:
                for scene in train_scenes(character):
                    if all(have["train"][c] > n for c, n in per_scene[scene].items()):
                        move(scene, part)
                        break
    # Then test grows to the minimum while every character in a moved scene keeps train >= test.
    short = {}
    for character in sorted(totals):
        for scene in train_scenes(character):
            if have["test"][character] >= settings.min_test_replies:
                break
            if all(have["train"][c] - n >= have["test"][c] + n for c, n in per_scene[scene].items()):
                move(scene, "test")
        if have["test"][character] < settings.min_test_replies:
            short[character] = have["test"][character]
    return parts, short


def part_counts(replies: Iterable[tuple[str, str]], parts: Mapping[str, str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for scene, character in replies:
        row = counts.setdefault(character, dict.fromkeys(PARTS, 0))
        row[parts[scene]] += 1
    return dict(sorted(counts.items()))


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def dataset_fingerprint(cuts) -> str:
    """A hash of what the dataset holds (ids, speakers, scenes, texts, durations), not where it lies on disk."""
    rows = []
    for cut in cuts:
        sup = cut.supervisions[0]
        rows.append([cut.id, sup.speaker, scene_of(cut), sup.custom.get("episode"), sup.custom.get("turn"),
                     sup.text or "", round(float(cut.duration), 3)])
    return _hash(sorted(rows))


def make_splits(cuts, settings: SplitSettings, path: Path | None = None) -> Splits:
    replies = [(scene_of(c), c.supervisions[0].speaker) for c in cuts]
    parts, short = assign_scenes(replies, settings)
    return Splits(scenes=dict(sorted(parts.items())), settings=settings, fingerprint=_hash(sorted(parts.items())),
                  dataset_fingerprint=dataset_fingerprint(cuts), counts=part_counts(replies, parts),
                  short_test=short, path=path)


# ---- on disk --------------------------------------------------------------------------
def _to_json(splits: Splits) -> dict:
    return {"version": _VERSION, "settings": splits.settings.as_dict(), "fingerprint": splits.fingerprint,
            "dataset_fingerprint": splits.dataset_fingerprint, "counts": splits.counts,
            "short_test": splits.short_test, "scenes": splits.scenes}


def _read(path: Path) -> Splits:
    try:
        doc = json.loads(path.read_text())
        return Splits(scenes=dict(doc["scenes"]), settings=SplitSettings.from_config(doc["settings"]),
                      fingerprint=doc["fingerprint"], dataset_fingerprint=doc["dataset_fingerprint"],
                      counts=doc.get("counts", {}), short_test=doc.get("short_test", {}), path=path)
    except (OSError, ValueError, KeyError, TypeError, ConfigError) as exc:
        raise AudioroleError(f"{path}: unreadable split ({exc}); delete it and rerun to write it again") from exc


def _warn_short(splits: Splits) -> None:
    if splits.short_test:
        listed = ", ".join(f"{c} ({n})" for c, n in splits.short_test.items())
        log.warning("%s: test holds fewer than %d replies for %s: these characters have too few scenes; their test "
                    "numbers are noisy", splits.path, splits.settings.min_test_replies, listed)


def _write(prepared_dir: Path, cuts, settings: SplitSettings) -> Splits:
    path = prepared_dir / FILENAME
    splits = make_splits(cuts, settings, path)
    write_json(path, _to_json(splits))
    log.info("wrote %s: %s", path, ", ".join(f"{c} {r['train']}/{r['dev']}/{r['test']}" for c, r in splits.counts.items()))
    _warn_short(splits)
    return splits


def _check_settings(splits: Splits, settings: SplitSettings | None) -> None:
    if settings is not None and settings != splits.settings:
        raise ConfigError(f"{splits.path} was written with data.splits={splits.settings.as_dict()}, not "
                          f"{settings.as_dict()}; use the recorded settings, or delete the file to re-split "
                          "(models trained on the old split then no longer evaluate)")


_CACHE: dict[tuple, Splits] = {}


def _stamp(path: Path) -> tuple:
    st = os.stat(path)
    return (str(path.resolve()), st.st_mtime_ns, st.st_size)


def write_splits(prepared_dir: str | Path, settings: Mapping | SplitSettings | None = None) -> Splits:
    """The pipeline's step after the manifests: write the split, or keep the one there.

    A dataset that changed since the split was written (re-prepared with other
    settings) is re-split, with a warning; other split settings are an error.
    """
    prepared_dir = Path(prepared_dir)
    settings = settings if isinstance(settings, SplitSettings) else SplitSettings.from_config(settings)
    path = prepared_dir / FILENAME
    cuts = load_cuts(prepared_dir)
    if path.is_file():
        splits = _read(path)
        _check_settings(splits, settings)
        if splits.dataset_fingerprint == dataset_fingerprint(cuts):
            return splits
        log.warning("%s: the dataset changed since the split was written; re-splitting (decoders trained on the "
                    "old split no longer evaluate on it)", path)
    return _write(prepared_dir, cuts, settings)


def load_splits(prepared_dir: str | Path, settings: Mapping | SplitSettings | None = None) -> Splits:
    """The dataset's split; written now, from ``settings`` (default: ``SplitSettings()``), when missing.

    ``settings`` given and different from the recorded ones is an error; so is a
    dataset changed since the split was written.
    """
    prepared_dir = Path(prepared_dir)
    wanted = None if settings is None else (settings if isinstance(settings, SplitSettings)
                                            else SplitSettings.from_config(settings))
    path = prepared_dir / FILENAME
    if not path.is_file():
        log.info("%s is missing (dataset prepared before splits existed); writing it now", path)
        return _write(prepared_dir, load_cuts(prepared_dir), wanted or SplitSettings())
    key = (_stamp(path), _stamp(cuts_path(prepared_dir)))
    splits = _CACHE.get(key)
    if splits is None:
        splits = _read(path)
        if splits.dataset_fingerprint != dataset_fingerprint(load_cuts(prepared_dir)):
            raise AudioroleError(f"{path} was written for another version of {cuts_path(prepared_dir).name}; rerun "
                                 "`python -m audiorole.prepare data=...` to re-split, or delete the file")
        _CACHE[key] = splits
    _check_settings(splits, wanted)
    return splits


# Module-level predicate (not a lambda) so CutSets stay picklable for DataLoader workers.
def _in_part(cut, scenes: Mapping[str, str], part: str) -> bool:
    return scenes.get(scene_of(cut)) == part


def part_cuts(cuts, splits: Splits, part: str):
    if part not in PARTS:
        raise ConfigError(f"part={part!r}: use one of {', '.join(PARTS)}")
    return cuts.filter(partial(_in_part, scenes=splits.scenes, part=part)).to_eager()


def character_cuts_for(prepared_dir: str | Path, character: str, part: str, max_minutes: float | None = None,
                       seed: int = 0):
    """One character's replies in one part (``max_minutes`` caps them, in a seeded order)."""
    splits = load_splits(prepared_dir)
    return cap_minutes(part_cuts(character_cuts(load_cuts(prepared_dir), character), splits, part), max_minutes, seed)


def scene_spans(prepared_dir: str | Path, part: str) -> dict[str, list[tuple[float, float]]]:
    """Episode -> (start, end) seconds of each scene in ``part``: its replies and their context turns."""
    spans: dict[tuple[str, str], list[float]] = {}
    for cut in part_cuts(load_cuts(prepared_dir), load_splits(prepared_dir), part):
        custom = cut.supervisions[0].custom
        times = [(custom["episode"], float(custom["source_start"]), float(custom["source_end"]))]
        times += [(c["audio"]["episode"], float(c["audio"]["start"]), float(c["audio"]["end"]))
                  for c in custom.get("context") or []]
        for episode, start, end in times:
            span = spans.setdefault((episode, scene_of(cut)), [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
    by_episode: dict[str, list[tuple[float, float]]] = {}
    for (episode, _), (start, end) in sorted(spans.items(), key=lambda kv: (kv[0][0], kv[1][0])):
        by_episode.setdefault(episode, []).append((start, end))
    return by_episode

def train_and_dev(prepared_dir: str | Path, character: str, settings: Mapping | None = None,
                  max_minutes: float | None = None, seed: int = 0,
                  needs: str = "this stage needs more of this character's audio"):
    """A stage's (train, dev) CutSets for one character; the split is written first when missing."""
    load_splits(prepared_dir, settings)
    train = character_cuts_for(prepared_dir, character, "train", max_minutes, seed)
    dev = character_cuts_for(prepared_dir, character, "dev")
    if len(train) == 0 or len(dev) == 0:
        raise AudioroleError(f"{Path(prepared_dir) / FILENAME}: '{character}' has {len(train)} train and {len(dev)} "
                             f"dev replies; {needs} (counts per part there, drops in stats.json)")
    return train, dev
