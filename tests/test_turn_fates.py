"""Each cast turn's fate names the first stage that lost it."""

from pyannote.core import Annotation, Segment

from audiorole.prep.turn_fates import episode_fates, summarize


def _annotation(turns):
    a = Annotation(uri="ep")
    for start, end, label in turns:
        a[Segment(start, end)] = label
    return a


def test_every_stage_that_can_lose_a_turn_is_named():
    script = [{"speaker": s, "start": a, "end": b} for s, a, b in [
        ("ann", 0, 4),     # kept
        ("bob", 5, 9),     # reply dropped as too short
        ("ann", 10, 14),   # diarization heard 1 s of it
        ("bob", 15, 19),   # heard, but split between two clusters
        ("ann", 20, 24),   # heard inside bob's cluster
        ("bob", 25, 29),   # his own cluster, left unnamed
        ("ann", 30, 34),   # her own cluster, named bob
        ("extra", 35, 37),  # not cast: no fate
    ]]
    hypothesis = _annotation([(0, 4, "A"), (5, 9, "B"), (10, 11, "A"), (15, 17, "B"), (17, 19, "A"),
                              (20, 24, "B"), (25, 29, "C"), (30, 34, "D"), (40, 50, "D")])
    reference = _annotation([(u["start"], u["end"], u["speaker"]) for u in script] + [(40, 50, "ann")])
    turns = [{"start": s.start, "end": s.end, "character": {"A": "ann", "B": "bob", "C": None, "D": "bob"}[lab]}
             for s, _, lab in hypothesis.itertracks(yield_label=True)]
    kept = [{"character": "ann", "start": 0, "end": 4}]
    dropped = [{"character": "bob", "start": 5, "end": 9, "reason": "too_short"}]
    fates = episode_fates(script, turns, kept, dropped, {"ann", "bob"}, hypothesis, reference)
    assert [f for _, f in fates] == ["kept", "dropped:too_short", "missed", "fragmented", "wrong_cluster",
                                     "unnamed", "misnamed"]
    s = summarize(fates)
    assert s["turns"] == 7 and s["after_diarization"] == 4 / 7 and s["after_attribution"] == 2 / 7 and s["kept"] == 1 / 7
