"""GLM-4-Voice tokenizer on a tiny checkpoint in the public layout: offline, CPU."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from audiorole.errors import AudioroleError
from audiorole.tokenizers import GLM4VoiceTokenizer, TokenizerError, TokenizerInputError, build_tiny_glm4voice_checkpoint
from audiorole.tokenizers.tiny_checkpoint import synthetic_audio

SR = 16000


def expected_len(wave: np.ndarray) -> int:
    return math.ceil(wave.size / 1280)  # ceil(seconds * 12.5) at 16 kHz


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return build_tiny_glm4voice_checkpoint(tmp_path_factory.mktemp("tiny") / "glm4voice", seed=0)


@pytest.fixture(scope="module")
def tok(ckpt):
    return GLM4VoiceTokenizer(ckpt, batch_size=3)


def test_import_is_cheap():
    code = ("import sys, audiorole.tokenizers, audiorole.tokenizers.base; "
            "bad = [m for m in ('torch', 'transformers', 'lightning') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_checkpoint_has_public_layout(ckpt):
    config = json.loads((ckpt / "config.json").read_text())
    for key in ("pooling_kernel_size", "pooling_type", "pooling_position", "quantize_vocab_size", "quantize_position",
                "quantize_encoder_only", "quantize_causal_block_size", "encoder_causal_convolution", "num_mel_bins"):
        assert key in config, key
    assert config["architectures"] == ["WhisperVQEncoder"] and config["pooling_type"] == "avg"
    pre = json.loads((ckpt / "preprocessor_config.json").read_text())
    assert pre["feature_extractor_type"] == "WhisperFeatureExtractor" and pre["feature_size"] == config["num_mel_bins"]
    names = set(load_file(str(ckpt / "model.safetensors")))
    assert {"conv1.weight", "conv2.bias", "embed_positions.weight", "embed_positions2.weight", "codebook.weight",
            "ema_count", "ema_weight", "layers.1.self_attn.k_proj.weight"} <= names
    assert "layers.1.self_attn.k_proj.bias" not in names  # Whisper keys have no bias
    assert not any(n.startswith("layers.2.") for n in names)  # cut at quantize_position, like the public file


def test_properties(tok):
    facts = (tok.name, tok.sample_rate, tok.frame_rate, tok.codebook_size, tok.window_seconds)
    assert facts == ("glm4voice", 16000, 12.5, 32, 30.0)
    assert len(tok.fingerprint) == 64


@pytest.mark.parametrize("seconds", [0.05, 0.08, 0.0801, 1.0, 7.3, 30.0, 31.5, 65.0])
def test_one_code_per_80ms_rounded_up(tok, seconds):
    wave = synthetic_audio(seconds, seed=1)
    codes = tok.encode(wave)
    assert codes.dtype == np.int64 and codes.ndim == 1
    assert codes.size == expected_len(wave) == math.ceil(round(seconds * SR) / SR * 12.5)
    assert codes.min() >= 0 and codes.max() < tok.codebook_size


def test_empty_and_silence(tok):
    empty = tok.encode(np.zeros(0, np.float32))
    assert empty.dtype == np.int64 and empty.shape == (0,)
    silence = tok.encode(np.zeros(2 * SR, np.float32))  # silence is ordinary codes, nothing trimmed
    assert silence.size == 25 and np.array_equal(silence, tok.encode(np.zeros(2 * SR, np.float32)))
    assert [c.size for c in tok.encode_many([np.zeros(0, np.float32), np.zeros(100, np.float32)])] == [0, 1]


def test_long_audio_is_30s_windows_concatenated(tok):
    wave = synthetic_audio(65.0, seed=2)
    w = 30 * SR
    parts = [tok.encode(wave[i:i + w]) for i in range(0, wave.size, w)]
    assert np.array_equal(tok.encode(wave), np.concatenate(parts))


@pytest.mark.parametrize("variant", ["public", "noncausal"])
def test_batching_equals_one_by_one(tok, tmp_path, variant):
    if variant == "noncausal":  # symmetric convs, plain padding mask: the other config paths
        path = build_tiny_glm4voice_checkpoint(tmp_path / "nc", seed=3, causal_convolution=False, block_size=None)
        tok = GLM4VoiceTokenizer(path, batch_size=3)
    seconds = [0.05, 1.0, 7.3, 31.5, 3.2, 0.5, 12.0, 29.99, 0.2]
    waves = [synthetic_audio(s, seed=10 + i) for i, s in enumerate(seconds)]
    batched = tok.encode_many(waves)
    single = [tok.encode(w) for w in waves]
    for b, s, w in zip(batched, single, waves):
        assert b.size == expected_len(w)
        assert np.array_equal(b, s)
    assert len(np.unique(np.concatenate(batched))) > 5  # the codes actually depend on the sound


def test_deterministic_across_instances(tok, ckpt):
    other = GLM4VoiceTokenizer(str(ckpt), batch_size=8)
    wave = synthetic_audio(9.0, seed=4)
    assert np.array_equal(tok.encode(wave), other.encode(wave))
    assert other.fingerprint == tok.fingerprint


@pytest.mark.slow  # a second Python process (~4 s); runs with the slow tests in CI
def test_fingerprint_stable_across_processes(tok, ckpt):
    code = ("import sys; from audiorole.tokenizers import GLM4VoiceTokenizer; "
            "print(GLM4VoiceTokenizer(sys.argv[1]).fingerprint)")
    out = subprocess.run([sys.executable, "-c", code, str(ckpt)], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == tok.fingerprint


def _copy_with(ckpt: Path, dest: Path, edit) -> Path:
    dest.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (dest / name).write_text((ckpt / name).read_text())
    state = load_file(str(ckpt / "model.safetensors"))
    edit(state)
    save_file(state, str(dest / "model.safetensors"))
    return dest


def test_fingerprint_follows_the_weights_that_matter(tok, ckpt, tmp_path):
    def bump(name):
        def edit(state):
            state[name] = state[name] + 1e-3
        return edit

    changed = GLM4VoiceTokenizer(_copy_with(ckpt, tmp_path / "a", bump("layers.1.fc2.bias")))
    assert changed.fingerprint != tok.fingerprint
    unused = GLM4VoiceTokenizer(_copy_with(ckpt, tmp_path / "b", bump("ema_weight")))  # not used to tokenize
    assert unused.fingerprint == tok.fingerprint
    renamed = GLM4VoiceTokenizer(_copy_with(ckpt, tmp_path / "c", lambda s: s.update(
        {f"model.encoder.{k}": s.pop(k) for k in list(s)})))  # full-model names map onto the encoder
    assert renamed.fingerprint == tok.fingerprint
    assert GLM4VoiceTokenizer(ckpt, dtype="bfloat16").fingerprint != tok.fingerprint


def test_bad_input(tok):
    wave = synthetic_audio(1.0, seed=5)
    for bad, match in [(np.where(np.arange(wave.size) == 7, np.nan, wave), "NaN/Inf"),
                       (np.where(np.arange(wave.size) == 7, np.inf, wave), "NaN/Inf"),
                       (np.stack([wave, wave]), "1-D"),
                       ((wave * 32767).astype(np.int16), "int16")]:
        with pytest.raises(TokenizerInputError, match=match) as err:
            tok.encode(bad)
        assert isinstance(err.value, AudioroleError) and "\n" not in str(err.value)
    with pytest.raises(TokenizerInputError, match="audio #1"):
        tok.encode_many([wave, np.full(10, np.nan, np.float32)])
    with pytest.raises(TokenizerInputError, match="sample_rate"):
        tok.encode(wave, sample_rate=0)


def test_other_sample_rates_are_resampled(tok):
    import soxr

    wave8k = synthetic_audio(2.5, seed=6, sample_rate=8000)
    codes = tok.encode(wave8k, sample_rate=8000)
    assert codes.size == math.ceil(2.5 * 12.5)
    assert np.array_equal(codes, tok.encode(soxr.resample(wave8k, 8000, SR).astype(np.float32)))
    assert np.array_equal(tok.encode(wave8k[:SR], sample_rate=SR), tok.encode(wave8k[:SR]))


def test_missing_or_unreachable_source_is_one_line(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    for source, match in [(tmp_path / "nope", "no such checkpoint directory"),
                          ("./nope/either", "no such checkpoint directory"),
                          ("audiorole-test/no-such-tokenizer", "fetching it from the Hugging Face hub failed.*pass DIR")]:
        with pytest.raises(TokenizerError, match=match) as err:
            GLM4VoiceTokenizer(source)
        assert "\n" not in str(err.value)


def test_broken_checkpoints_are_one_line(ckpt, tmp_path):
    no_weights = tmp_path / "w"
    no_weights.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (no_weights / name).write_text((ckpt / name).read_text())
    cases = [(no_weights, "no model.safetensors")]
    wrong = _copy_with(ckpt, tmp_path / "m", lambda s: None)
    config = json.loads((wrong / "config.json").read_text())
    (wrong / "config.json").write_text(json.dumps({**config, "num_mel_bins": 128}))
    cases.append((wrong, "disagree"))
    short = _copy_with(ckpt, tmp_path / "s", lambda s: s.pop("codebook.weight"))
    cases.append((short, "missing.*codebook.weight"))
    for path, match in cases:
        with pytest.raises(TokenizerError, match=match) as err:
            GLM4VoiceTokenizer(path)
        assert "\n" not in str(err.value)


def test_bad_arguments():
    with pytest.raises(TokenizerError, match="dtype"):
        GLM4VoiceTokenizer("/nonexistent", dtype="int8")


def test_hydra_config_instantiates(ckpt, make_cfg):
    from hydra.utils import instantiate

    cfg = make_cfg(["tokenizer=glm4voice"]).tokenizer
    assert cfg.source == "THUDM/glm-4-voice-tokenizer"  # paths.glm4voice: the hub unless a local copy is given
    tok = instantiate(cfg, source=str(ckpt))
    assert isinstance(tok, GLM4VoiceTokenizer) and tok.frame_rate == 12.5
