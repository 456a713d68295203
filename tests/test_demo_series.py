"""The shipped demo series meets its brief and is a valid series folder."""

import json
from collections import defaultdict

from audiorole.audio.decode import load_audio
from audiorole.data.series import SeriesFolder
from audiorole.data.subtitles import read_srt
from audiorole.demo import DEMO_SERIES_DIR


def test_demo_is_a_valid_series_folder():
    series = SeriesFolder.load(DEMO_SERIES_DIR)
    assert series.problems == []
    assert len(series.registry.characters) >= 3
    assert len(series.episodes) >= 2
    for character in series.registry.characters.values():
        assert len(character.enrollment) >= 2 and character.persona and character.subtitle_names


def test_demo_size_and_durations():
    size = sum(p.stat().st_size for p in DEMO_SERIES_DIR.rglob("*") if p.is_file())
    assert size <= 12 * 1024 * 1024
    series = SeriesFolder.load(DEMO_SERIES_DIR)
    total = sum(load_audio(e.audio, 16000).size / 16000 for e in series.episodes)
    assert total >= 20 * 60


def test_demo_truth_speech_overlaps_and_subtitles():
    series = SeriesFolder.load(DEMO_SERIES_DIR)
    speech = defaultdict(float)
    overlaps = 0
    for episode in series.episodes:
        lines = [json.loads(x) for x in (DEMO_SERIES_DIR / "truth" / f"{episode.id}.script.jsonl").read_text().splitlines()]
        assert (DEMO_SERIES_DIR / "truth" / f"{episode.id}.rttm").is_file()
        for line in lines:
            speech[line["speaker"]] += line["end"] - line["start"]
            overlaps += line["overlap"]
    for name in series.registry.characters:
        assert speech[name] >= 6 * 60, name  # enough that each keeps >= 4 min after filtering
    assert any(name not in series.registry.characters for name in speech)  # a non-cast voice
    assert overlaps >= 2
    named = [any(c.speaker for c in read_srt(e.subtitles)) for e in series.episodes if e.subtitles]
    assert True in named and False in named
    assert any(e.subtitles is None for e in series.episodes)  # an episode without subtitles
