"""ASR text where the VAD hears no speech (music, applause/laughter, silence) never becomes a reply or a context turn."""

import json
import random
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from audiorole.asr.transcript import Segment, Transcript, Word
from audiorole.asr.vad import SileroVAD
from audiorole.audio.decode import load_audio
from audiorole.demo import DEMO_SERIES_DIR
from audiorole.demo.chords import chords
from audiorole.demo.mixer import _coloured_noise, _unit_rms
from audiorole.prep.context import EpisodeContext
from audiorole.prep.filter import ReplyFilter
from audiorole.prep.scenes import Scenes
from audiorole.prep.transcribe import Transcribe
from audiorole.prep.turns import Turn

SR = 16000


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    """4 s music bed, 4 s applause-like noise bursts, 2 s near silence, one spoken line; 0.5 s gaps.

    Every part is a turn, as a diarizer that mistakes beds for voices would give: the music
    and the speech are 'mara', the rest unknown speakers.
    """
    rng, np_rng = random.Random(0), np.random.default_rng(0)
    t = np.arange(4 * SR) / SR
    parts = {
        "music": 0.1 * _unit_rms(chords(4 * SR, SR, rng)),
        "applause": 0.1 * _unit_rms(_coloured_noise(4 * SR, SR, 1.0, np_rng)[:, 0])
        * (np.sin(2 * np.pi * 5 * t) > 0.3) * (np.sin(2 * np.pi * 0.7 * t) > -0.2),
        "silence": 1e-4 * np_rng.standard_normal(2 * SR),
        "speech": load_audio(DEMO_SERIES_DIR / "characters" / "mara" / "mara_01.flac", SR),
    }
    gap = np.zeros(SR // 2)
    wave, spans, at = [], {}, 0.5
    for name, part in parts.items():
        wave += [gap, part]
        spans[name] = (at, at + len(part) / SR)
        at += len(part) / SR + 0.5
    root = tmp_path_factory.mktemp("nospeech")
    sf.write(root / "audio.flac", np.concatenate(wave + [gap]).astype(np.float32), SR, subtype="PCM_16")
    who = {"music": "mara", "speech": "mara"}
    turns = [Turn(round(s, 3), round(e, 3), name, character=who.get(name)) for name, (s, e) in spans.items()]
    (root / "turns.json").write_text(json.dumps([t.to_dict() for t in turns]))
    return root


def run_steps(root, backend, vad, name):
    """transcribe -> scenes -> filter rules, as the pipeline runs them."""
    out = root / name
    (out / "transcribe").mkdir(parents=True)
    (out / "scenes").mkdir()
    ctx = EpisodeContext(None, SimpleNamespace(id="ep"), out, results={
        "standardise": {"audio": str(root / "audio.flac")}, "attribute": {"turns": str(root / "turns.json")}})
    ctx.results["transcribe"] = Transcribe(backend, vad=vad)(ctx, out / "transcribe")
    ctx.results["scenes"] = Scenes(scene_gap=5.0)(ctx, out / "scenes")
    turns = {t["cluster"]: t for t in json.loads(open(ctx.results["transcribe"]["turns"]).read())}
    samples = json.loads(open(ctx.results["scenes"]["samples"]).read())
    rules = ReplyFilter(language=None, max_subtitle_wer=None, min_dnsmos=None)
    return turns, samples, {s["id"]: rules.reason(s) for s in samples}


class Hallucinating:
    """Whisper at its worst: "Thank you." over whatever it is given, word times spread over the clip."""

    name = "hallucinating"

    def transcribe_many(self, waves):
        out = []
        for w in waves:
            end = len(w) / SR
            words = [Word(0.1, end / 2, " Thank", 0.9), Word(end / 2, end - 0.1, " you.", 0.9)]
            out.append(Transcript(segments=[Segment(0.0, end, " Thank you.", words, -0.3, 0.1, 1.0)], language="en"))
        return out


def test_text_without_vad_speech_is_no_reply_and_no_context(episode):
    turns, samples, reasons = run_steps(episode, Hallucinating(), SileroVAD(), "gated")
    assert {name for name, t in turns.items() if t["no_speech"]} == {"music", "applause", "silence"}
    assert all(turns[name]["text"] == "" for name in ("music", "applause", "silence"))
    assert turns["speech"]["text"] == "Thank you." and not turns["speech"]["no_speech"]
    [reply] = [s for s in samples if reasons[s["id"]] is None]
    assert reply["start"] == turns["speech"]["start"] and reply["context"] == []  # nothing heard before it
    assert sorted(reasons.values(), key=str) == [None, "no_speech"]  # the music 'reply' is dropped, with its reason


def test_without_vad_the_same_text_becomes_replies_and_context(episode):
    _, samples, reasons = run_steps(episode, Hallucinating(), None, "ungated")
    kept = [s for s in samples if reasons[s["id"]] is None]
    assert len(kept) == 2 and len(kept[1]["context"]) == 3  # what the VAD gate prevents


def test_the_offline_whisper_on_music_applause_and_silence(episode):
    from audiorole.asr.whisperx_transcriber import WhisperXTranscriber

    whisper = WhisperXTranscriber(model="offline", beam_size=5)
    heard = []

    class Once:  # one Whisper pass serves both runs: the test stays seconds
        name = whisper.name

        def transcribe_many(self, waves):
            heard[:] = heard or whisper.transcribe_many(waves)
            return heard

    asr = Once()
    raw, _, _ = run_steps(episode, asr, None, "whisper_raw")
    turns, samples, reasons = run_steps(episode, asr, SileroVAD(), "whisper_gated")
    assert raw["music"]["text"]  # Whisper writes something (". . .") over the music bed
    assert all(turns[n]["text"] == "" and turns[n]["no_speech"] for n in ("music", "applause", "silence"))
    assert "steady as she goes" in turns["speech"]["text"].lower().replace(",", "").replace("study", "steady")
    [reply] = [s for s in samples if reasons[s["id"]] is None]
    assert reply["text"] == turns["speech"]["text"] and reply["context"] == []


def test_words_the_vad_keeps_stay_separate_words_when_the_backend_gives_no_spaces():
    # The shipped transcriber's words carry no leading space: a thinned turn must not read "Mindtheshoals."
    step = Transcribe(backend=None)
    turn = Turn(start=0.0, end=3.0, cluster="A", text="Mind the shoals. Uh",
                words=[{"start": s, "end": s + 0.4, "word": w, "p": 0.9}
                       for s, w in ((0.1, "Mind"), (0.6, "the"), (1.1, "shoals."), (2.5, "Uh"))])
    step.gate(turn, regions=[(0.0, 1.8)])
    assert turn.text == "Mind the shoals." and len(turn.words) == 3
