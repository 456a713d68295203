"""Offline tokenizer (Whisper tiny.en features + k-means): length contract, batching, artifact, fingerprint.

Speech comes from Debian espeak-ng; one small codebook is fitted per module.
"""

import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from audiorole.errors import AudioroleError
from audiorole.tokenizers.base import TokenizerError
from audiorole.tokenizers.offline import OfflineTokenizer
from audiorole.tokenizers.offline_fit import fit_or_load

SR = 16000
SENTENCES = ["The harbor lights were burning low across the water.",
             "Haul in the mooring lines and mind the shoals.",
             "It is not entirely impossible that the archive explains it.",
             "Honestly, the shipwreck is the most amazing thing ever!"]
SETTINGS = {"codebook_size": 16, "seed": 0, "max_frames": 2000}

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="needs Debian espeak-ng to synthesise test speech (apt-get install espeak-ng)")


def speak(text: str, tmp_path, voice: str = "en-us") -> np.ndarray:
    import soundfile as sf
    import soxr

    path = tmp_path / f"{abs(hash((text, voice)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    wave, sr = sf.read(path, dtype="float32")
    return soxr.resample(wave, sr, SR).astype(np.float32)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("espeak")
    return [speak(t, tmp, v) for t, v in zip(SENTENCES, ["en-us", "en-gb+f3", "en-us+m7", "en-gb"])]


@pytest.fixture(scope="module")
def tok(speech):
    # One long wave: a single 30 s encoder window, the cheapest fit.
    return OfflineTokenizer.fit([np.concatenate(speech)], **SETTINGS)


def stretch(speech, seconds: float) -> np.ndarray:
    n = round(seconds * SR)
    return np.resize(np.concatenate(speech), n)


@pytest.mark.parametrize("seconds", [0.05, 1.0, 7.3, 31.5])
def test_length_is_ceil_seconds_times_rate(tok, speech, seconds):
    codes = tok.encode(stretch(speech, seconds))
    assert codes.dtype == np.int64
    assert len(codes) == math.ceil(seconds * 12.5)
    assert codes.min() >= 0 and codes.max() < tok.codebook_size


def test_interface(tok):
    assert (tok.sample_rate, tok.frame_rate, tok.codebook_size) == (16000, 12.5, 16)
    assert isinstance(tok.fingerprint, str) and len(tok.fingerprint) == 64


def test_batched_equals_one_by_one(tok, speech):
    waves = [speech[0], speech[1][: SR // 3], stretch(speech, 31.5)]
    tok.batch_size = 8
    batched = tok.encode_many(waves)
    tok.batch_size = 1
    single = [tok.encode(w) for w in waves]
    tok.batch_size = 8
    assert all(np.array_equal(a, b) for a, b in zip(batched, single))


def test_resamples_other_rates(tok, speech):
    import soxr

    wave8k = soxr.resample(speech[0], SR, 8000).astype(np.float32)
    assert len(tok.encode(wave8k, sample_rate=8000)) == math.ceil(len(wave8k) / 8000 * 12.5)


def test_save_load_same_codes_and_fingerprint(tok, speech, tmp_path):
    tok.save(tmp_path / "tok")
    config = json.loads((tmp_path / "tok" / "config.json").read_text())
    assert config["settings"]["codebook_size"] == 16 and config["fingerprint"] == tok.fingerprint
    loaded = OfflineTokenizer.load(tmp_path / "tok")
    assert loaded.fingerprint == tok.fingerprint
    assert np.array_equal(loaded.encode(speech[1]), tok.encode(speech[1]))
    # The fingerprint is a token-cache key: another process must compute the same one.
    code = f"from audiorole.tokenizers.offline import OfflineTokenizer as T; print(T.load({str(tmp_path / 'tok')!r}).fingerprint)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    assert out == tok.fingerprint


def test_edited_artifact_is_refused(tok, tmp_path):
    tok.save(tmp_path / "tok")
    centroids = np.load(tmp_path / "tok" / "centroids.npy")
    np.save(tmp_path / "tok" / "centroids.npy", centroids + 1)
    with pytest.raises(TokenizerError, match="fingerprint"):
        OfflineTokenizer.load(tmp_path / "tok")


def test_fingerprint_follows_settings_and_centroids(tok):
    args = (tok.centroids, tok.feature_mean, tok.feature_std)
    same = OfflineTokenizer(*args, tok.settings, encoder=tok.encoder)
    assert same.fingerprint == tok.fingerprint
    moved = tok.centroids.copy()
    moved[0, 0] += 1e-3
    assert OfflineTokenizer(moved, *args[1:], tok.settings, encoder=tok.encoder).fingerprint != tok.fingerprint
    other = {**tok.settings, "normalize": "global"}
    assert OfflineTokenizer(*args, other, encoder=tok.encoder).fingerprint != tok.fingerprint


def test_fit_is_deterministic(tok, speech):
    again = OfflineTokenizer.fit([np.concatenate(speech)], **SETTINGS)
    assert again.fingerprint == tok.fingerprint
    other = OfflineTokenizer.fit([np.concatenate(speech)], **{**SETTINGS, "seed": 1})
    assert other.fingerprint != tok.fingerprint


def test_bad_input(tok, speech):
    bad = speech[0].copy()
    bad[100] = np.nan
    with pytest.raises(AudioroleError) as info:
        tok.encode(bad)
    assert "NaN" in str(info.value) and "\n" not in str(info.value)
    empty = tok.encode(np.zeros(0, np.float32))
    assert empty.dtype == np.int64 and empty.shape == (0,)
    assert [len(c) for c in tok.encode_many([np.zeros(0, np.float32), speech[0][:SR]])] == [0, 13]


def test_too_little_audio_for_the_codebook(speech):
    with pytest.raises(TokenizerError, match="codebook_size"):
        OfflineTokenizer.fit([speech[0][: SR // 2]], codebook_size=64)


def test_fit_or_load_is_idempotent(tok, speech, tmp_path):
    calls = []

    def clips():
        calls.append(1)
        return [np.concatenate(speech)]

    first = fit_or_load(tmp_path / "tok", clips, **SETTINGS)
    second = fit_or_load(tmp_path / "tok", clips, **SETTINGS)
    assert len(calls) == 1 and first.fingerprint == second.fingerprint == tok.fingerprint
    # Changed settings refit and replace the artifact in place; no temp folders stay behind.
    third = fit_or_load(tmp_path / "tok", clips, **{**SETTINGS, "codebook_size": 8})
    assert len(calls) == 2 and third.codebook_size == 8
    assert OfflineTokenizer.load(tmp_path / "tok").fingerprint == third.fingerprint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok"]
    # A corrupt artifact is refitted rather than trusted.
    (tmp_path / "tok" / "centroids.npy").write_bytes(b"junk")
    fit_or_load(tmp_path / "tok", clips, **{**SETTINGS, "codebook_size": 8})
    assert len(calls) == 3
