"""The series folder format: layout checks, the registry, per-file problems."""

from pathlib import Path

import pytest

from audiorole.data.series import SeriesFolder
from audiorole.errors import SeriesError

REGISTRY = """
series: Test Show
language: en
characters:
  ann:
    display_name: Ann
    subtitle_names: [ANN]
    persona: Terse.
  bob:
    display_name: Bob
"""


def make_series(root: Path, registry: str = REGISTRY) -> Path:
    (root / "episodes").mkdir(parents=True)
    (root / "subtitles").mkdir()
    (root / "characters" / "ann").mkdir(parents=True)
    (root / "characters" / "bob").mkdir(parents=True)
    (root / "episodes" / "e1.mp3").write_bytes(b"x")
    (root / "episodes" / "e2.mkv").write_bytes(b"x")
    (root / "subtitles" / "e1.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nANN: Hi.\n")
    (root / "characters" / "ann" / "a.flac").write_bytes(b"x")
    (root / "characters" / "bob" / "b.wav").write_bytes(b"x")
    (root / "characters.yaml").write_text(registry)
    return root


def test_loads_a_series(tmp_path):
    series = SeriesFolder.load(make_series(tmp_path))
    assert series.title == "Test Show"
    assert [(e.id, e.subtitles.name if e.subtitles else None) for e in series.episodes] == [("e1", "e1.srt"), ("e2", None)]
    assert series.registry.characters["ann"].subtitle_names == ("ANN",)
    assert [p.name for p in series.registry.characters["bob"].enrollment] == ["b.wav"]
    assert series.problems == []


def test_missing_folder_is_one_line_naming_it(tmp_path):
    with pytest.raises(SeriesError) as err:
        SeriesFolder.load(tmp_path / "game_of_thrones")
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path / "game_of_thrones" / "episodes") in message and "data.series_dir" in message


def test_unknown_character_lists_the_known(tmp_path):
    series = SeriesFolder.load(make_series(tmp_path))
    with pytest.raises(SeriesError, match=r"unknown character 'zed'.*known: ann, bob"):
        series.registry.get("zed", tmp_path / "characters.yaml")


def test_per_file_problems_are_collected(tmp_path):
    root = make_series(tmp_path)
    (root / "episodes" / "notes.txt").write_text("x")
    (root / "subtitles" / "e9.srt").write_text("")
    (root / "characters" / "stranger").mkdir()
    series = SeriesFolder.load(root)
    problems = {p.file.name: p.message for p in series.problems}
    assert "not a media file" in problems["notes.txt"]
    assert "no episode named 'e9'" in problems["e9.srt"]
    assert "not in characters.yaml" in problems["stranger"]


@pytest.mark.parametrize("registry, match", [
    ("characters: [", "not valid YAML"),
    ("series: x\n", "non-empty 'characters:'"),
    ("characters:\n  ann:\n    subtitle_names: 3\n", "subtitle_names must be a list"),
])
def test_bad_registry(tmp_path, registry, match):
    with pytest.raises(SeriesError, match=match):
        SeriesFolder.load(make_series(tmp_path, registry))


def test_empty_episodes_folder(tmp_path):
    root = make_series(tmp_path)
    for p in (root / "episodes").iterdir():
        p.unlink()
    with pytest.raises(SeriesError, match="no episodes in"):
        SeriesFolder.load(root)
