"""Bad input gets a one-line error naming the file, in failures.jsonl and on screen; the rest goes on."""

import json
import logging
import subprocess

import numpy as np
import pytest
import soundfile as sf

from audiorole.prep.finalize import finalize
from audiorole.prep.pipeline import prepare

STANDARDISE = {"standardise": {"_target_": "audiorole.prep.standardise.Standardise", "sample_rate": 16000}}


def tone(seconds, sr=16000, amp=0.3, channels=1):
    t = np.arange(int(seconds * sr)) / sr
    wave = amp * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def ffmpeg_encode(src, dst, *args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *args, str(dst)], check=True)


@pytest.fixture
def messy_series(tmp_path):
    root = tmp_path / "show"
    eps = root / "episodes"
    eps.mkdir(parents=True)
    (root / "subtitles").mkdir()
    (root / "characters" / "ann").mkdir(parents=True)
    (root / "characters" / "ghost").mkdir(parents=True)  # clips for someone not in the registry
    (root / "characters.yaml").write_text("characters:\n  ann:\n    subtitle_names: [ANN]\n")
    sf.write(root / "characters" / "ann" / "a.wav", tone(3), 16000)
    sf.write(tmp_path / "stereo.wav", tone(4, 44100, channels=2), 44100)
    ffmpeg_encode(tmp_path / "stereo.wav", eps / "good_stereo.mp3", "-ar", "44100", "-ac", "2")
    sf.write(eps / "clipped.wav", np.clip(tone(3, amp=3.0), -1, 1), 16000)
    sf.write(eps / "silent.wav", np.zeros(16000 * 3), 16000)
    sf.write(eps / "tiny.wav", tone(0.4), 16000)
    (eps / "empty.wav").write_bytes(b"")
    (eps / "notes.mp4").write_bytes(b"this is not a video")
    full = (eps / "good_stereo.mp3").read_bytes()
    (eps / "truncated.mp3").write_bytes(full[: len(full) // 3])
    (root / "subtitles" / "good_stereo.srt").write_text("garbage without cues\n")
    return root


def test_each_bad_file_is_one_line_and_the_rest_is_kept(messy_series, tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    out = tmp_path / "out"
    result = prepare(messy_series, out, steps=STANDARDISE, finalize=finalize)
    failed = {f["file"].rsplit("/", 1)[-1]: f for f in result.failures}
    assert set(failed) == {"empty.wav", "notes.mp4", "silent.wav", "tiny.wav", "good_stereo.srt", "ghost"}
    assert "empty file" in failed["empty.wav"]["error"]
    assert "cannot decode" in failed["notes.mp4"]["error"]
    assert "silent" in failed["silent.wav"]["error"]
    assert "0.40 s" in failed["tiny.wav"]["error"]
    assert "SRT" in failed["good_stereo.srt"]["error"]
    assert "not in characters.yaml" in failed["ghost"]["error"]
    for failure in result.failures:
        assert "\n" not in failure["error"]
        assert failure["file"].rsplit("/", 1)[-1] in caplog.text  # on screen too
    # Kept: the stereo 44.1 kHz MP3 (its broken SRT dropped), the truncated MP3 (what decodes), the clipped file (warned).
    assert set(result.results) == {"good_stereo", "truncated", "clipped"}
    assert [w["file"].rsplit("/", 1)[-1] for w in result.warnings] == ["clipped.wav"]
    assert result.results["good_stereo"]["standardise"]["duration"] == pytest.approx(4.0, abs=0.1)
    lines = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
    assert len(lines) == len(result.failures) + len(result.warnings)
