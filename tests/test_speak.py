"""Tokens -> wav with an exported decoder, as a function and as a CLI."""

import numpy as np
import soundfile as sf

from audiorole.speak import main, synthesize
from test_acoustic_module import tiny_decoder


def test_synthesize_length_and_determinism(tmp_path):
    decoder = tiny_decoder().eval()
    tokens = np.arange(25) % 16
    wave = synthesize(tokens, decoder, n_steps=2, seed=3)
    assert wave.dtype == np.float32 and np.isfinite(wave).all()
    assert len(wave) == decoder.frames_for_tokens(25) * 256
    assert np.array_equal(wave, synthesize(tokens, decoder, n_steps=2, seed=3))


def test_cli_writes_a_wav_and_explains_bad_input(tmp_path, capsys):
    decoder = tiny_decoder().eval()
    decoder.save(tmp_path / "decoder")
    np.save(tmp_path / "codes.npy", np.arange(13) % 16)
    assert main(["--decoder", str(tmp_path / "decoder"), "--tokens", str(tmp_path / "codes.npy"),
                 "--out", str(tmp_path / "out.wav"), "--steps", "2"]) == 0
    wave, sr = sf.read(tmp_path / "out.wav")
    assert sr == 22050 and len(wave) > 0
    assert main(["--decoder", str(tmp_path), "--tokens", str(tmp_path / "codes.npy"), "--out", str(tmp_path / "x.wav")]) == 2
    assert "flow.pt: missing; the decoder folder needs flow.pt" in capsys.readouterr().err


def test_cli_uses_the_vocoder_exported_beside_the_decoder(tmp_path):
    import torch

    from audiorole.models.vocoder import Vocoder

    decoder = tiny_decoder().eval()
    decoder.save(tmp_path / "decoder")
    torch.manual_seed(0)
    vocoder = Vocoder.from_config({"upsample_initial_channel": 16})
    vocoder.save(tmp_path / "decoder" / "vocoder")
    np.save(tmp_path / "codes.npy", np.arange(13) % 16)
    args = ["--decoder", str(tmp_path / "decoder"), "--tokens", str(tmp_path / "codes.npy"), "--steps", "2"]
    assert main(args + ["--out", str(tmp_path / "auto.wav")]) == 0
    expected = synthesize(np.arange(13) % 16, decoder, vocoder.for_inference(), n_steps=2, seed=0)
    auto, _ = sf.read(tmp_path / "auto.wav", dtype="float32")
    assert np.allclose(auto, expected, atol=1e-4)
    assert not np.allclose(auto, synthesize(np.arange(13) % 16, decoder, None, n_steps=2, seed=0)[:len(auto)], atol=1e-3)


def test_cli_streams_blockwise_with_the_same_length(tmp_path, capsys):
    decoder = tiny_decoder().eval()
    decoder.save(tmp_path / "decoder")
    np.save(tmp_path / "codes.npy", np.arange(60) % 16)
    args = ["--decoder", str(tmp_path / "decoder"), "--tokens", str(tmp_path / "codes.npy"), "--steps", "2"]
    assert main(args + ["--out", str(tmp_path / "stream.wav"), "--stream"]) == 0
    report = capsys.readouterr().out
    assert "in 2 chunks; first audio after" in report  # a block of 25, then the 35 left end the stream
    wave, sr = sf.read(tmp_path / "stream.wav", dtype="float32")
    assert sr == 22050 and np.isfinite(wave).all()
    assert len(wave) == int(60 / 12.5 * 22050 / 256) * 256  # the authors' frame count for 60 tokens
