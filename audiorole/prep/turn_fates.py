"""Where each truth turn of the cast goes in the pipeline: kept, or the first stage that lost it.

A cast turn (truth script) is followed through the prepared dataset, each
fate tested in pipeline order so that the first stage to lose it is named:

- ``kept``: a kept reply of its character covers it (more than half of it);
- ``dropped:<reason>``: a reply of its character covers it, and a filter dropped it;
- ``missed``: diarization found speech over less than half of it;
- ``fragmented``: it was found, but no single diarized turn covers half of it
  (its speech went to several turns: split between clusters, or cut short);
- ``wrong_cluster``: the turn covering it belongs to a cluster of mostly
  someone else's speech (two voices merged, or this stretch assigned to another);
- ``unnamed``: its own cluster (mostly its voice) that attribution left unknown;
- ``misnamed``: its own cluster, named as another character;
- ``unreplied``: named right, yet no reply covers it (e.g. a turn spanning
  two replies after the scene split).

The share of turns past each stage is the ceiling it leaves the next:
``after_diarization`` counts all but missed / fragmented / wrong_cluster,
``after_attribution`` also drops unnamed / misnamed, and ``kept`` is recall.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from audiorole.prep.truth_spans import covers, overlap_seconds

DIARIZATION_LOSSES = ("missed", "fragmented", "wrong_cluster")
ATTRIBUTION_LOSSES = ("unnamed", "misnamed")


def cluster_owners(hypothesis, reference) -> dict[str, str | None]:
    """Hypothesis label -> the truth speaker with most seconds inside it (pyannote Annotations)."""
    seconds: dict[str, Counter] = defaultdict(Counter)
    for segment, _, label in hypothesis.itertracks(yield_label=True):
        for turn, _, speaker in reference.crop(segment).itertracks(yield_label=True):
            seconds[str(label)][speaker] += turn.duration
    return {label: (c.most_common(1)[0][0] if c else None) for label, c in seconds.items()}


def _label_at(hypothesis, start: float, end: float) -> str | None:
    from pyannote.core import Segment

    seconds: Counter = Counter()
    for segment, _, label in hypothesis.crop(Segment(start, end)).itertracks(yield_label=True):
        seconds[str(label)] += segment.duration
    return seconds.most_common(1)[0][0] if seconds else None


def episode_fates(script: list[dict], turns: list[dict], kept: list[dict], dropped: list[dict], cast: set[str],
                  hypothesis, reference) -> list[tuple[dict, str]]:
    """(truth utterance, fate) for every cast utterance of one episode.

    ``turns``: every diarized turn (start, end, character), as ``transcripts/<episode>.jsonl`` holds;
    ``hypothesis``/``reference``: the episode's diarization and truth as pyannote Annotations.
    """
    owners = cluster_owners(hypothesis, reference)
    out = []
    for u in script:
        if u["speaker"] not in cast:
            continue
        s, a, b = u["speaker"], u["start"], u["end"]
        half = 0.5 * (b - a)
        if any(r["character"] == s and covers(r, u) for r in kept):
            out.append((u, "kept"))
            continue
        lost = [r for r in dropped if r["character"] == s and covers(r, u)]
        if lost:
            out.append((u, f"dropped:{lost[0]['reason']}"))
            continue
        best = max(turns, key=lambda t: overlap_seconds(t["start"], t["end"], a, b), default=None)
        if best is None or overlap_seconds(best["start"], best["end"], a, b) <= half:
            out.append((u, _missed_or_fragmented(hypothesis, a, b)))
            continue
        label = _label_at(hypothesis, max(a, best["start"]), min(b, best["end"]))
        if owners.get(label) != s:
            out.append((u, "wrong_cluster"))
        elif best.get("character") is None:
            out.append((u, "unnamed"))
        elif best["character"] != s:
            out.append((u, "misnamed"))
        else:
            out.append((u, "unreplied"))
    return out


def _missed_or_fragmented(hypothesis, start: float, end: float) -> str:
    from pyannote.core import Segment

    speech = hypothesis.get_timeline().support().crop(Segment(start, end)).duration()
    return "missed" if speech <= 0.5 * (end - start) else "fragmented"


def summarize(fates: list[tuple[dict, str]]) -> dict:
    """Counts per fate and the ceilings each stage leaves (shares of the cast's truth turns)."""
    counts = Counter(f for _, f in fates)
    n = len(fates)
    lost_diar = sum(counts[f] for f in DIARIZATION_LOSSES)
    lost_attr = sum(counts[f] for f in ATTRIBUTION_LOSSES)
    share = (lambda k: k / n) if n else (lambda k: None)
    return {
        "turns": n,
        "fates": dict(counts.most_common()),
        "after_diarization": share(n - lost_diar),
        "after_attribution": share(n - lost_diar - lost_attr),
        "kept": share(counts["kept"]),
    }
