"""The WhisperVQ encoder of GLM-4-Voice's tokenizer, as a plain torch module.

Behaviour follows THUDM/GLM-4-Voice ``speech_tokenizer/modeling_whisper.py``
(``WhisperVQEncoder`` with ``quantize_encoder_only``), driven by the fields of
the checkpoint's ``config.json``:

- two convs (k=3, the second stride 2: 100 -> 50 Hz), causal (left-padded by 2)
  when ``encoder_causal_convolution``, GELU, plus the learned ``embed_positions``;
- ``quantize_position`` pre-norm transformer layers; attention is
  block-causal when ``quantize_causal_block_size`` is set (a frame sees every
  earlier frame and its whole block), pure causal for causal layers, and
  padded frames are never attended to;
- pooling (avg or max, ``pooling_kernel_size``) after layer ``pooling_position``
  (1-based, as in the original: 0 means never);
- after layer ``quantize_position`` the nearest codebook row by squared L2
  distance (the original's ``vector_quantize``; not cosine).

Parameter names equal the public checkpoint's (``conv1.*``, ``layers.N.self_attn.k_proj.weight``,
``codebook.weight``...), so its state dict loads with no renaming.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class WhisperVQSettings:
    """The config.json fields the forward pass depends on (public defaults where the original has them)."""

    num_mel_bins: int
    d_model: int
    encoder_attention_heads: int
    encoder_ffn_dim: int
    max_source_positions: int
    quantize_position: int
    quantize_vocab_size: int
    pooling_kernel_size: int | None = None
    pooling_type: str = "max"
    pooling_position: int = 0
    quantize_causal_block_size: int | None = None
    quantize_causal_encoder: bool = False
    encoder_causal_attention: bool = False
    encoder_causal_convolution: bool = False
    activation_function: str = "gelu"

    @classmethod
    def from_config(cls, config: dict) -> "WhisperVQSettings":
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING}
        missing = sorted(n for n in required if config.get(n) is None)
        if missing:
            raise KeyError(", ".join(missing))
        return cls(**{k: v for k, v in config.items() if k in names})

    @property
    def pool(self) -> int:
        return self.pooling_kernel_size or 1

    @property
    def layers_causal(self) -> bool:
        return bool(self.encoder_causal_attention or self.quantize_causal_encoder)


class CausalConv1d(nn.Conv1d):
    """Conv1d that only looks back: pads ``dilation * (k - 1)`` on the left, none on the right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = self.dilation[0] * (self.kernel_size[0] - 1)
        return super().forward(F.pad(x, (left, 0)))


class VQAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.k_proj = nn.Linear(dim, dim, bias=False)  # Whisper's key projection has no bias
        self.v_proj = nn.Linear(dim, dim)
        self.q_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape

        def split(y):
            return y.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x)),
                                             attn_mask=allowed)
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))


class VQEncoderLayer(nn.Module):
    def __init__(self, s: WhisperVQSettings):
        super().__init__()
        from transformers.activations import ACT2FN

        self.self_attn = VQAttention(s.d_model, s.encoder_attention_heads)
        self.self_attn_layer_norm = nn.LayerNorm(s.d_model)
        self.fc1 = nn.Linear(s.d_model, s.encoder_ffn_dim)
        self.fc2 = nn.Linear(s.encoder_ffn_dim, s.d_model)
        self.final_layer_norm = nn.LayerNorm(s.d_model)
        self.act = ACT2FN[s.activation_function]

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.self_attn_layer_norm(x), allowed)
        return x + self.fc2(self.act(self.fc1(self.final_layer_norm(x))))


def attention_allowed(valid: torch.Tensor, block: int | None, causal: bool) -> torch.Tensor:
    """Boolean (B, 1, T, T) mask of which keys each query may attend to.

    ``valid`` (B, T) marks real frames. Causal layers get a plain lower
    triangle, as the original hands SDPA ``is_causal`` with no padding mask;
    otherwise keys must be valid and, with ``block``, also earlier or in the
    query's own block.
    """
    t = valid.shape[1]
    idx = torch.arange(t, device=valid.device)
    earlier = idx[None, :] <= idx[:, None]
    if causal:
        return earlier.expand(valid.shape[0], 1, t, t)
    allowed = valid[:, None, None, :]
    if block:
        same_block = (idx[None, :] // block) == (idx[:, None] // block)
        allowed = allowed & (earlier | same_block)
    return allowed.expand(valid.shape[0], 1, t, t)


class WhisperVQEncoder(nn.Module):
    """Log-mel (B, n_mels, frames) -> codes (B, ceil(frames / (2 * pool)))."""

    def __init__(self, s: WhisperVQSettings):
        super().__init__()
        self.settings = s
        conv = CausalConv1d if s.encoder_causal_convolution else nn.Conv1d
        pad = 0 if s.encoder_causal_convolution else 1
        self.conv1 = conv(s.num_mel_bins, s.d_model, kernel_size=3, padding=pad)
        self.conv2 = conv(s.d_model, s.d_model, kernel_size=3, stride=2, padding=pad)
        self.embed_positions = nn.Embedding(s.max_source_positions, s.d_model)
        self.layers = nn.ModuleList(VQEncoderLayer(s) for _ in range(s.quantize_position))
        self.codebook = nn.Embedding(s.quantize_vocab_size, s.d_model)

    def hidden(self, features: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states right before quantisation and their validity, at the token rate.

        ``features`` (B, n_mels, F) with F even; ``valid`` (B, F) marks real mel frames.
        """
        s = self.settings
        x = F.gelu(self.conv1(features))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        if x.shape[1] > s.max_source_positions:
            raise ValueError(f"{x.shape[1]} encoder frames exceed max_source_positions={s.max_source_positions}")
        x = x + self.embed_positions.weight[: x.shape[1]]
        valid = valid[:, ::2]  # the mask follows conv2's stride, like the original
        block = s.quantize_causal_block_size
        allowed = attention_allowed(valid, block, s.layers_causal)
        for i, layer in enumerate(self.layers, start=1):
            x = layer(x, allowed)
            if i == s.pooling_position and s.pooling_kernel_size:
                x, valid = self._pool(x, valid)
                block = block // s.pool if block else None
                allowed = attention_allowed(valid, block, s.layers_causal)
        return x, valid

    def _pool(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.settings.pool
        x = x.transpose(1, 2)
        if x.shape[-1] % k:
            x = F.pad(x, (0, k - x.shape[-1] % k))  # zero-pad the tail, as the original does
        pool = F.avg_pool1d if self.settings.pooling_type == "avg" else F.max_pool1d
        return pool(x, k).transpose(1, 2), valid[:, ::k]

    def quantize(self, hidden: torch.Tensor) -> torch.Tensor:
        """Index of the nearest codebook row (squared L2), computed in float32."""
        flat = hidden.reshape(-1, hidden.shape[-1]).float()
        book = self.codebook.weight.float()
        dist = (flat * flat).sum(1, keepdim=True) - 2.0 * flat @ book.t() + (book * book).sum(1)
        return dist.argmin(dim=1).reshape(hidden.shape[:-1])

    def forward(self, features: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes (B, T) and their validity (B, T); keep ``codes[b][valid[b]]``."""
        hidden, valid = self.hidden(features, valid)
        return self.quantize(hidden), valid
