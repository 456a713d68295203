"""Pure logic of the pipeline steps: turns, attribution decisions, scenes, filter rules."""

import numpy as np
import pytest

from audiorole.data.subtitles import Cue
from audiorole.prep.attribute import UNKNOWN, Attribute, subtitle_votes
from audiorole.prep.filter import ReplyFilter
from audiorole.prep.scenes import split_scenes
from audiorole.prep.turns import Turn, build_turns


def test_build_turns_merges_runs_and_measures_overlap():
    segs = [(0.0, 1.0, "A"), (1.2, 2.0, "A"), (1.8, 3.0, "B"), (5.0, 5.1, "C"), (3.5, 4.0, "A")]
    turns = build_turns(segs, merge_gap=0.5, min_duration=0.2)
    assert [(t.start, t.end, t.cluster) for t in turns] == [(0.0, 2.0, "A"), (1.8, 3.0, "B"), (3.5, 4.0, "A")]
    assert turns[0].overlap == pytest.approx(0.2) and turns[1].overlap == pytest.approx(0.2)
    assert turns[2].overlap == 0.0


def test_overlapped_edges_are_trimmed_and_inner_overlap_is_kept():
    from audiorole.prep.scenes import Scenes

    # B starts under A's tail; C talks inside B's turn; D is wholly under B.
    segs = [(0.0, 4.0, "A"), (3.4, 9.0, "B"), (5.0, 6.0, "C"), (7.0, 7.5, "D"), (8.0, 12.0, "A")]
    turns = build_turns(segs, merge_gap=0.5)
    by = {t.cluster + str(int(t.start)): t for t in turns}
    by["B3"].words = [{"start": 3.5, "end": 3.9, "word": " Aye"}, {"start": 4.1, "end": 4.6, "word": " wind's"},
                      {"start": 4.7, "end": 5.2, "word": " veering."}]
    by["B3"].text = "Aye wind's veering."
    trim = Scenes(max_edge_trim=1.5)
    start, end, text, words, overlap = trim.reply_span(by["B3"], turns)
    assert (start, end, text) == (4.0, 8.0, "wind's veering.")  # the 0.6 s A and B both spoke is nobody's
    assert overlap == pytest.approx(1.5)  # C and D inside B stay counted
    assert trim.reply_span(by["A0"], turns)[:2] == (0.0, 3.4) and trim.reply_span(by["A8"], turns)[:2] == (9.0, 12.0)
    assert trim.reply_span(by["C5"], turns)[:2] == (5.0, 6.0)  # under B all along: unchanged
    assert Scenes(max_edge_trim=0.0).reply_span(by["B3"], turns)[:3] == (3.4, 9.0, "Aye wind's veering.")
    # A cut longer than the limit is not made: the turn keeps its overlap.
    long = build_turns([(0.0, 4.0, "A"), (1.0, 9.0, "B")])
    assert trim.reply_span(long[0], long)[::4] == (0.0, pytest.approx(3.0))


def test_subtitle_votes_map_aliases_to_characters():
    turns = [Turn(0, 2, "A"), Turn(2.5, 4, "B")]
    cues = [Cue(0.1, 1.9, "Hi.", "CAPTAIN"), Cue(2.6, 3.9, "Yo.", None), Cue(2.6, 3.0, "x", "NOBODY")]
    votes = subtitle_votes(turns, cues, {"CAPTAIN": "mara", "MARA": "mara"})
    assert dict(votes["A"]) == {"mara": pytest.approx(1.8)}
    assert dict(votes["B"]) == {UNKNOWN: pytest.approx(0.4)}  # named, but not in the registry


def test_named_non_cast_speaker_stays_unknown_despite_voiceprint():
    d = _attr().decide("A", unit([1, 0]), {"mara": unit([1, 0])}, {UNKNOWN: 10.0, "mara": 0.5})
    assert d["character"] is None and d["by"] == "subtitles"


def test_reconcile_splits_unlike_clusters_but_keeps_over_split_ones():
    embs = {"A": unit([1, 0, 0]), "B": unit([0.95, 0.3, 0]), "C": unit([0.5, 0, 1])}
    clusters = {c: {"character": "otis", "by": "voiceprint", "similarity": {"otis": s}}
                for c, s in [("A", 0.93), ("B", 0.85), ("C", 0.61)]}
    _attr().reconcile(clusters, embs)
    assert clusters["A"]["character"] == "otis" and clusters["B"]["character"] == "otis"
    assert clusters["C"]["character"] is None


def _attr(**kw):
    return Attribute(embedder=None, **kw)


def unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def test_decide_prefers_clear_subtitle_majority():
    d = _attr().decide("A", unit([1, 0]), {"mara": unit([0, 1]), "otis": unit([1, 0.01])}, {"mara": 5.0, "otis": 0.5})
    assert d["character"] == "mara" and d["by"] == "subtitles"


def test_decide_voiceprint_needs_level_and_gap():
    prints = {"mara": unit([1, 0, 0]), "otis": unit([0, 1, 0])}
    assert _attr().decide("A", unit([1, 0.1, 0]), prints, {})["character"] == "mara"
    # Close to two characters at once: ambiguous -> unknown.
    assert _attr(min_gap=0.05).decide("A", unit([1, 1, 0.2]), prints, {})["character"] is None
    # Far from everyone: unknown.
    assert _attr().decide("A", unit([0, 0, 1]), prints, {})["character"] is None
    # Weak subtitle evidence falls back to the voiceprint.
    assert _attr().decide("A", unit([0.05, 1, 0]), prints, {"mara": 0.5})["character"] == "otis"


def test_centring_stops_a_voiceprint_close_to_everyone_from_winning():
    # "nell" sits close to every voice of the episode (a hub): raw cosine gives her clusters B and C,
    # which are abel and cato (0.88 against 0.77).
    prints = {"nell": unit([1, 0.8, 0.8, 0]), "abel": unit([0, 1, 0, 0.5]), "cato": unit([0, 0, 1, 0.5])}
    embs = {"A": unit([1, 0.2, 0.2, 0]), "B": unit([0.5, 1, 0.3, 0]), "C": unit([0.5, 0.3, 1, 0])}
    raw, centred = _attr(center_similarities=False), _attr()
    cohort = centred.cohort_means(embs, prints)
    assert raw.cohort_means(embs, prints) == {"nell": 0.0, "abel": 0.0, "cato": 0.0}
    assert raw.decide("B", embs["B"], prints, {})["character"] == "nell"
    picks = {c: centred.decide(c, e, prints, {}, cohort)["character"] for c, e in embs.items()}
    assert picks == {"A": "nell", "B": "abel", "C": "cato"}
    # One cluster alone has no cohort: raw similarities decide.
    assert centred.cohort_means({"A": embs["A"]}, prints) == {"nell": 0.0, "abel": 0.0, "cato": 0.0}
    # The level rule stays on the raw similarity.
    far = {"A": unit([0, 0, 0, 1]), "B": embs["B"]}
    assert centred.decide("A", far["A"], prints, {}, centred.cohort_means(far, prints))["character"] is None


def test_split_scenes_at_long_pauses_even_with_overlap():
    turns = [Turn(0, 5, "A"), Turn(1, 2, "B"), Turn(5.5, 6, "B"), Turn(9, 10, "A")]
    scenes = split_scenes(turns, scene_gap=2.0)
    assert [[(t.start, t.cluster) for t in s] for s in scenes] == [[(0, "A"), (1, "B"), (5.5, "B")], [(9, "A")]]


def sample(**kw):
    base = {"start": 0.0, "end": 3.0, "overlap": 0.0, "text": "Cast off the lines now.", "language": "en", "subtitle": None}
    return {**base, **kw}


@pytest.mark.parametrize("kw, reason", [
    ({}, None),
    ({"end": 0.5}, "too_short"),
    ({"end": 30.0}, "too_long"),
    ({"overlap": 1.0}, "overlap"),
    ({"text": ""}, "no_transcript"),
    ({"language": "fr"}, "wrong_language"),
    ({"subtitle": "Cast off the lines now."}, None),
    ({"subtitle": "Something entirely different was said here."}, "transcript_mismatch"),
])
def test_filter_reasons(kw, reason):
    assert ReplyFilter().reason(sample(**kw)) == reason


def test_filter_uses_language_identifier_only_when_confident():
    sure_fr = ReplyFilter(language_identifier=lambda text: ("fr", 0.99))
    unsure = ReplyFilter(language_identifier=lambda text: ("fr", 0.2))
    assert sure_fr.reason(sample()) == "wrong_language"
    assert unsure.reason(sample()) is None


def test_quality_reason():
    f = ReplyFilter(min_dnsmos=2.5)
    assert f.quality_reason(3.1) is None and f.quality_reason(2.0) == "low_dnsmos"
    assert f.quality_threshold([1.5, 1.6]) == 2.5  # no margin: the absolute bar in every episode


def test_quality_bar_follows_a_noisy_episode_down_to_its_floor():
    f = ReplyFilter(min_dnsmos=2.75, dnsmos_margin=0.2, dnsmos_floor=2.2)
    assert f.quality_threshold([3.0, 3.2, 3.1]) == 2.75  # clean episode: the absolute bar
    assert f.quality_threshold([2.4, 2.6, 2.5]) == pytest.approx(2.3)  # noisy: 0.2 under its median
    assert f.quality_threshold([1.6, 1.8]) == 2.2 and f.quality_threshold([]) == 2.75
    assert f.quality_reason(2.35, 2.3) is None and f.quality_reason(2.35) == "low_dnsmos"
    assert f.quality_reason(float("nan")) == "low_dnsmos"
