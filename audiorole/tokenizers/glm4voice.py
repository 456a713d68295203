"""GLM-4-Voice's speech tokenizer (WhisperVQ, 12.5 Hz, 16384 codes), our implementation.

Loads the public ``THUDM/glm-4-voice-tokenizer`` layout (hub id or local dir)
with no remote code: ``config.json`` drives ``glm4voice_model.WhisperVQEncoder``,
``preprocessor_config.json`` a transformers ``WhisperFeatureExtractor``
(Whisper log-mel, 128 bins for large-v3), and the safetensors load by name.

Padding follows the original ``speech_tokenizer/utils.py:extract_speech_token``:
a clip is zero-padded only to a multiple of one token (hop x 2 x pool = 1280
samples), never to 30 s; the padded mel frames are masked out of attention and
the codes of padded positions are dropped, which leaves ``ceil(seconds * 12.5)``
codes. One departure: the original computes log-mel for the whole batch padded
to its longest clip, so a clip's last frame can see other clips' padding; we
compute each window's log-mel on its own and pad only the features, so a
batch gives exactly what one-by-one gives (the original's one-by-one result).
"""

from __future__ import annotations

import os

import numpy as np

from audiorole.tokenizers.base import SpeechTokenizer, TokenizerError
from audiorole.tokenizers.glm4voice_checkpoint import (CONFIG, PREPROCESSOR, fingerprint, read_json,
                                                       read_state_dict, resolve_source, select_encoder_weights)

# Bump when a change here changes the codes for the same checkpoint (it is part of the fingerprint).
IMPLEMENTATION = "audiorole-glm4voice-1"
DTYPES = {"float32": "float32", "fp32": "float32", "float": "float32",
          "bfloat16": "bfloat16", "bf16": "bfloat16", "float16": "float16", "fp16": "float16", "half": "float16"}


class GLM4VoiceTokenizer(SpeechTokenizer):
    """Whisper-large-v3 encoder cut at layer 16, avg-pool x4, nearest of 16384 codes.

    ``source``: hub id (fetched with ``huggingface_hub``, token from the
    environment variable named ``token_env``) or a local checkpoint dir.
    ``batch_size``: windows per forward pass (30 s each at most).
    """

    name = "glm4voice"

    def __init__(self, source: str | os.PathLike = "THUDM/glm-4-voice-tokenizer", device: str = "cpu",
                 dtype: str = "float32", batch_size: int = 8, token_env: str | None = "HF_TOKEN",
                 revision: str | None = None):
        import torch
        from transformers import WhisperFeatureExtractor

        from audiorole.tokenizers.glm4voice_model import WhisperVQEncoder, WhisperVQSettings

        if str(dtype) not in DTYPES:
            raise TokenizerError(f"dtype={dtype!r} is not one of float32, bfloat16, float16")
        if int(batch_size) < 1:
            raise TokenizerError(f"batch_size={batch_size} must be at least 1")
        self.source = str(source)
        self.dtype = DTYPES[str(dtype)]
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        root = resolve_source(source, token_env=token_env, revision=revision)
        self.checkpoint_dir = root
        config = read_json(root / CONFIG)
        preprocessor = read_json(root / PREPROCESSOR)
        try:
            settings = WhisperVQSettings.from_config(config)
        except (KeyError, TypeError) as e:
            raise TokenizerError(f"{root / CONFIG}: missing WhisperVQ field(s) {e}; not a GLM-4-Voice tokenizer config") from None
        self._check(settings, root)
        self.settings = settings
        self.features = WhisperFeatureExtractor.from_dict(preprocessor)
        if self.features.feature_size != settings.num_mel_bins:
            raise TokenizerError(f"{root}: {PREPROCESSOR} gives {self.features.feature_size} mel bins but "
                                 f"{CONFIG} num_mel_bins={settings.num_mel_bins}; the two files disagree")
        self.sample_rate = int(self.features.sampling_rate)
        # Samples per code: mel hop x conv2 stride (2) x pooling.
        self.hop = int(self.features.hop_length) * 2 * settings.pool
        self.frame_rate = self.sample_rate / self.hop
        self.window_seconds = float(self.features.chunk_length)
        if self.window_seconds * self.sample_rate / self.features.hop_length / 2 > settings.max_source_positions:
            raise TokenizerError(f"{root}: {self.window_seconds} s windows exceed max_source_positions="
                                 f"{settings.max_source_positions}")
        # Build on the meta device and adopt the loaded tensors: no random init, no second copy.
        with torch.device("meta"):
            model = WhisperVQEncoder(settings)
        weights = select_encoder_weights(read_state_dict(root), model.state_dict(), root)
        self._fingerprint = fingerprint(config, preprocessor, weights, self.dtype, IMPLEMENTATION)
        model.load_state_dict(weights, strict=True, assign=True)
        self.model = model.to(device=self.device, dtype=getattr(torch, self.dtype)).eval().requires_grad_(False)

    @staticmethod
    def _check(s, root) -> None:
        if s.quantize_position < 1:
            raise TokenizerError(f"{root / CONFIG}: quantize_position={s.quantize_position} must be at least 1")
        if s.pooling_kernel_size and s.pooling_position > s.quantize_position:
            raise TokenizerError(f"{root / CONFIG}: pooling_position={s.pooling_position} comes after "
                                 f"quantize_position={s.quantize_position}")
        if s.pooling_type not in ("avg", "max"):
            raise TokenizerError(f"{root / CONFIG}: pooling_type={s.pooling_type!r} is not avg or max")

    @property
    def codebook_size(self) -> int:
        return int(self.settings.quantize_vocab_size)

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def log_mel(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log-mel (n_mels, F) of one window zero-padded to whole codes, and its real-frame mask (F,)."""
        out = self.features([window], sampling_rate=self.sample_rate, return_tensors="np", padding="longest",
                            pad_to_multiple_of=self.hop, return_attention_mask=True)
        return out["input_features"][0], out["attention_mask"][0].astype(bool)

    def _encode_windows(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        order = sorted(range(len(windows)), key=lambda i: -windows[i].size)  # similar lengths share a batch
        result: list[np.ndarray] = [np.zeros(0, np.int64)] * len(windows)
        dtype = getattr(torch, self.dtype)
        for start in range(0, len(order), self.batch_size):
            group = order[start:start + self.batch_size]
            mels = {i: self.log_mel(windows[i]) for i in group}  # per batch: hours of audio stay cheap
            frames = max(feat.shape[1] for feat, _ in mels.values())
            feats = np.zeros((len(group), self.settings.num_mel_bins, frames), np.float32)
            valid = np.zeros((len(group), frames), bool)
            for row, i in enumerate(group):
                feat, mask = mels[i]
                # Zero feature padding: a non-causal conv sees exactly its own zero padding, as alone.
                feats[row, :, :feat.shape[1]] = feat
                valid[row, :mask.size] = mask
            with torch.inference_mode():
                codes, keep = self.model(torch.from_numpy(feats).to(self.device, dtype),
                                         torch.from_numpy(valid).to(self.device))
            codes, keep = codes.cpu().numpy(), keep.cpu().numpy()
            for row, i in enumerate(group):
                result[i] = codes[row][keep[row]].astype(np.int64)
        return result
