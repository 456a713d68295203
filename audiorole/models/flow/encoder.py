"""The flow's token encoder: a block-causal conformer (CosyVoice ``BlockConformerEncoder``).

GLM-4-Voice's configuration uses no convolution module and no macaron feed-forward, so a
layer is pre-norm relative-position self-attention then a SiLU feed-forward. Attention is
block-causal: a frame sees every earlier frame and the rest of its own block of
``block_size`` tokens, which is what lets the decoder start after one block when streaming.
Module and parameter names are the authors' (``embed.out``, ``encoders.N.self_attn.linear_q``,
``norm_mha``, ``feed_forward.w_1``, ``after_norm``), so their state dict loads as is.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from audiorole.models.flow.masks import block_causal_mask, lengths_to_mask


def relative_positions(length: int, d_model: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """ESPnet's relative sinusoids for offsets T-1 .. -(T-1): (1, 2T-1, d_model)."""
    pos = torch.arange(0, length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * -(math.log(10000.0) / d_model))
    left, right = torch.zeros(length, d_model), torch.zeros(length, d_model)
    left[:, 0::2], left[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    right[:, 0::2], right[:, 1::2] = torch.sin(-pos * freq), torch.cos(-pos * freq)
    pe = torch.cat([left.flip(0), right[1:]], dim=0)
    return pe.unsqueeze(0).to(device=device, dtype=dtype)


class RelPositionEmbed(nn.Module):
    """``embed``: Linear + LayerNorm + dropout, then the input scaled by sqrt(d) and its relative positions."""

    def __init__(self, input_size: int, d_model: int, dropout: float, pos_dropout: float):
        super().__init__()
        self.out = nn.Sequential(nn.Linear(input_size, d_model), nn.LayerNorm(d_model, eps=1e-5), nn.Dropout(dropout))
        self.pos_dropout = nn.Dropout(pos_dropout)
        self.d_model = d_model

    def forward(self, x: torch.Tensor):
        x = self.out(x) * math.sqrt(self.d_model)
        pos = relative_positions(x.shape[1], self.d_model, x.device, x.dtype)
        return self.pos_dropout(x), self.pos_dropout(pos)


class RelPositionAttention(nn.Module):
    """Transformer-XL attention with learned biases ``pos_bias_u``/``pos_bias_v`` (ESPnet's rel_pos)."""

    def __init__(self, heads: int, d_model: int, dropout: float, key_bias: bool = True):
        super().__init__()
        self.h, self.d_k = heads, d_model // heads
        self.linear_q = nn.Linear(d_model, d_model)
        self.linear_k = nn.Linear(d_model, d_model, bias=key_bias)
        self.linear_v = nn.Linear(d_model, d_model)
        self.linear_out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        self.linear_pos = nn.Linear(d_model, d_model, bias=False)
        self.pos_bias_u = nn.Parameter(torch.empty(self.h, self.d_k))
        self.pos_bias_v = nn.Parameter(torch.empty(self.h, self.d_k))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, T, H, d_k)
        return x.view(x.shape[0], -1, self.h, self.d_k)

    @staticmethod
    def _rel_shift(x: torch.Tensor) -> torch.Tensor:
        """(B, H, T, 2T-1) scores against offsets -> (B, H, T, T) scores against key positions."""
        b, h, t, n = x.shape
        padded = torch.cat([x.new_zeros(b, h, t, 1), x], dim=-1).view(b, h, n + 1, t)
        return padded[:, :, 1:].reshape(b, h, t, n)[:, :, :, : n // 2 + 1]

    def forward(self, x: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """x (B, T, D); mask (B, T, T) bool, True = may attend; pos (1, 2T-1, D)."""
        q = self._heads(self.linear_q(x))
        k = self._heads(self.linear_k(x)).transpose(1, 2)
        v = self._heads(self.linear_v(x)).transpose(1, 2)
        p = self._heads(self.linear_pos(pos)).transpose(1, 2)
        content = torch.matmul((q + self.pos_bias_u).transpose(1, 2), k.transpose(-2, -1))
        position = self._rel_shift(torch.matmul((q + self.pos_bias_v).transpose(1, 2), p.transpose(-2, -1)))
        scores = (content + position) / math.sqrt(self.d_k)
        blocked = ~mask.unsqueeze(1)
        attn = torch.softmax(scores.masked_fill(blocked, -float("inf")), dim=-1).masked_fill(blocked, 0.0)
        out = torch.matmul(self.dropout(attn), v).transpose(1, 2).reshape(x.shape[0], -1, self.h * self.d_k)
        return self.linear_out(out)


class PositionwiseFeedForward(nn.Module):
    def __init__(self, d_model: int, hidden: int, dropout: float):
        super().__init__()
        self.w_1 = nn.Linear(d_model, hidden)
        self.activation = nn.SiLU()  # the authors' "swish"
        self.dropout = nn.Dropout(dropout)
        self.w_2 = nn.Linear(hidden, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w_2(self.dropout(self.activation(self.w_1(x))))


class ConformerEncoderLayer(nn.Module):
    """Pre-norm attention + feed-forward residual block (no conv module, no macaron: GLM-4-Voice's setting)."""

    def __init__(self, d_model: int, heads: int, hidden: int, dropout: float, attention_dropout: float,
                 key_bias: bool = True):
        super().__init__()
        self.self_attn = RelPositionAttention(heads, d_model, attention_dropout, key_bias)
        self.feed_forward = PositionwiseFeedForward(d_model, hidden, dropout)
        self.norm_ff = nn.LayerNorm(d_model, eps=1e-5)
        self.norm_mha = nn.LayerNorm(d_model, eps=1e-5)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.self_attn(self.norm_mha(x), mask, pos))
        return x + self.dropout(self.feed_forward(self.norm_ff(x)))


class BlockConformerEncoder(nn.Module):
    def __init__(self, input_size: int = 512, output_size: int = 512, attention_heads: int = 8,
                 linear_units: int = 2048, num_blocks: int = 6, dropout_rate: float = 0.1,
                 positional_dropout_rate: float = 0.1, attention_dropout_rate: float = 0.1,
                 key_bias: bool = True, block_size: int = 10):
        super().__init__()
        self.embed = RelPositionEmbed(input_size, output_size, dropout_rate, positional_dropout_rate)
        self.encoders = nn.ModuleList(
            ConformerEncoderLayer(output_size, attention_heads, linear_units, dropout_rate, attention_dropout_rate,
                                  key_bias)
            for _ in range(num_blocks))
        self.after_norm = nn.LayerNorm(output_size, eps=1e-5)
        self.block_size = block_size
        self._output_size = output_size

    def output_size(self) -> int:
        return self._output_size

    def forward(self, xs: torch.Tensor, xs_lens: torch.Tensor):
        """xs (B, T, input_size), xs_lens (B,) -> (B, T, output_size), pad mask (B, 1, T)."""
        pad = lengths_to_mask(xs_lens, xs.shape[1]).unsqueeze(1)
        mask = pad & block_causal_mask(xs.shape[1], self.block_size, xs.device).unsqueeze(0)
        xs, pos = self.embed(xs)
        for layer in self.encoders:
            xs = layer(xs, mask, pos)
        return self.after_norm(xs), pad
