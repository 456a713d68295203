"""Demo variants in harder acoustics: reverb, noise types at a set SNR, truth unchanged."""

import random
import shutil

import numpy as np
import pytest

from audiorole.demo.conditions import NOISE_TYPES, Condition, noise_at_snr, noise_track, reverberate, room_response

SR = 16000


def test_condition_parse_label_and_errors():
    assert Condition.parse("clean") == Condition() and Condition().clean and Condition().label == "clean"
    c = Condition.parse("music:10:0.6")
    assert (c.noise, c.snr_db, c.rt60, c.label) == ("music", 10.0, 0.6, "music10_rt0.6")
    assert Condition.parse("rt:0.3").label == "rt0.3" and not Condition.parse("rt:0.3").clean
    for bad in ("crowd:10", "babble", "babble:loud", "rt:9"):
        with pytest.raises(ValueError):
            Condition.parse(bad)


def test_room_response_decays_60_db_in_rt60():
    for rt60 in (0.3, 0.6):
        ir = room_response(rt60, SR, np.random.default_rng(0))
        tail = ir[1:]  # without the direct path
        energy = np.cumsum(tail[::-1] ** 2)[::-1]  # Schroeder backward integration
        db = 10 * np.log10(energy / energy[0])
        t5, t25 = np.argmax(db <= -5) / SR, np.argmax(db <= -25) / SR
        assert 3 * (t25 - t5) == pytest.approx(rt60, rel=0.15)  # T20 extrapolated to 60 dB


def test_reverb_keeps_level_and_adds_a_tail():
    clip = np.sin(2 * np.pi * 200 * np.arange(SR // 2) / SR).astype(np.float32) * 0.1
    wet = reverberate(clip, room_response(0.4, SR, np.random.default_rng(1)))
    assert len(wet) > len(clip)
    assert np.sqrt(np.mean(wet[: len(clip)] ** 2)) == pytest.approx(np.sqrt(np.mean(clip ** 2)), rel=1e-3)
    assert np.abs(wet[len(clip):]).max() > 1e-3


@pytest.mark.parametrize("kind", [k for k in NOISE_TYPES if k != "babble"])
def test_procedural_noise_is_unit_rms_and_seeded(kind):
    a = noise_track(kind, 3 * SR, SR, random.Random(3))
    b = noise_track(kind, 3 * SR, SR, random.Random(3))
    assert a.shape == (3 * SR,) and np.array_equal(a, b)
    assert np.sqrt(np.mean(a ** 2)) == pytest.approx(1.0, rel=1e-3)
    assert not np.array_equal(a, noise_track(kind, 3 * SR, SR, random.Random(4)))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="babble is spoken by espeak-ng (apt-get install espeak-ng)")
def test_babble_is_several_talkers():
    x = noise_track("babble", 2 * SR, SR, random.Random(0))
    assert np.sqrt(np.mean(x ** 2)) == pytest.approx(1.0, rel=1e-3)
    frames = np.sqrt(np.mean(x[: len(x) // 160 * 160].reshape(-1, 160) ** 2, axis=1))
    assert (frames > 0.1).mean() > 0.8  # six talkers leave almost no pause


def test_noise_at_snr_sets_the_ratio():
    speech = np.zeros((4 * SR, 2), np.float32)
    speech[SR: 3 * SR] = 0.1  # active half the time
    noise = noise_track("street", 4 * SR, SR, random.Random(0))
    scaled = noise_at_snr(speech, noise, 10.0)
    snr = 10 * np.log10(np.mean(speech[SR: 3 * SR] ** 2) / np.mean(scaled ** 2))
    assert snr == pytest.approx(10.0, abs=0.01)


def test_condition_changes_audio_not_truth():
    from audiorole.demo.mixer import mix_episode
    from audiorole.demo.script_writer import write_episode

    scenes = write_episode(random.Random(0), 2, set(), {})
    tone = lambda k: (0.1 * np.sin(2 * np.pi * (150 + 20 * k) * np.arange(int(0.6 * SR)) / SR)).astype(np.float32)  # noqa: E731
    clips = [[tone(k) for k, _ in enumerate(s.turns)] for s in scenes]
    clean = mix_episode("ep", scenes, clips, SR, random.Random(1))
    hard = mix_episode("ep", scenes, clips, SR, random.Random(1), Condition("applause", 5.0, 0.3), random.Random(2))
    assert clean.utterances == hard.utterances and clean.audio.shape == hard.audio.shape
    assert clean.snr_db > 15 and hard.snr_db == pytest.approx(5.0, abs=1.0)


def test_robustness_row_and_table(tmp_path):
    import json

    from audiorole.demo.robustness import markdown, row, transcript_wer

    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "ep01.script.jsonl").write_text("\n".join(json.dumps(u) for u in [
        {"speaker": "mara", "text": "haul in the jib", "start": 0.0, "end": 1.0},
        {"speaker": "june", "text": "totally", "start": 1.5, "end": 2.0}]))
    turns = tmp_path / "prep" / "work" / "transcribe" / "ep01" / "k1"
    turns.mkdir(parents=True)
    (turns / "turns.json").write_text(json.dumps([{"start": 1.5, "text": "totally"}, {"start": 0.0, "text": "haul in the job"}]))
    assert transcript_wer(tmp_path / "prep", truth) == pytest.approx(1 / 5)
    old = row("babble10", {"der": {"ep01": 0.084}, "attribution_accuracy": None, "replies": 0}, 0.0, 0.2)
    new = row("clean", {"episodes": {"ep01": {"der": 0.011}}, "by_regime": {"all": {
        "precision_kept": 1.0, "recall_kept": 0.5, "wer_all": 0.22, "replies_kept": 47}}}, 6.39, None)
    table = markdown([new, old]).splitlines()
    assert table[0] == "| condition | DER ep01 % | precision % | recall % | WER all % | replies | kept min |"
    assert table[2] == "| clean | 1.1 | 100.0 | 50.0 | 22.0 | 47 | 6.39 |"
    assert table[3] == "| babble10 | 8.4 | – | – | 20.0 | 0 | 0.00 |"
