import pytest
from pyannote.core import Annotation, Segment

from audiorole.diarization.breakdown import episode_parts


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


@pytest.mark.slow
def test_cli_prints_each_demo_episode_with_its_parts(capsys):
    from audiorole.demo import DEMO_SERIES_DIR
    from audiorole.diarization.breakdown import main

    main([str(DEMO_SERIES_DIR)])
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines()[2:] if line.startswith("| demo")]
    assert [r[2].strip() for r in rows] == ["ep01", "ep02", "ep03"]
    for r in rows:
        der, *parts = (float(c) for c in r[3:])
        assert der <= 10.0 and der == pytest.approx(sum(parts), abs=0.2)
