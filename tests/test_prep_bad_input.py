"""Bad input gets a one-line error naming the file, in failures.jsonl and on screen; the rest goes on."""

import json
import logging
import re
import subprocess

import numpy as np
import pytest
import soundfile as sf
from pyannote.core import Annotation, Segment

import prep_fakes
from audiorole.data.characters import Character, Registry
from audiorole.data.series import SeriesFolder
from audiorole.data.subtitles import Cue
from audiorole.diarization.rttm import read_rttm, write_rttm
from audiorole.errors import SeriesError
from audiorole.prep.attribute import subtitle_votes
from audiorole.prep.finalize import finalize
from audiorole.prep.pipeline import prepare
from audiorole.prep.turns import Turn

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
    warned = {w["file"].rsplit("/", 1)[-1]: w["warning"] for w in result.warnings}
    assert set(warned) == {"clipped.wav", "truncated.mp3"}
    assert "clipped" in warned["clipped.wav"] and "decoded" in warned["truncated.mp3"]
    assert result.results["good_stereo"]["standardise"]["duration"] == pytest.approx(4.0, abs=0.1)
    lines = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
    assert len(lines) == len(result.failures) + len(result.warnings)


# --- the registry ----------------------------------------------------------------------------

def test_misspelled_registry_field_is_one_line_naming_file_field_and_closest(tmp_path):
    root = prep_fakes.make_series(tmp_path / "show", episodes=1)
    (root / "characters.yaml").write_text("characters:\n  ann:\n    subtitle_name: [ANN]\n")
    with pytest.raises(SeriesError) as err:
        SeriesFolder.load(root)
    message = str(err.value)
    assert "\n" not in message and str(root / "characters.yaml") in message
    assert "'characters.ann.subtitle_name'" in message and "did you mean 'subtitle_names'" in message


def test_unreadable_registry_is_one_line(tmp_path):
    root = prep_fakes.make_series(tmp_path / "show", episodes=1)
    (root / "characters.yaml").write_bytes(b"characters:\n  ann:\n    persona: caf\xe9 \xff\n")
    with pytest.raises(SeriesError) as err:
        SeriesFolder.load(root)
    assert "\n" not in str(err.value) and "cannot read the character registry" in str(err.value)


def test_a_character_named_in_cues_wins_without_subtitle_names():
    registry = Registry("Show", "en", {"marlowe": Character("marlowe", "Marlowe"), "ann": Character("ann", "Ann", ("CAPTAIN",))})
    turns = [Turn(0.0, 4.0, "A"), Turn(5.0, 9.0, "B")]
    cues = [Cue(0.0, 4.0, "Ahoy.", "MARLOWE"), Cue(5.0, 9.0, "Aye.", "CAPTAIN")]
    votes = subtitle_votes(turns, cues, registry.speaker_aliases())
    assert dict(votes["A"]) == {"marlowe": 4.0} and dict(votes["B"]) == {"ann": 4.0}


def test_registry_enrollment_and_subtitles_are_in_the_key_of_the_steps_that_read_them(tmp_path):
    root = prep_fakes.make_series(tmp_path / "show", episodes=2)
    sf.write(root / "characters" / "ann" / "a.wav", tone(2), 16000)
    steps = {"measure": {"_target_": "prep_fakes.Measure"}, "double": {"_target_": "prep_fakes.Double"}}

    def rerun() -> list:
        prep_fakes.CALLS.clear()
        prepare(root, tmp_path / "out", steps=steps)
        return sorted(prep_fakes.CALLS)

    rerun()
    assert rerun() == []
    registry = root / "characters.yaml"
    registry.write_text(registry.read_text())  # touched, same content: nothing to redo
    assert rerun() == []
    registry.write_text("characters:\n  ann:\n    subtitle_names: [ANN, ANNIE]\n")
    assert rerun() == [("double", "ep0"), ("double", "ep1")]  # measure reads no registry
    sf.write(root / "characters" / "ann" / "b.wav", tone(2), 16000)
    assert rerun() == [("double", "ep0"), ("double", "ep1")]
    (root / "subtitles").mkdir()
    (root / "subtitles" / "ep1.srt").write_text("1\n00:00:00,100 --> 00:00:01,000\nANN: Hi.\n")
    assert rerun() == [("double", "ep1")]


def test_an_unreadable_enrollment_clip_is_a_recorded_failure(tmp_path):
    root = prep_fakes.make_series(tmp_path / "show", episodes=1)
    sf.write(root / "characters" / "ann" / "good.wav", tone(2), 16000)
    (root / "characters" / "ann" / "bad.wav").write_bytes(b"RIFF not really audio")
    result = prepare(root, tmp_path / "out", steps=STANDARDISE, finalize=finalize)
    assert not result.ok  # so `python -m audiorole.prepare` exits 1
    assert [(f["file"].rsplit("/", 1)[-1], f["step"]) for f in result.failures] == [("bad.wav", "series")]
    assert "left out of ann's voiceprint" in result.failures[0]["error"]
    assert "bad.wav" in (tmp_path / "out" / "failures.jsonl").read_text()


# --- episodes -----------------------------------------------------------------------------------

def test_a_truncated_flac_is_kept_with_decoded_and_declared_duration(tmp_path):
    root = prep_fakes.make_series(tmp_path / "show", episodes=0)
    sf.write(tmp_path / "full.flac", tone(10) + 0.01 * np.random.default_rng(0).standard_normal(160000), 16000)
    full = (tmp_path / "full.flac").read_bytes()
    (root / "episodes" / "cut.flac").write_bytes(full[: len(full) // 2])
    for _ in range(2):  # the warning is part of the cached result: a rerun reports it again
        result = prepare(root, tmp_path / "out", steps=STANDARDISE)
        assert result.ok and set(result.results) == {"cut"}
        [warning] = result.warnings
        assert re.search(r"cut\.flac: decoded [3-7]\.\d s of its declared 10\.0 s \(FFmpeg: .+\)", warning["warning"])
    assert result.results["cut"]["standardise"]["duration"] < 8


def test_an_episode_name_with_spaces_gets_a_safe_id(tmp_path):
    root = prep_fakes.make_series(tmp_path / "show", episodes=0)
    sf.write(root / "episodes" / "Pilot  Part 1.wav", tone(2), 16000)
    (root / "subtitles").mkdir()
    (root / "subtitles" / "Pilot  Part 1.srt").write_text("1\n00:00:00,100 --> 00:00:01,000\nANN: Hi.\n")
    [episode] = SeriesFolder.load(root).episodes
    assert episode.id == "Pilot_Part_1" and episode.subtitles is not None
    annotation = Annotation(uri=episode.id)
    annotation[Segment(0.1, 1.0)] = "A"
    path = write_rttm(annotation, tmp_path / f"{episode.id}.rttm", uri=episode.id)
    assert read_rttm(path).uri == "Pilot_Part_1"


def test_an_episode_without_replies_is_warned_on_screen_and_in_the_report(tmp_path, caplog):
    root = prep_fakes.make_series(tmp_path / "show", episodes=2, seconds=3)
    steps = {**STANDARDISE, "postprocess": {"_target_": "prep_fakes.Replies", "keep": 1, "drop": 1}}
    caplog.set_level(logging.WARNING)
    prepare(root, tmp_path / "out", steps=steps, finalize=finalize)
    assert "no replies" not in caplog.text
    steps["postprocess"] = {"_target_": "prep_fakes.Replies", "keep": 0, "drop": 2}
    result = prepare(root, tmp_path / "out", steps=steps, finalize=finalize)
    warned = [w for w in result.warnings if w["step"] == "postprocess"]
    assert [w["file"].rsplit("/", 1)[-1] for w in warned] == ["ep0.wav", "ep1.wav"]
    assert "all 2 attributed replies dropped (low_dnsmos 2)" in warned[0]["warning"]
    assert "ep0.wav [postprocess]: no replies" in caplog.text
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Episodes that gave no reply" in report and "- ep1: all 2 attributed" in report
    assert "no replies" in (tmp_path / "out" / "failures.jsonl").read_text()


def test_reruns_leave_only_the_kept_clips(tmp_path):
    root = prep_fakes.make_series(tmp_path / "show", episodes=1, seconds=3)
    steps = {**STANDARDISE, "postprocess": {"_target_": "prep_fakes.Replies", "keep": 2}}
    out = tmp_path / "out"
    prepare(root, out, steps=steps, finalize=finalize)
    (out / "audio" / "ann" / ".tmp-abc-ep0-s000-t000.flac").write_bytes(b"left by a killed run")
    for _ in range(2):  # a rerun re-links clips that are already hard links of the cached ones
        prepare(root, out, steps=steps, finalize=finalize)
        assert sorted(p.name for p in (out / "audio").rglob("*")) == ["ann", "ep0-s000-t000.flac", "ep0-s000-t001.flac"]
    steps["postprocess"]["keep"] = 1
    prepare(root, out, steps=steps, finalize=finalize)
    assert sorted(p.name for p in (out / "audio").rglob("*.flac")) == ["ep0-s000-t000.flac"]


def test_each_reply_records_its_clipped_fraction_and_the_filter_can_drop_on_it(tmp_path):
    from audiorole.audio.loudness import normalise_loudness
    from audiorole.prep.context import EpisodeContext
    from audiorole.prep.filter import ReplyFilter
    from audiorole.prep.postprocess import Postprocess

    wave = np.concatenate([tone(3, amp=0.3), np.clip(tone(3, amp=2.0), -1, 1)]).astype(np.float32)
    level, gain_db = normalise_loudness(wave, 16000)  # as standardise writes it: the clipped peaks below 1.0
    sf.write(tmp_path / "audio.flac", level, 16000, subtype="PCM_16")
    samples = [{"id": f"r{i}", "start": 3.0 * i, "end": 3.0 * i + 2.5, "text": "cast off now", "character": "ann"} for i in range(2)]
    (tmp_path / "samples.json").write_text(json.dumps(samples))
    ctx = EpisodeContext(None, None, tmp_path, results={"standardise": {"audio": str(tmp_path / "audio.flac"), "gain_db": gain_db},
                                                        "scenes": {"samples": str(tmp_path / "samples.json")}})
    keep_all = ReplyFilter(language=None, max_subtitle_wer=None, min_dnsmos=None)
    (tmp_path / "a").mkdir()
    result = Postprocess(keep_all, enhancer=None, quality=None)(ctx, tmp_path / "a")
    clean, clipped = json.loads(open(result["kept"]).read())
    assert clean["clipped"] == 0.0 and clipped["clipped"] > 0.2  # recorded, and kept by default
    (tmp_path / "b").mkdir()
    strict = ReplyFilter(language=None, max_subtitle_wer=None, min_dnsmos=None, max_clipped_fraction=0.01)
    result = Postprocess(strict, enhancer=None, quality=None)(ctx, tmp_path / "b")
    assert [s["id"] for s in json.loads(open(result["kept"]).read())] == ["r0"]
    assert [(s["id"], s["reason"]) for s in json.loads(open(result["dropped"]).read())] == [("r1", "clipped")]
