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
    assert "not an exported decoder" in capsys.readouterr().err
