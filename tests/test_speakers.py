"""Offline speaker embedder (Resemblyzer): shape, norm, voice separation, edge cases."""

from pathlib import Path

import numpy as np
import pytest

from audiorole.speakers import ResemblyzerEmbedder, SpeakerClipError
from audiorole.utils.weights import WeightsError, package_file, verified

SAMPLE = Path(package_file("pyannote.audio", "sample", "sample.wav"))
SR = 16000


@pytest.fixture(scope="module")
def sample_wave():
    from audiorole.audio.decode import load_audio

    return load_audio(SAMPLE, sample_rate=SR)


@pytest.fixture(scope="module")
def embedder():
    return ResemblyzerEmbedder()


def cut(wave, a, b):
    return wave[int(a * SR) : int(b * SR)]


def test_interface(embedder, sample_wave):
    assert (embedder.name, embedder.dimension, embedder.sample_rate) == ("resemblyzer", 256, 16000)
    v = embedder.embed(cut(sample_wave, 10.8, 14.4))
    assert v.shape == (256,) and v.dtype == np.float32
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    many = embedder.embed_many([cut(sample_wave, 10.8, 14.4), cut(sample_wave, 14.8, 17.8)])
    assert many.shape == (2, 256)
    np.testing.assert_allclose(many[0], v, atol=1e-5)  # batching does not change a clip's vector
    assert embedder.embed_many([]).shape == (0, 256)


def test_same_voice_closer_than_different_voice(embedder, sample_wave):
    # sample.rttm: speaker90 talks alone in 10.6-14.5 s and 18.6-21.5 s,
    # speaker91 in 14.7-17.9 s and 21.8-28.5 s.
    a = embedder.embed_many([cut(sample_wave, 10.8, 14.4), cut(sample_wave, 18.7, 21.4)])
    b = embedder.embed_many([cut(sample_wave, 14.8, 17.8), cut(sample_wave, 22.0, 25.0), cut(sample_wave, 25.0, 28.3)])
    same = min(float(a[0] @ a[1]), float(b[0] @ b[1]), float(b[1] @ b[2]))
    different = float(np.max(a @ b.T))
    assert same > different + 0.03, (same, different)


def test_level_does_not_change_the_vector(embedder, sample_wave):
    clip = cut(sample_wave, 10.8, 14.4)
    loud, quiet = embedder.embed_many([clip, clip * 0.05])
    assert float(loud @ quiet) > 0.999


def test_torch_threads_restored(embedder, sample_wave):
    import torch

    before = torch.get_num_threads()
    embedder.embed(cut(sample_wave, 10.8, 12.8))
    assert torch.get_num_threads() == before


def test_too_short_silent_and_bad_shape_raise(embedder, sample_wave):
    with pytest.raises(SpeakerClipError, match=r"0\.30 s is shorter than the 0\.5 s"):
        embedder.embed(cut(sample_wave, 11.0, 11.3))
    with pytest.raises(SpeakerClipError, match="silent"):
        embedder.embed(np.zeros(SR, dtype=np.float32))
    with pytest.raises(SpeakerClipError, match="1-D"):
        embedder.embed(np.zeros((2, SR), dtype=np.float32))
    with pytest.raises(SpeakerClipError, match="clip 1"):
        embedder.embed_many([cut(sample_wave, 11.0, 13.0), cut(sample_wave, 11.0, 11.2)])
    assert isinstance(SpeakerClipError("x"), ValueError)
    # between the minimum and one 1.6 s partial: padded, still a unit vector
    assert np.linalg.norm(embedder.embed(cut(sample_wave, 11.0, 11.8))) == pytest.approx(1.0, abs=1e-5)


def test_weight_hash_mismatch_is_one_line(tmp_path):
    fake = tmp_path / "pretrained.pt"
    fake.write_bytes(b"not the model")
    with pytest.raises(WeightsError) as err:
        verified(fake, "0" * 64, "resemblyzer")
    assert "\n" not in str(err.value) and "resemblyzer" in str(err.value) and str(fake) in str(err.value)
