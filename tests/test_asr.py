"""ASR and language ID, offline on CPU: the shipped Whisper tiny.en on speech made by espeak-ng."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from audiorole.errors import AudioroleError

SR = 16000
SENTENCE = "I will meet you at the station tomorrow morning."
OTHER = "Please bring the red umbrella and two cups of coffee."

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng not installed (apt-get install espeak-ng); it makes the test speech")
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed (apt-get install ffmpeg)")


def speak(text: str, path: Path) -> np.ndarray:
    from audiorole.audio.decode import load_audio

    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return load_audio(path, SR)


@pytest.fixture(scope="module")
def transcriber():
    from audiorole.asr.whisperx_transcriber import WhisperXTranscriber

    return WhisperXTranscriber(batch_size=4)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("espeak-ng and ffmpeg make the test speech (apt-get install espeak-ng ffmpeg)")
    d = tmp_path_factory.mktemp("speech")
    return speak(SENTENCE, d / "a.wav"), speak(OTHER, d / "b.wav")


def test_import_is_cheap():
    code = ("import sys, audiorole.asr, audiorole.asr.wer, audiorole.asr.language, audiorole.asr.whisperx_transcriber;"
            "heavy = {'torch', 'ctranslate2', 'faster_whisper', 'whisperx', 'jiwer', 'py3langid'} & set(sys.modules);"
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@needs_espeak
@needs_ffmpeg
def test_known_utterance_low_wer(transcriber, speech):
    from audiorole.asr.wer import wer

    t = transcriber(speech[0])
    assert wer(SENTENCE, t.text) <= 0.15, t.text
    assert t.language == "en" and t.language_probability is None  # given, not detected (tiny.en)


@needs_espeak
@needs_ffmpeg
def test_word_times_increase_inside_clip(transcriber, speech):
    wave = speech[0]
    words = transcriber(wave).words
    assert len(words) >= 6
    duration = len(wave) / SR
    for a, b in zip(words, words[1:]):
        assert a.start <= a.end <= b.start + 1e-6 and b.start <= b.end
    assert 0.0 <= words[0].start and words[-1].end <= duration + 1e-6
    assert all(isinstance(w.start, float) and 0.0 <= w.probability <= 1.0 for w in words)


@needs_espeak
@needs_ffmpeg
def test_batching_equals_one_by_one(transcriber, speech):
    a, b = speech
    clips = [a, b[: len(b) // 2], b, a[len(a) // 3:]]
    batched = transcriber.transcribe_many(clips)
    for clip, got in zip(clips, batched):
        alone = transcriber(clip)
        assert got.text == alone.text
        assert [w.word for w in got.words] == [w.word for w in alone.words]
        np.testing.assert_allclose([(w.start, w.end) for w in got.words],
                                   [(w.start, w.end) for w in alone.words], atol=0.021)


@needs_espeak
@needs_ffmpeg
def test_silence_and_tiny_clips_are_empty(transcriber, speech):
    # Contract: shorter than min_duration (0.1 s), quieter than -60 dBFS RMS, or
    # silent by Whisper's own no-speech rule -> a Transcript with no segment.
    rng = np.random.default_rng(0)
    clips = [np.zeros(SR, np.float32), np.zeros(0, np.float32), speech[0][:800],
             (rng.standard_normal(2 * SR) * 1e-4).astype(np.float32)]
    for t in transcriber.transcribe_many(clips):
        assert t.segments == [] and t.text == "" and t.is_empty()
    assert transcriber.transcribe_many([]) == []


@needs_espeak
@needs_ffmpeg
def test_long_clip_is_windowed(transcriber, speech):
    a, b = speech
    gap = np.zeros(SR, np.float32)
    long = np.concatenate([a, gap, b, gap] * 3)  # ~45 s: cut at pauses by the VAD
    t = transcriber(long)
    starts = [w.start for w in t.words]
    assert starts == sorted(starts) and t.words[-1].end <= len(long) / SR
    assert "umbrella" in t.text.lower() and t.text.lower().count("station") >= 2


@needs_espeak
@needs_ffmpeg
def test_local_ct2_dir_as_model(tmp_path, speech):
    from audiorole.asr import models
    from audiorole.asr.whisperx_transcriber import WhisperXTranscriber
    from audiorole.asr.wer import wer

    local = tmp_path / "tiny-ct2"
    local.mkdir()
    for f in models.offline_model_dir().iterdir():
        (local / f.name).symlink_to(f)
    t = WhisperXTranscriber(model=str(local))
    assert t.name == "faster-whisper:tiny-ct2"
    assert wer(SENTENCE, t(speech[0]).text) <= 0.15

    (local / "tokenizer.json").unlink()
    with pytest.raises(models.ASRModelError, match="missing tokenizer.json"):
        WhisperXTranscriber(model=str(local))(speech[0])
    with pytest.raises(models.ASRModelError, match="no such model folder"):
        WhisperXTranscriber(model=str(tmp_path / "nope"))(speech[0])


def test_weight_hash_mismatch_is_one_line(monkeypatch):
    from audiorole.asr import models

    monkeypatch.setattr(models, "OFFLINE_MODEL_SHA256", "0" * 64)
    with pytest.raises(models.ASRModelError) as err:
        models.offline_model_dir()
    assert isinstance(err.value, AudioroleError) and "\n" not in str(err.value) and "reinstall" in str(err.value)


def test_english_only_model_refuses_audio_language_id(transcriber):
    with pytest.raises(AudioroleError, match="English-only"):
        transcriber.detect_language(np.zeros(SR, np.float32))
    assert transcriber.multilingual is False


def test_text_language_id():
    from audiorole.asr.language import TextLanguageIdentifier, identify_language

    ident = TextLanguageIdentifier()
    assert ident("Where were you last night? I waited at the harbour for hours.")[0] == "en"
    assert ident("Où étais-tu hier soir ? Je t'ai attendu au port pendant des heures.")[0] == "fr"
    assert ident("Wo warst du gestern Abend? Ich habe stundenlang am Hafen gewartet.")[0] == "de"
    code, prob = ident("Where were you last night?")
    assert code == "en" and 0.5 < prob <= 1.0
    assert ident("Okay.") == ("und", 0.0)  # too short to tell: the filter keeps it
    assert identify_language("Ich habe stundenlang am Hafen gewartet, mein Freund.")[0] == "de"
    assert TextLanguageIdentifier(["en", "fr"])("Merci beaucoup, mon ami")[0] == "fr"
    with pytest.raises(AudioroleError, match="not among"):
        TextLanguageIdentifier(["xx"])("a line long enough to classify")


def test_wer_normalisation():
    from audiorole.asr.wer import normalize_text, wer

    assert normalize_text("Hello, World!") == "hello world"
    assert normalize_text("I don't know—42 of them.") == "i don't know forty two of them"
    assert normalize_text("It's 3.5%, the 2nd of 1,000") == "it's three point five percent the second of one thousand"
    assert normalize_text("“Twenty-one,” she said.") == "twenty one she said"
    assert wer("Seven ships, Captain!", "seven ships captain") == 0.0
    assert wer("seven ships", "7 ships") == 0.0
    assert wer("the cat sat", "the cat sat down") == pytest.approx(1 / 3)
    assert wer(["a b", "c d"], ["a b", "c x"]) == pytest.approx(0.25)  # corpus WER
    assert wer("", "") == 0.0 and wer("...", "hello") == 1.0


def test_cer_uses_the_same_normalisation():
    from audiorole.asr.wer import cer

    assert cer("Seven ships, Captain!", "seven ships captain") == 0.0
    assert cer("the cat", "the bat") == pytest.approx(1 / 7)  # one of seven characters (the space counts)
    assert cer("the cat", "") == 1.0 and cer("", "") == 0.0 and cer("", "x") == 1.0


DEMO = Path(__file__).resolve().parents[1] / "audiorole" / "demo" / "series"


@pytest.fixture(scope="module")
def demo_wer(transcriber):
    """Corpus WER of the offline transcriber on the demo's non-overlapping utterances, overall and per speaker."""
    import json

    from audiorole.asr.wer import wer
    from audiorole.audio.decode import load_audio

    scripts = sorted((DEMO / "truth").glob("*.script.jsonl"))
    if not scripts or shutil.which("ffmpeg") is None:
        pytest.skip(f"{DEMO} has no truth/*.script.jsonl (regenerate with python -m audiorole.demo.make_demo) or ffmpeg is missing")
    clips, refs, who = [], [], []
    for script in scripts:
        episode = next((DEMO / "episodes").glob(script.name.split(".")[0] + ".*"))
        audio = load_audio(episode, SR)
        for line in script.read_text().splitlines():
            u = json.loads(line)
            if not u.get("overlap"):
                clips.append(audio[int(u["start"] * SR):int(u["end"] * SR)])
                refs.append(u["text"])
                who.append(u["speaker"])
    hyps = [t.text for t in transcriber.transcribe_many(clips)]
    per = {s: wer([r for r, w in zip(refs, who) if w == s], [h for h, w in zip(hyps, who) if w == s]) for s in set(who)}
    return wer(refs, hyps), per


@pytest.mark.slow
def test_demo_wer_regression(demo_wer):
    # All non-overlapping utterances, unfiltered (the project's WER target is on *kept*
    # replies: tests/test_prep_demo.py). Measured: 20.8 % overall (otis/piper 8 %, june/espeak 24 %, mara/flite 34 %,
    # extra/espeak 41 %) with tiny.en greedy; this guards against regressions.
    overall, per = demo_wer
    assert overall <= 0.25, per


def test_pack_groups_close_spans_up_to_the_window():
    from audiorole.asr.packing import owner, pack

    spans = [(10.0, 14.0), (0.0, 3.0), (3.5, 8.0), (8.2, 40.0), (45.0, 46.0)]
    windows = pack(spans, window_s=30.0, max_gap=2.0)
    assert [w.spans for w in windows] == [[1, 2], [3], [0], [4]]  # by start; 8.2-40 s is too long to join
    assert (windows[0].start, windows[0].end) == (0.0, 8.0)
    assert [w.spans for w in pack(spans, 30.0, max_gap=0.1)] == [[1], [2], [3], [0], [4]]
    assert owner(2.9, 3.9, spans, [1, 2], reach=0.3) == 2  # most of the word lies in span 2
    assert owner(3.1, 3.3, spans, [1, 2], reach=0.3) == 1  # in the gap, nearest span within reach
    assert owner(20.0, 20.5, spans, [0], reach=0.3) is None


@needs_espeak
@needs_ffmpeg
def test_packed_spans_transcribe_like_separate_clips(transcriber, speech):
    from audiorole.asr.wer import wer

    a, b = speech
    gap = np.zeros(int(0.4 * SR), np.float32)
    recording = np.concatenate([gap, a, gap, b, gap])
    spans = [(0.4, 0.4 + len(a) / SR), (0.8 + len(a) / SR, 0.8 + (len(a) + len(b)) / SR)]
    from audiorole.asr.whisperx_transcriber import WhisperXTranscriber

    packed = WhisperXTranscriber(batch_size=4, pack_seconds=30).transcribe_spans(recording, spans)
    alone = transcriber.transcribe_spans(recording, spans)  # unpacked: one window per span
    assert len(packed) == len(alone) == 2
    # Sharing a window changes the decoder's context, so a word may differ (tiny.en); the split must not.
    assert wer([SENTENCE, OTHER], [t.text for t in packed]) <= wer([SENTENCE, OTHER], [t.text for t in alone]) + 0.2, \
        ([t.text for t in packed], [t.text for t in alone])
    assert "umbrella" not in packed[0].text.lower() and "station" not in packed[1].text.lower()
    for t, (s, e) in zip(packed, spans):  # word times relative to each span, inside it
        assert all(0.0 <= w.start <= w.end <= e - s + 0.3 for w in t.words)


@needs_espeak
@needs_ffmpeg
def test_shortened_windows_encode_their_own_length_plus_the_tail(transcriber, speech):
    from audiorole.asr.batched import TAIL_S, _features

    transcriber._load()
    model = transcriber._model
    fps = model.frames_per_second
    for seconds, minimum, expected in [(4.0, 10, 10), (9.5, 10, 13), (12.2, 5, 16), (29.0, 10, 30), (4.0, None, 30)]:
        clip = np.zeros(int(seconds * SR), np.float32)
        feats, frames = _features(model, clip, minimum)
        assert feats.shape[-1] == expected * fps, (seconds, minimum)
        assert frames == min(int(seconds * fps), 3000)
        if minimum is not None and expected < 30:
            assert expected >= seconds + TAIL_S  # always at least TAIL_S of padding after the speech


@needs_espeak
@needs_ffmpeg
def test_shortened_windows_keep_the_words_and_batching_equals_one_by_one(speech):
    from audiorole.asr.wer import wer
    from audiorole.asr.whisperx_transcriber import WhisperXTranscriber

    a, b = speech
    gap = np.zeros(SR, np.float32)
    # Clips whose shortened windows differ (10 s, and longer ones): they never share a batch.
    clips = [a, b, np.concatenate([a, gap, b]), np.concatenate([a, gap, b, gap, a])]
    short = WhisperXTranscriber(batch_size=4, min_window_seconds=10)
    batched = short.transcribe_many(clips)
    for clip, got in zip(clips, batched):
        alone = short(clip)
        assert got.text == alone.text
        assert [w.word for w in got.words] == [w.word for w in alone.words]
    assert wer(SENTENCE, batched[0].text) <= 0.15, batched[0].text
    assert wer(" ".join([SENTENCE, OTHER, SENTENCE]), batched[3].text) <= 0.2, batched[3].text  # not cut off


@pytest.mark.parametrize("value", [0, -1, 31])
def test_min_window_seconds_out_of_range_is_one_line(value):
    from audiorole.asr.whisperx_transcriber import WhisperXTranscriber

    with pytest.raises(AudioroleError, match="min_window_seconds") as e:
        WhisperXTranscriber(min_window_seconds=value)
    assert "\n" not in str(e.value)


@needs_espeak
@needs_ffmpeg
def test_text_logprob_finds_the_spoken_text_even_under_noise(transcriber, speech):
    """The subtitle check's score: the words said outscore another line and the line with words changed or
    dropped, in clean audio and at 0 dB white noise (where free decoding loses words)."""
    a, _ = speech
    noisy = a + np.random.default_rng(0).normal(0, float(np.sqrt(np.mean(a ** 2))), a.shape).astype(np.float32)
    changed = "I will meet you at the harbour tomorrow evening."
    dropped = "I will meet you tomorrow."
    for clip in (a, noisy):
        said, other, chg, drop = transcriber.text_logprob([clip] * 4, [SENTENCE, OTHER, changed, dropped])
        assert said > max(other, chg, drop) + 0.5, (said, other, chg, drop)
    assert transcriber.text_logprob([a, a, np.zeros(SR * 31, np.float32)], [SENTENCE, " ", SENTENCE])[1:] == [None, None]
    with pytest.raises(AudioroleError, match="16000 Hz"):
        transcriber.text_logprob([a], [SENTENCE], 8000)
