import pytest
from pyannote.core import Annotation, Segment

from audiorole.diarization.breakdown import episode_parts, false_overlap, speaker_rows


def _annotation(turns):
    a = Annotation(uri="ep")
    for start, end, label in turns:
        a[Segment(start, end)] = label
    return a


def test_parts_add_up_and_name_the_error():
    reference = _annotation([(0, 10, "mara"), (10, 20, "otis")])
    # 2 s of otis missed, 3 s of background taken for speech, 5 s of otis given to mara's cluster
    hypothesis = _annotation([(0, 15, "A"), (15, 18, "B"), (20, 23, "B")])
    der, missed, false_alarm, confusion = episode_parts(reference, hypothesis, collar=0.0)
    assert missed == pytest.approx(10.0) and false_alarm == pytest.approx(15.0) and confusion == pytest.approx(25.0)
    assert der == pytest.approx(missed + false_alarm + confusion)


def test_speaker_rows_say_where_false_alarm_sits():
    reference = _annotation([(0, 10, "mara"), (10, 20, "otis"), (30, 32, "extra")])
    # A holds mara and 3 s of nothing; B holds otis; C is 6 s of crowd plus the extra's line
    hypothesis = _annotation([(0, 13, "A"), (13, 20, "B"), (24, 32, "C")])
    rows = {label: (total, outside, covered) for label, total, outside, covered in speaker_rows(reference, hypothesis)}
    assert rows["A"][:2] == pytest.approx((13.0, 0.0)) and rows["A"][2][0] == ("mara", 10.0)
    assert rows["B"][2] == [("otis", 7.0)]
    assert rows["C"][:2] == pytest.approx((8.0, 6.0)) and rows["C"][2] == [("extra", 2.0)]


def test_false_overlap_counts_only_overlap_the_truth_lacks():
    reference = _annotation([(0, 10, "mara"), (8, 20, "otis")])  # a real 2 s overlap at 8-10
    # the real overlap found, and otis doubled by a second cluster for 4 s at 12-16
    hypothesis = _annotation([(0, 10, "A"), (8, 20, "B"), (12, 16, "C")])
    assert false_overlap(reference, hypothesis) == pytest.approx(100 * 4 / 20)
    assert false_overlap(reference, _annotation([(0, 10, "A"), (8, 20, "B")])) == 0.0


@pytest.mark.slow
def test_cli_prints_each_demo_episode_with_its_parts(capsys):
    from audiorole.demo import DEMO_SERIES_DIR
    from audiorole.diarization.breakdown import main

    main([str(DEMO_SERIES_DIR), "--by-speaker"])
    out = capsys.readouterr().out
    assert "per hypothesis speaker:" in out and "demo original onset 0.5 ep01 SPK_00:" in out
    rows = [line.split("|")[1:-1] for line in out.splitlines()[2:] if line.startswith("| demo")]
    assert [r[3].strip() for r in rows] == ["ep01", "ep02", "ep03"]
    for r in rows:
        der, *parts, doubled = (float(c) for c in r[4:])
        assert der <= 10.0 and der == pytest.approx(sum(parts), abs=0.2) and 0.0 <= doubled <= der
