from pathlib import Path

import pytest

from audiorole.data.subtitles import read_srt, split_speaker
from audiorole.errors import SeriesError


@pytest.mark.parametrize(
    "text, speaker, rest",
    [
        ("MARA: Cast off the lines.", "MARA", "Cast off the lines."),
        ("[OTIS] Well, as it happens...", "OTIS", "Well, as it happens..."),
        ("- JUNE: No way!", "JUNE", "No way!"),
        ("DR. FAIRWEATHER: Indeed.", "DR. FAIRWEATHER", "Indeed."),
        ("Note: this is not a name.", None, "Note: this is not a name."),
        ("Cast off\nthe lines.", None, "Cast off the lines."),
        ("12:30 is the tide.", None, "12:30 is the tide."),
    ],
)
def test_split_speaker(text, speaker, rest):
    assert split_speaker(text) == (speaker, rest)


def test_read_srt_sorts_and_names(tmp_path: Path):
    path = tmp_path / "ep.srt"
    path.write_text(
        "2\n00:00:05,000 --> 00:00:06,500\nOTIS: Indeed.\n\n"
        "1\n00:00:01,250 --> 00:00:03,000\nMARA: Cast off.\n\n",
        encoding="utf-8",
    )
    cues = read_srt(path)
    assert [(c.start, c.end, c.speaker, c.text) for c in cues] == [
        (1.25, 3.0, "MARA", "Cast off."),
        (5.0, 6.5, "OTIS", "Indeed."),
    ]


@pytest.mark.parametrize("content", ["this is not\nan srt file\n", "1\n00:00:01,000 --> garbage\nhello\n"])
def test_malformed_srt_names_the_file(tmp_path: Path, content):
    path = tmp_path / "broken.srt"
    path.write_text(content)
    with pytest.raises(SeriesError, match="broken.srt"):
        read_srt(path)
