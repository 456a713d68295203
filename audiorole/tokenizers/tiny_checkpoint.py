"""A tiny random checkpoint in the exact layout of ``THUDM/glm-4-voice-tokenizer``.

Tests and users' CI load it through the same code path as the real one: the
same ``config.json`` fields (tiny sizes), the same ``preprocessor_config.json``
fields, one ``model.safetensors`` with the public parameter names, including
the entries tokenizing ignores (``embed_positions2``, ``ema_count``,
``ema_weight``). Only ``quantize_position`` layers are written, as in the
public file (16 of 32 there).

The weights are random, but the codebook is drawn from the model's own
pooled hidden states on a synthetic signal, so different sounds get different
codes (a random codebook tends to map everything to one code).
"""

from __future__ import annotations

import json
import math
from pathlib import Path


def public_config(**tiny) -> dict:
    """config.json with the public file's fields; ``tiny`` overrides sizes."""
    config = {
        "_name_or_path": "THUDM/glm-4-voice-tokenizer", "activation_dropout": 0.0, "activation_function": "gelu",
        "apply_spec_augment": False, "architectures": ["WhisperVQEncoder"], "attention_dropout": 0.0,
        "begin_suppress_tokens": [220, 50257], "bos_token_id": 50257, "classifier_proj_size": 256,
        "d_model": 1280, "decoder_attention_heads": 20, "decoder_ffn_dim": 5120, "decoder_layerdrop": 0.0,
        "decoder_layers": 32, "decoder_start_token_id": 50258, "dropout": 0.0, "encoder_attention_heads": 20,
        "encoder_causal_attention": False, "encoder_causal_convolution": True, "encoder_ffn_dim": 5120,
        "encoder_layerdrop": 0.0, "encoder_layers": 32, "eos_token_id": 50257, "init_std": 0.02,
        "is_encoder_decoder": True, "mask_feature_length": 10, "mask_feature_min_masks": 0,
        "mask_feature_prob": 0.0, "mask_time_length": 10, "mask_time_min_masks": 2, "mask_time_prob": 0.05,
        "max_length": 448, "max_source_positions": 1500, "max_target_positions": 448, "median_filter_width": 7,
        "model_type": "whisper", "num_hidden_layers": 32, "num_mel_bins": 128, "pad_token_id": 50256,
        "pooling_kernel_size": 4, "pooling_position": 16, "pooling_type": "avg", "quantize_causal_block_size": 200,
        "quantize_causal_encoder": False, "quantize_commit_coefficient": 0.25, "quantize_ema_decay": 0.99,
        "quantize_encoder_only": True, "quantize_loss_scale": 10.0, "quantize_position": 16,
        "quantize_restart_interval": 100, "quantize_vocab_size": 16384, "scale_embedding": False,
        "skip_language_detection": True, "torch_dtype": "float32", "transformers_version": "4.44.1",
        "use_cache": True, "use_weighted_layer_sum": False, "vocab_size": 51866,
    }
    config.update(tiny)
    return config


def public_preprocessor(feature_size: int = 128) -> dict:
    """preprocessor_config.json as published (a WhisperFeatureExtractor)."""
    return {"chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": feature_size,
            "hop_length": 160, "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000, "padding_side": "right",
            "padding_value": 0.0, "processor_class": "WhisperProcessor", "return_attention_mask": False,
            "sampling_rate": 16000}


def sinusoids(length: int, channels: int):
    """Whisper's fixed sinusoidal positions (what the original initialises embed_positions with)."""
    import torch

    step = math.log(10000) / (channels // 2 - 1)
    inv = torch.exp(-step * torch.arange(channels // 2))
    t = torch.arange(length)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


def synthetic_audio(seconds: float, seed: int, sample_rate: int = 16000):
    """Varied test sound: gliding tones, noise bursts and gaps (numpy float32)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    freq = 150 + 900 * (0.5 + 0.5 * np.sin(2 * np.pi * t / rng.uniform(0.7, 2.0)))
    tone = np.sin(2 * np.pi * np.cumsum(freq) / sample_rate)
    gate = (np.sin(2 * np.pi * t * rng.uniform(1.5, 4.0)) > -0.3).astype(float)
    noise = rng.standard_normal(n) * (np.sin(2 * np.pi * t * rng.uniform(0.3, 1.0)) > 0.5)
    return (0.3 * tone * gate + 0.1 * noise).astype(np.float32)


def build_tiny_glm4voice_checkpoint(path: str | Path, seed: int = 0, d_model: int = 64, encoder_layers: int = 3,
                                    quantize_position: int = 2, heads: int = 4, ffn_dim: int = 128,
                                    num_mel_bins: int = 80, codebook_size: int = 32, block_size: int | None = 200,
                                    causal_convolution: bool = True) -> Path:
    """Write a tiny GLM-4-Voice tokenizer checkpoint to ``path`` (created) and return it.

    Pooling (avg x4) comes after layer ``quantize_position``, as in the public
    config; keep ``max_source_positions`` at 1500 so 30 s windows fit.
    """
    import torch
    from safetensors.torch import save_file

    from audiorole.tokenizers.glm4voice_model import WhisperVQEncoder, WhisperVQSettings

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = public_config(
        d_model=d_model, encoder_attention_heads=heads, encoder_ffn_dim=ffn_dim, encoder_layers=encoder_layers,
        num_hidden_layers=encoder_layers, decoder_attention_heads=heads, decoder_ffn_dim=ffn_dim,
        decoder_layers=encoder_layers, num_mel_bins=num_mel_bins, pooling_position=quantize_position,
        quantize_position=quantize_position, quantize_vocab_size=codebook_size,
        quantize_causal_block_size=block_size, encoder_causal_convolution=causal_convolution,
        _name_or_path="audiorole/tiny-glm-4-voice-tokenizer")
    preprocessor = public_preprocessor(num_mel_bins)

    gen = torch.Generator().manual_seed(seed)
    settings = WhisperVQSettings.from_config(config)
    with torch.random.fork_rng(devices=[]):  # deterministic init without touching the caller's RNG
        torch.manual_seed(seed)
        model = WhisperVQEncoder(settings).eval()
    with torch.no_grad():
        model.embed_positions.weight.copy_(sinusoids(*model.embed_positions.weight.shape))
        model.codebook.weight.copy_(_codebook_from_hidden(model, preprocessor, codebook_size, gen, seed))

    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    pooled_positions = math.ceil(settings.max_source_positions / settings.pool)
    state["embed_positions2.weight"] = state["embed_positions.weight"][:pooled_positions].clone()
    state["ema_count"] = torch.ones(codebook_size)
    state["ema_weight"] = state["codebook.weight"].clone()
    save_file(state, str(path / "model.safetensors"), metadata={"format": "pt"})
    (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (path / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2) + "\n")
    return path


def _codebook_from_hidden(model, preprocessor: dict, size: int, gen, seed: int):
    import numpy as np
    import torch
    from transformers import WhisperFeatureExtractor

    fe = WhisperFeatureExtractor.from_dict(preprocessor)
    wave = synthetic_audio(8.0, seed)
    feats = fe([wave], sampling_rate=16000, return_tensors="np", padding="longest", pad_to_multiple_of=1280,
               return_attention_mask=True)
    with torch.no_grad():
        hidden, valid = model.hidden(torch.from_numpy(feats["input_features"]),
                                     torch.from_numpy(feats["attention_mask"].astype(np.bool_)))
    frames = hidden[0][valid[0]]
    pick = torch.randperm(frames.shape[0], generator=gen)[:size]
    book = frames[pick]
    if book.shape[0] < size:  # more codes than frames: fill with jittered copies
        extra = book[torch.randint(book.shape[0], (size - book.shape[0],), generator=gen)]
        book = torch.cat([book, extra + 0.1 * torch.randn(extra.shape, generator=gen)])
    return book + 0.01 * torch.randn(book.shape, generator=gen)  # no exact ties between codes
